using Akka;
using Akka.Actor;
using Akka.Persistence;

namespace DayTrading.Audit;

/// <summary>
/// This node's durable record of requests that never reached an account: lines the edge refused and admin
/// DUMPLOGs. Each is persisted before it is acknowledged (answered with <see cref="Done"/>), so the audit log,
/// which is a projection of the journal, has its entry; one repeated under the same run id and transaction
/// number (a client's retry) is acknowledged without a second entry. One per node (persistence id
/// <c>audit-&lt;node&gt;</c>): node names must be unique in a cluster.
/// </summary>
public sealed class AuditRecorderActor : ReceivePersistentActor
{
    private const int RememberedLimit = 100_000;

    private readonly HashSet<(string RunId, long TxNum)> _seen = [];
    private readonly Queue<(string RunId, long TxNum)> _order = new();

    public AuditRecorderActor(string nodeName)
    {
        PersistenceId = PersistenceIdFor(nodeName);
        Recover<RequestRejected>(r => Remember(r.RunId, r.TxNum));
        Recover<AdminDumpRequested>(a => Remember(a.RunId, a.TxNum));
        Command<RequestRejected>(r => Record(r, r.RunId, r.TxNum));
        Command<AdminDumpRequested>(a => Record(a, a.RunId, a.TxNum));
    }

    public override string PersistenceId { get; }

    public static string PersistenceIdFor(string nodeName) => "audit-" + nodeName;

    public static Props Props(string nodeName) => Akka.Actor.Props.Create(() => new AuditRecorderActor(nodeName));

    private void Record(object entry, string? runId, long txNum)
    {
        if (runId is not null && _seen.Contains((runId, txNum)))
        {
            Sender.Tell(Done.Instance);
            return;
        }
        var replyTo = Sender;
        Persist(entry, _ =>
        {
            Remember(runId, txNum);
            replyTo.Tell(Done.Instance);
        });
    }

    private void Remember(string? runId, long txNum)
    {
        if (runId is null || !_seen.Add((runId, txNum))) return;
        _order.Enqueue((runId, txNum));
        if (_order.Count > RememberedLimit) _seen.Remove(_order.Dequeue());
    }
}
