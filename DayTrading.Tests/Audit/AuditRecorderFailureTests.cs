using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit;
using DayTrading.Audit;
using DayTrading.Serialization;
using DayTrading.Tests.Persistence;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>
/// The node's audit recorder when its journal fails a write (a store outage): whoever waits for that write is told
/// at once, instead of being dropped with the recorder when it stops.
/// </summary>
public sealed class AuditRecorderFailureTests : TestKit
{
    private static readonly Config TestConfig = ConfigurationFactory.ParseString($$"""
        akka.persistence.journal.plugin = "{{RejectingJournal.PluginId}}"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.loglevel = WARNING
        {{RejectingJournal.Hocon}}
        """).WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon));

    public AuditRecorderFailureTests() : base(TestConfig) { }

    [Fact]
    public void A_failed_write_tells_its_requester_at_once()
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(RejectingJournal.PluginId);
        journal.Tell(new RejectingJournal.FailWhere(_ => true), TestActor);
        ExpectMsg<RejectingJournal.Ack>(TimeSpan.FromSeconds(5), cancellationToken: TestContext.Current.CancellationToken);

        var recorder = Sys.ActorOf(AuditRecorderActor.Props("n-fail"));
        Watch(recorder);
        var requester = CreateTestProbe();
        recorder.Tell(new RequestRejected(1, "n1", 7, "run", "FOO", "alice", null, null, null, "unknown command 'FOO'"), requester.Ref);

        var failure = requester.ExpectMsg<Status.Failure>(TimeSpan.FromSeconds(5), cancellationToken: TestContext.Current.CancellationToken);
        Assert.NotNull(failure.Cause);
        // It stops, as a persistent actor does after a failed write (the node restarts it with back-off).
        ExpectTerminated(recorder, TimeSpan.FromSeconds(5), cancellationToken: TestContext.Current.CancellationToken);
    }
}
