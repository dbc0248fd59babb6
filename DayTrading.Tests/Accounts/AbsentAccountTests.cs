using Akka;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit;
using Akka.TestKit.Xunit;
using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Quotes;
using DayTrading.Serialization;
using Xunit;

namespace DayTrading.Tests.Accounts;

/// <summary>
/// The account entity of a user that has no account (issue 13, item 6): it refuses through the node's audit
/// recorder (recorded before answered, once per run id and N), writes nothing under account-&lt;id&gt;, and asks its
/// shard to passivate it at once. Run under a stand-in shard that shows what the entity asks of it.
/// </summary>
public sealed class AbsentAccountTests : TestKit
{
    private static readonly Config TestConfig = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.loglevel = WARNING
        """).WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon));

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private const string Unknown = "unknown user 'ghost': the first command for a new user must be ADD";

    private readonly NodeQuoteCache _quotes = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public AbsentAccountTests() : base(TestConfig) { }

    private sealed class StopNow
    {
        public static readonly StopNow Instance = new();
    }

    private sealed record EntityStopped;

    /// <summary>Stands in for the shard: delivers to its one entity, and tells the test what the entity asks of it.</summary>
    private sealed class FakeShard : ReceiveActor
    {
        public FakeShard(Props entity, IActorRef observer)
        {
            var child = Context.ActorOf(entity, "entity");
            Context.Watch(child);
            Receive<Passivate>(p => observer.Tell(p)); // held: the test decides when the stop message goes
            Receive<ShardRegion.StartEntity>(s => observer.Tell(s));
            Receive<StopNow>(_ => child.Tell(StopAccount.Instance));
            Receive<Terminated>(_ => observer.Tell(new EntityStopped())); // a Terminated told on would be dropped
            ReceiveAny(m => child.Forward(m));
        }
    }

    private (IActorRef Shard, TestProbe Observer) Entity(string user, IActorRef recorder, TimeSpan? idleTimeout = null)
    {
        var settings = new AccountSettings(TimeProvider.System, _quotes, CreateTestProbe().Ref, "test-node",
            "akka.persistence.journal.inmem", "akka.persistence.snapshot-store.inmem", IdleTimeout: idleTimeout, AuditRecorder: recorder);
        var observer = CreateTestProbe();
        return (Sys.ActorOf(Props.Create(() => new FakeShard(AccountActor.Props(user, settings), observer.Ref))), observer);
    }

    private long HighestSequenceNr(string persistenceId)
    {
        var probe = CreateTestProbe();
        Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null).Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, persistenceId, probe.Ref));
        var done = probe.FishForMessage(m => m is RecoverySuccess, Wait, cancellationToken: Ct);
        return ((RecoverySuccess)done).HighestSequenceNr;
    }

    private static long RecordedEvents(IActorRef recorder) =>
        recorder.Ask<AuditRecorderStats>(GetAuditRecorderStats.Instance, Wait).Result.LastSequenceNr;

    [Fact]
    public void A_refusal_is_recorded_once_by_the_recorder_answered_and_the_entity_asks_to_passivate()
    {
        var recorder = Sys.ActorOf(AuditRecorderActor.Props("test-node"));
        var (shard, observer) = Entity("ghost", recorder);

        shard.Tell(new TradeRequest(5, CommandKind.Buy, "ghost", "ABC", 10m, RunId: "run-1"), TestActor);
        var reply = ExpectMsg<TradeReply>(Wait, cancellationToken: Ct);
        Assert.False(reply.Ok);
        Assert.Equal(Unknown, reply.Error);
        observer.ExpectMsg<Passivate>(Wait, cancellationToken: Ct);
        Assert.Equal(1, RecordedEvents(recorder));
        Assert.Equal(0, HighestSequenceNr(AccountActor.PersistenceIdFor("ghost")));

        // The gateway's resend reaches a fresh entity (the first passivated): same answer, nothing recorded again.
        var (again, observer2) = Entity("ghost", recorder);
        again.Tell(new TradeRequest(5, CommandKind.Buy, "ghost", "ABC", 10m, RunId: "run-1"), TestActor);
        Assert.Equal(reply, ExpectMsg<TradeReply>(Wait, cancellationToken: Ct));
        observer2.ExpectMsg<Passivate>(Wait, cancellationToken: Ct);
        Assert.Equal(1, RecordedEvents(recorder));

        // A read of the books (the web's live view) of an absent account passivates it as well.
        var (read, observer3) = Entity("ghost", recorder);
        read.Tell(new GetAccountSummary("ghost"), TestActor);
        Assert.False(ExpectMsg<AccountSummaryReply>(Wait, cancellationToken: Ct).Exists);
        observer3.ExpectMsg<Passivate>(Wait, cancellationToken: Ct);
        Assert.Equal(0, HighestSequenceNr(AccountActor.PersistenceIdFor("ghost")));
    }

    [Fact]
    public void An_account_created_in_an_entity_started_absent_and_one_recovered_later_passivate_when_idle()
    {
        // The refused-and-gone path arms no idle timer; an entity that stays must still arm it, or it never leaves.
        var recorder = Sys.ActorOf(AuditRecorderActor.Props("test-node"));
        var idle = TimeSpan.FromSeconds(2);
        var (shard, observer) = Entity("idler", recorder, idle);
        shard.Tell(new TradeRequest(1, CommandKind.Add, "idler", Amount: 10m, RunId: "run-4"), TestActor);
        Assert.True(ExpectMsg<TradeReply>(Wait, cancellationToken: Ct).Ok);
        observer.ExpectNoMsg(TimeSpan.FromMilliseconds(500), Ct); // not at once: it exists now
        observer.ExpectMsg<Passivate>(Wait, cancellationToken: Ct);
        shard.Tell(StopNow.Instance);
        observer.ExpectMsg<EntityStopped>(Wait, cancellationToken: Ct);

        // Started again by a read (no request): recovered as existing, it arms the idle timer at recovery.
        var (again, observer2) = Entity("idler", recorder, idle);
        again.Tell(new GetAccountSummary("idler"), TestActor);
        Assert.True(ExpectMsg<AccountSummaryReply>(Wait, cancellationToken: Ct).Exists);
        observer2.ExpectNoMsg(TimeSpan.FromMilliseconds(500), Ct);
        observer2.ExpectMsg<Passivate>(Wait, cancellationToken: Ct);
    }

    [Fact]
    public void The_refusal_is_answered_only_once_recorded_and_as_outcome_unknown_when_recording_fails()
    {
        var recorder = CreateTestProbe();
        var (shard, observer) = Entity("ghost", recorder.Ref);

        shard.Tell(new TradeRequest(7, CommandKind.Quote, "ghost", "ABC", RunId: "run-2"), TestActor);
        var rejected = recorder.ExpectMsg<RequestRejected>(Wait, cancellationToken: Ct);
        Assert.Equal((7L, "run-2", "QUOTE", "ghost", "ABC", "test-node", Unknown),
            (rejected.TxNum, rejected.RunId, rejected.Command, rejected.UserId, rejected.Symbol, rejected.Server, rejected.Reason));
        ExpectNoMsg(TimeSpan.FromMilliseconds(300), Ct);
        recorder.Reply(Done.Instance);
        Assert.Equal(Unknown, ExpectMsg<TradeReply>(Wait, cancellationToken: Ct).Error);
        observer.ExpectMsg<Passivate>(Wait, cancellationToken: Ct);

        var (other, observer2) = Entity("ghost", recorder.Ref);
        other.Tell(new TradeRequest(8, CommandKind.Quote, "ghost", "ABC", RunId: "run-2"), TestActor);
        recorder.ExpectMsg<RequestRejected>(Wait, cancellationToken: Ct);
        recorder.Reply(new Status.Failure(new InvalidOperationException("journal down")));
        // Not recorded, so not refused yet: the requester is told at once that the outcome is unknown (retry under the
        // same run id and N), not the refusal. The entity still goes.
        var unknown = ExpectMsg<TradeReply>(Wait, cancellationToken: Ct);
        Assert.Equal(RefusalReason.OutcomeUnknown, unknown.Reason);
        Assert.StartsWith(AccountActor.JournalUnavailablePrefix + " (journal down)", unknown.Error);
        observer2.ExpectMsg<Passivate>(Wait, cancellationToken: Ct);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300), Ct);
    }

    [Fact]
    public void An_ADD_and_a_BUY_queued_behind_the_passivation_start_the_account_again_so_the_buy_can_expire()
    {
        _quotes.Put(new Quote("ABC", 10m, "ghost", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), "k"));
        var recorder = CreateTestProbe();
        var (shard, observer) = Entity("ghost", recorder.Ref);

        // The ADD and the BUY (another connection, the web) arrive while the refusal is being recorded.
        shard.Tell(new TradeRequest(1, CommandKind.DisplaySummary, "ghost", RunId: "run-3"), TestActor);
        recorder.ExpectMsg<RequestRejected>(Wait, cancellationToken: Ct);
        shard.Tell(new TradeRequest(2, CommandKind.Add, "ghost", Amount: 100m, RunId: "run-3"), TestActor);
        shard.Tell(new TradeRequest(3, CommandKind.Buy, "ghost", "ABC", 50m, RunId: "run-3"), TestActor);
        recorder.Reply(Done.Instance);
        Assert.False(ExpectMsg<TradeReply>(Wait, cancellationToken: Ct).Ok);
        var passivate = observer.ExpectMsg<Passivate>(Wait, cancellationToken: Ct); // asked while the account did not exist yet
        Assert.IsType<StopAccount>(passivate.StopMessage);
        Assert.True(ExpectMsg<TradeReply>(Wait, cancellationToken: Ct).Ok);
        var buy = ExpectMsg<TradeReply>(Wait, cancellationToken: Ct);
        Assert.True(buy.Ok, buy.Error);

        // The shard's stop message comes behind them: the account stops, and asks to be started again at once
        // (the shard buffers that until the stop is done) because it has a pending buy to expire.
        shard.Tell(StopNow.Instance);
        Assert.Equal("ghost", observer.ExpectMsg<ShardRegion.StartEntity>(Wait, cancellationToken: Ct).EntityId);
        observer.ExpectMsg<EntityStopped>(Wait, cancellationToken: Ct);
    }
}
