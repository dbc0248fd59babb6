using Akka;
using Akka.Actor;
using Akka.Persistence;

namespace DayTrading.Audit;

/// <summary>
/// This node's durable record of requests that never reached an account: lines the edge refused and admin
/// DUMPLOGs. Each is persisted before it is acknowledged (answered with <see cref="Done"/>), so the audit log,
/// which is a projection of the journal, has its entry. One per node (persistence id <c>audit-&lt;node&gt;</c>):
/// node names must be unique in a cluster.
/// </summary>
public sealed class AuditRecorderActor : ReceivePersistentActor
{
    public AuditRecorderActor(string nodeName)
    {
        PersistenceId = PersistenceIdFor(nodeName);
        Recover<object>(_ => { }); // nothing to rebuild: the journal itself is the record
        Command<RequestRejected>(Record);
        Command<AdminDumpRequested>(Record);
    }

    public override string PersistenceId { get; }

    public static string PersistenceIdFor(string nodeName) => "audit-" + nodeName;

    public static Props Props(string nodeName) => Akka.Actor.Props.Create(() => new AuditRecorderActor(nodeName));

    private void Record(object entry)
    {
        var replyTo = Sender;
        Persist(entry, _ => replyTo.Tell(Done.Instance));
    }
}
