using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit.Xunit;
using DayTrading.Audit;
using DayTrading.Serialization;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>
/// The node's audit recorder: a retry (same run id, number and content) is recorded once; a different request under
/// a used run id and number is recorded too, and an admin DUMPLOG of that kind is refused and recorded as such.
/// </summary>
public sealed class AuditRecorderTests : TestKit
{
    private static readonly Config TestConfig = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.actor.serialize-messages = on
        akka.loglevel = WARNING
        """).WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon));

    public AuditRecorderTests() : base(TestConfig) { }

    private object Record(IActorRef recorder, object entry)
    {
        recorder.Tell(entry, TestActor);
        return ExpectMsg<object>(TimeSpan.FromSeconds(5));
    }

    /// <summary>What the recorder's journal holds, read back by a replay.</summary>
    private sealed class Reader : ReceivePersistentActor
    {
        public Reader(string persistenceId, List<object> into, IActorRef done)
        {
            PersistenceId = persistenceId;
            Recover<RecoveryCompleted>(_ => done.Tell(Done.Instance));
            RecoverAny(e => into.Add(e));
        }

        public override string PersistenceId { get; }
    }

    private List<object> Journal(string node)
    {
        var events = new List<object>();
        Sys.ActorOf(Props.Create(() => new Reader(AuditRecorderActor.PersistenceIdFor(node), events, TestActor)));
        ExpectMsg<Done>(TimeSpan.FromSeconds(5));
        return events;
    }

    [Fact]
    public void A_refused_line_and_an_admin_DUMPLOG_under_its_run_id_and_number_are_both_recorded_and_the_DUMPLOG_refused()
    {
        var recorder = Sys.ActorOf(AuditRecorderActor.Props("n1"));
        var foo = new RequestRejected(1, "n1", 7, "run", "FOO", "alice", null, null, null, "unknown command 'FOO'");
        Assert.IsType<Done>(Record(recorder, foo));
        Assert.IsType<Done>(Record(recorder, foo with { TimestampMs = 2 })); // the client's retry

        var dump = new AdminDumpRequested(3, "n1", 7, "run", "all.xml", null);
        var refused = Assert.IsType<DumpResult>(Record(recorder, dump));
        Assert.False(refused.Ok);
        Assert.Equal("transaction 7 of run run was already used for a different request; nothing was done", refused.Text);
        // Its retry gets the same answer (recorded again: the dump writes it once, see AuditDumpDedupTests).
        Assert.Equal(refused, Record(recorder, dump with { TimestampMs = 4 }));

        // Another refused line under the same key is another request: recorded.
        var bar = foo with { TimestampMs = 5, Command = "BAR", Reason = "unknown command 'BAR'" };
        Assert.IsType<Done>(Record(recorder, bar));

        Assert.Equal(new object[] { foo, dump with { Error = refused.Text }, dump with { TimestampMs = 4, Error = refused.Text }, bar }, Journal("n1"));

        // The memory is rebuilt from the journal: a restarted recorder answers the same.
        Watch(recorder);
        Sys.Stop(recorder);
        ExpectTerminated(recorder, cancellationToken: TestContext.Current.CancellationToken);
        var again = Sys.ActorOf(AuditRecorderActor.Props("n1"));
        Assert.Equal(refused, Record(again, dump with { TimestampMs = 6 }));
        Assert.IsType<Done>(Record(again, foo with { TimestampMs = 7 }));
        Assert.IsType<Done>(Record(again, bar with { TimestampMs = 8 })); // not the first under the key: recorded again
        Assert.Equal(6, Journal("n1").Count);
    }

    [Fact]
    public void Admin_DUMPLOGs_under_one_run_id_and_number_are_a_retry_only_for_the_same_file()
    {
        var recorder = Sys.ActorOf(AuditRecorderActor.Props("n2"));
        var all = new AdminDumpRequested(1, "n2", 9, "run", "all.xml", null);
        Assert.IsType<Done>(Record(recorder, all));
        Assert.IsType<Done>(Record(recorder, all with { TimestampMs = 2 }));
        Assert.False(Assert.IsType<DumpResult>(Record(recorder, all with { TimestampMs = 3, FileName = "other.xml" })).Ok);
        // Without a run id nothing is deduplicated.
        var anonymous = all with { RunId = null };
        Assert.IsType<Done>(Record(recorder, anonymous));
        Assert.IsType<Done>(Record(recorder, anonymous));
        Assert.Equal(4, Journal("n2").Count);
    }

    [Fact]
    public void A_dump_failure_is_recorded_once_per_request()
    {
        var recorder = Sys.ActorOf(AuditRecorderActor.Props("n3"));
        var failed = new DumpFailed(1, "n3", 5, "run", "alice", "a.xml", "disk full");
        Assert.IsType<Done>(Record(recorder, failed));
        Assert.IsType<Done>(Record(recorder, failed with { TimestampMs = 2, Error = "timed out" })); // its retry failed too
        Assert.IsType<Done>(Record(recorder, failed with { UserId = "bob", FileName = "b.xml" }));   // another request
        // A failure under the key of an admin DUMPLOG is the follow-up of that request, not a reuse of the key.
        Assert.IsType<Done>(Record(recorder, new AdminDumpRequested(3, "n3", 6, "run", "all.xml", null)));
        Assert.IsType<Done>(Record(recorder, new DumpFailed(4, "n3", 6, "run", null, "all.xml", "disk full")));
        Assert.Equal(4, Journal("n3").Count);
    }
}
