using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit;
using Akka.TestKit.Xunit;
using DayTrading.Accounts;
using DayTrading.Quotes;
using DayTrading.Serialization;
using Xunit;

namespace DayTrading.Tests.Accounts;

/// <summary>
/// An account waiting for a slow quote (the lab quote server answers some requests after 4 s) still expires its
/// reservations on time and executes a crossed trigger at once; the waiting request is decided afterwards on the
/// books as they are then. Virtual time; the journal is read back to see when each event was written.
/// </summary>
public sealed class AccountBusyTests : TestKit
{
    private static readonly Config TestConfig = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.actor.serialize-messages = on
        """).WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon));

    private readonly NodeQuoteCache _quotes = new();
    private readonly TestProbe _quoteManager;
    private readonly SchedulerClock _clock;

    public AccountBusyTests() : base(TestConfig)
    {
        _quoteManager = CreateTestProbe();
        _clock = new SchedulerClock((TestScheduler)Sys.Scheduler);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private long ClockNow => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private IActorRef Account(string user) =>
        Sys.ActorOf(AccountActor.Props(user, new AccountSettings(_clock, _quotes, _quoteManager, "test-node",
            "akka.persistence.journal.inmem", "akka.persistence.snapshot-store.inmem", QuoteTimeout: TimeSpan.FromHours(1))));

    private TradeReply Send(IActorRef account, TradeRequest request)
    {
        account.Tell(request, TestActor);
        return ExpectMsg<TradeReply>(TimeSpan.FromSeconds(5), cancellationToken: Ct);
    }

    /// <summary>Replays an account's journal (another actor with its persistence id) and sends back its events.</summary>
    private sealed class JournalReader : ReceivePersistentActor
    {
        private readonly List<AccountEvent> _events = [];

        public JournalReader(string persistenceId, IActorRef replyTo)
        {
            PersistenceId = persistenceId;
            Recover<AccountEvent>(_events.Add);
            Recover<RecoveryCompleted>(_ =>
            {
                replyTo.Tell(_events.ToArray());
                Context.Stop(Self);
            });
        }

        public override string PersistenceId { get; }
    }

    private AccountEvent[] Journal(string user)
    {
        Sys.ActorOf(Akka.Actor.Props.Create(() => new JournalReader(AccountActor.PersistenceIdFor(user), TestActor)));
        return ExpectMsg<AccountEvent[]>(TimeSpan.FromSeconds(5), cancellationToken: Ct);
    }

    [Fact]
    public void A_reservation_expires_on_time_while_the_account_waits_for_a_slow_quote()
    {
        var start = ClockNow;
        _quotes.Put(new Quote("ABC", 10m, "w1", start, "k"));
        var account = Account("w1");
        Assert.True(Send(account, new TradeRequest(1, CommandKind.Add, "w1", Amount: 1000m)).Ok);
        Assert.True(Send(account, new TradeRequest(2, CommandKind.Buy, "w1", "ABC", 100m)).Ok);

        Scheduler.Advance(TimeSpan.FromSeconds(58));
        account.Tell(new TradeRequest(3, CommandKind.Quote, "w1", "XYZ"), TestActor); // not cached: asks the quote server
        _quoteManager.ExpectMsg<GetQuote>(cancellationToken: Ct);
        Scheduler.Advance(TimeSpan.FromSeconds(3)); // the buy's deadline passes while the quote is outstanding

        AwaitAssert(() =>
        {
            var expired = Assert.Single(Journal("w1").OfType<ReservationsExpired>());
            Assert.InRange(expired.TimestampMs, start + 60_000, start + 61_000); // on its own timer, not when the quote came
        }, TimeSpan.FromSeconds(5), cancellationToken: Ct);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100), Ct); // the QUOTE is still waiting

        Scheduler.Advance(TimeSpan.FromSeconds(4));
        _quoteManager.Reply(new QuoteResult(new Quote("XYZ", 3m, "w1", ClockNow, "kx"), null));
        Assert.Equal(3, ExpectMsg<TradeReply>(cancellationToken: Ct).TxNum);
        Assert.Equal([typeof(CommandHandled), typeof(CommandHandled), typeof(ReservationsExpired), typeof(CommandHandled)],
            Journal("w1").Select(e => e.GetType()));
    }

    [Fact]
    public void A_crossed_trigger_executes_at_once_while_the_account_waits_for_a_slow_quote_and_the_waiting_buy_sees_its_result()
    {
        var account = Account("w2");
        Send(account, new TradeRequest(1, CommandKind.Add, "w2", Amount: 100m));
        Send(account, new TradeRequest(2, CommandKind.SetBuyAmount, "w2", "ABC", 60m));
        Send(account, new TradeRequest(3, CommandKind.SetBuyTrigger, "w2", "ABC", 10m));
        account.Tell(new TradeRequest(4, CommandKind.Buy, "w2", "XYZ", 45m), TestActor);
        _quoteManager.ExpectMsg<GetQuote>(cancellationToken: Ct);

        // Version 2: amount = 1, trigger = 2 (AccountActorTests.A_trigger_executes_once_for_the_armed_version).
        account.Tell(new ExecuteTrigger("w2", TradeSide.Buy, "ABC", 2, new Quote("ABC", 9m, "w2", ClockNow, "k")), TestActor);
        Assert.True(ExpectMsg<TriggerOutcome>(TimeSpan.FromSeconds(5), cancellationToken: Ct).Executed); // before the quote came

        // 6 shares for 54 and 6 of the reserve back: 46 cash, enough for the BUY of 45 at 5 (the 40 before was not):
        // the waiting BUY is decided on the books after the fire.
        _quoteManager.Reply(new QuoteResult(new Quote("XYZ", 5m, "w2", ClockNow, "kx"), null));
        var buy = ExpectMsg<TradeReply>(cancellationToken: Ct);
        Assert.True(buy.Ok, buy.Error);
        Assert.Equal([typeof(CommandHandled), typeof(CommandHandled), typeof(CommandHandled), typeof(TriggerExecuted), typeof(CommandHandled)],
            Journal("w2").Select(e => e.GetType()));
    }
}
