using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit;
using DayTrading.Accounts;
using DayTrading.Quotes;
using DayTrading.Serialization;
using Xunit;

namespace DayTrading.Tests.Accounts;

/// <summary>
/// The account entity as a thin persistent shell: answers after persisting, survives restarts, answers retries
/// with the original outcome, and expires reservations on its own timer (virtual time, no further command).
/// </summary>
public sealed class AccountActorTests : TestKit
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Config TestConfig = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.actor.serialize-messages = on
        """).WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon));

    private readonly NodeQuoteCache _quotes = new();
    private readonly TestProbe _quoteManager;
    private readonly SchedulerClock _clock;

    public AccountActorTests() : base(TestConfig)
    {
        _quoteManager = CreateTestProbe();
        _clock = new SchedulerClock((TestScheduler)Sys.Scheduler);
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private IActorRef Account(string user, int snapshotEvery = 1000) =>
        Sys.ActorOf(AccountActor.Props(user, new AccountSettings(_clock, _quotes, _quoteManager, "test-node",
            "akka.persistence.journal.inmem", "akka.persistence.snapshot-store.inmem", snapshotEvery)));

    private TradeReply Send(IActorRef account, TradeRequest request)
    {
        account.Tell(request, TestActor);
        return ExpectMsg<TradeReply>(TimeSpan.FromSeconds(5));
    }

    private AccountSummary Summary(IActorRef account, string user)
    {
        var reply = Send(account, new TradeRequest(999_999, CommandKind.DisplaySummary, user));
        Assert.True(reply.Ok, reply.Error);
        return AccountSummary.FromJson(reply.Body!)!;
    }

    private long NowMs => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    [Fact]
    public void A_buy_expires_on_the_accounts_own_timer_without_any_further_command()
    {
        _quotes.Put(new Quote("ABC", 10m, "u1", NowMs, "k"));
        var account = Account("u1");
        Assert.True(Send(account, new TradeRequest(1, CommandKind.Add, "u1", Amount: 1000m)).Ok);
        var buy = Send(account, new TradeRequest(2, CommandKind.Buy, "u1", "ABC", 100m));
        Assert.True(buy.Ok, buy.Error);
        Assert.Equal(900m, Summary(account, "u1").Cash);

        Scheduler.Advance(TimeSpan.FromSeconds(59));
        Assert.Single(Summary(account, "u1").PendingBuys);
        Scheduler.Advance(TimeSpan.FromSeconds(2));
        // The timer fired and the release was persisted; nothing was sent to the account in between.
        AwaitAssert(() =>
        {
            var s = Summary(account, "u1");
            Assert.Empty(s.PendingBuys);
            Assert.Equal(1000m, s.Cash);
            Assert.Equal(0m, s.ReservedCash);
        }, TimeSpan.FromSeconds(5), cancellationToken: Ct);

        // The expiry is in the journal: a fresh incarnation recovers the same books.
        Watch(account);
        Sys.Stop(account);
        ExpectTerminated(account, cancellationToken: Ct);
        var again = Account("u1");
        Assert.Equal(1000m, Summary(again, "u1").Cash);
        Assert.Empty(Summary(again, "u1").PendingBuys);
    }

    [Fact]
    public void A_sell_expires_on_its_timer_and_returns_the_shares()
    {
        _quotes.Put(new Quote("ABC", 10m, "u2", NowMs, "k"));
        var account = Account("u2");
        Send(account, new TradeRequest(1, CommandKind.Add, "u2", Amount: 1000m));
        Send(account, new TradeRequest(2, CommandKind.Buy, "u2", "ABC", 100m));
        Send(account, new TradeRequest(3, CommandKind.CommitBuy, "u2"));
        Assert.True(Send(account, new TradeRequest(4, CommandKind.Sell, "u2", "ABC", 50m)).Ok);
        Assert.Equal(new HoldingView("ABC", 5, 5), Summary(account, "u2").Holdings.Single());
        Scheduler.Advance(TimeSpan.FromSeconds(61));
        AwaitAssert(() => Assert.Equal(new HoldingView("ABC", 10, 0), Summary(account, "u2").Holdings.Single()), TimeSpan.FromSeconds(5), cancellationToken: Ct);
    }

    [Fact]
    public void Books_survive_a_restart_with_and_without_snapshots()
    {
        foreach (var snapshotEvery in new[] { 1000, 3 })
        {
            var user = "restart" + snapshotEvery;
            _quotes.Put(new Quote("XYZ", 7.5m, user, NowMs, "k"));
            var account = Account(user, snapshotEvery);
            Send(account, new TradeRequest(1, CommandKind.Add, user, Amount: 500m));
            Send(account, new TradeRequest(2, CommandKind.Buy, user, "XYZ", 100m));
            Send(account, new TradeRequest(3, CommandKind.CommitBuy, user));
            Send(account, new TradeRequest(4, CommandKind.SetBuyAmount, user, "XYZ", 50m));
            Send(account, new TradeRequest(5, CommandKind.SetBuyTrigger, user, "XYZ", 5m));
            Send(account, new TradeRequest(6, CommandKind.SetSellAmount, user, "XYZ", 30m));
            Send(account, new TradeRequest(7, CommandKind.SetSellTrigger, user, "XYZ", 10m));
            Send(account, new TradeRequest(8, CommandKind.Buy, user, "XYZ", 20m));
            var before = Summary(account, user);

            Watch(account);
            Sys.Stop(account);
            ExpectTerminated(account, cancellationToken: Ct);
            var after = Summary(Account(user, snapshotEvery), user);
            // Virtual time stands still, so even the pending orders' time left must be identical.
            Assert.Equal(before.ToJson(), after.ToJson());
            Assert.Single(after.PendingBuys);
            Assert.Single(after.SellTriggers);
        }
    }

    [Fact]
    public void A_retried_request_with_the_same_run_id_is_applied_once_and_answered_the_same()
    {
        _quotes.Put(new Quote("ABC", 10m, "u3", NowMs, "k"));
        var account = Account("u3");
        var add = new TradeRequest(1, CommandKind.Add, "u3", Amount: 100m, RunId: "run-a");
        Assert.True(Send(account, add).Ok);
        Assert.True(Send(account, add).Ok);
        var buy = new TradeRequest(2, CommandKind.Buy, "u3", "ABC", 55m, RunId: "run-a");
        var first = Send(account, buy);
        _quotes.Put(new Quote("ABC", 11m, "u3", NowMs + 1, "k2")); // a new price must not change the retry's answer
        Assert.Equal(first, Send(account, buy));
        var failing = new TradeRequest(3, CommandKind.CommitSell, "u3", RunId: "run-a");
        var failed = Send(account, failing);
        Assert.False(failed.Ok);
        Assert.Equal(failed, Send(account, failing));
        Assert.Equal(50m, Summary(account, "u3").Cash);
        Assert.Single(Summary(account, "u3").PendingBuys);

        // The memory is durable: a restarted account still recognises the retry.
        Watch(account);
        Sys.Stop(account);
        ExpectTerminated(account, cancellationToken: Ct);
        var again = Account("u3");
        Assert.Equal(first, Send(again, buy));
        Assert.Equal(50m, Summary(again, "u3").Cash);
        // Without a run id nothing is deduplicated.
        Assert.True(Send(again, new TradeRequest(1, CommandKind.Add, "u3", Amount: 100m)).Ok);
        Assert.Equal(150m, Summary(again, "u3").Cash);
    }

    [Fact]
    public void A_retry_waits_for_its_outcome_from_the_journal_and_later_commands_keep_their_order()
    {
        _quotes.Put(new Quote("ABC", 10m, "u3b", NowMs, "k"));
        var account = Account("u3b");
        var add = new TradeRequest(1, CommandKind.Add, "u3b", Amount: 100m, RunId: "run-o");
        Assert.True(Send(account, add).Ok);
        // The retry is answered from the journal; the ADD behind it must not overtake it.
        account.Tell(add, TestActor);
        account.Tell(new TradeRequest(2, CommandKind.Add, "u3b", Amount: 5m, RunId: "run-o"), TestActor);
        Assert.Equal(1, ExpectMsg<TradeReply>(cancellationToken: Ct).TxNum);
        Assert.Equal(2, ExpectMsg<TradeReply>(cancellationToken: Ct).TxNum);
        Assert.Equal(105m, Summary(account, "u3b").Cash);
    }

    [Fact]
    public void A_different_request_under_a_used_run_id_and_number_is_refused_and_changes_nothing()
    {
        var account = Account("u3c");
        Assert.True(Send(account, new TradeRequest(1, CommandKind.Add, "u3c", Amount: 100m, RunId: "run-d")).Ok);
        var other = Send(account, new TradeRequest(1, CommandKind.Add, "u3c", Amount: 999m, RunId: "run-d"));
        Assert.False(other.Ok);
        Assert.Contains("already used for a different request", other.Error);
        Assert.Equal(100m, Summary(account, "u3c").Cash);
    }

    /// <summary>Everything an account's journal holds, read back by a replay.</summary>
    private sealed class JournalReader : Akka.Persistence.ReceivePersistentActor
    {
        public JournalReader(string persistenceId, List<object> into, IActorRef done)
        {
            PersistenceId = persistenceId;
            Recover<Akka.Persistence.RecoveryCompleted>(_ => done.Tell(Akka.Done.Instance));
            RecoverAny(e => into.Add(e));
        }

        public override string PersistenceId { get; }
    }

    private List<object> JournalOf(string user)
    {
        var events = new List<object>();
        Sys.ActorOf(Props.Create(() => new JournalReader(AccountActor.PersistenceIdFor(user), events, TestActor)));
        ExpectMsg<Akka.Done>(TimeSpan.FromSeconds(5));
        return events;
    }

    [Fact]
    public void A_request_under_another_commands_run_id_and_number_is_refused_audited_and_changes_nothing()
    {
        _quotes.Put(new Quote("ABC", 10m, "u7", NowMs, "k"));
        var account = Account("u7");
        Assert.True(Send(account, new TradeRequest(1, CommandKind.Add, "u7", Amount: 100m, RunId: "run-a")).Ok);
        var buy = new TradeRequest(2, CommandKind.Buy, "u7", "ABC", 50m, RunId: "run-a");
        var bought = Send(account, buy);
        Assert.True(bought.Ok, bought.Error);
        var before = Summary(account, "u7");

        // Number 2 again, now a SELL: neither the BUY's answer nor an execution (nor a quote: XYZ is not cached, so
        // asking for one would leave this waiting for the quote manager).
        var sell = new TradeRequest(2, CommandKind.Sell, "u7", "XYZ", 50m, RunId: "run-a");
        var reused = Send(account, sell);
        Assert.False(reused.Ok);
        Assert.Equal(CommandKind.Sell, reused.Kind);
        Assert.Equal("transaction 2 of run run-a was already used for a different request; nothing was done", reused.Error);
        _quoteManager.ExpectNoMsg(TimeSpan.FromMilliseconds(50), cancellationToken: Ct);
        Assert.Equal(before.ToJson(), Summary(account, "u7").ToJson());

        // Audited as what it was: a SELL refused with that reason, changing nothing.
        var refusal = Assert.Single(JournalOf("u7").OfType<CommandHandled>(), c => c.Kind == CommandKind.Sell);
        Assert.Equal((2L, "run-a", "XYZ", 50m, reused.Error, 0), (refusal.TxNum, refusal.RunId, refusal.Symbol, refusal.Amount, refusal.Error, refusal.Changes.Length));

        // The BUY's retries are still answered as the first time, also after a restart; the SELL stays refused.
        Assert.Equal(bought, Send(account, buy));
        Watch(account);
        Sys.Stop(account);
        ExpectTerminated(account, cancellationToken: Ct);
        var again = Account("u7");
        Assert.Equal(bought, Send(again, buy));
        Assert.Equal(reused, Send(again, sell));
        Assert.Equal(before.ToJson(), Summary(again, "u7").ToJson());
    }

    [Fact]
    public void A_cache_miss_asks_the_quote_manager_and_later_commands_wait_their_turn()
    {
        var account = Account("u4");
        Send(account, new TradeRequest(1, CommandKind.Add, "u4", Amount: 100m));
        account.Tell(new TradeRequest(2, CommandKind.Quote, "u4", "QQQ"), TestActor);
        account.Tell(new TradeRequest(3, CommandKind.Add, "u4", Amount: 1m), TestActor);
        var ask = _quoteManager.ExpectMsg<GetQuote>(cancellationToken: Ct);
        Assert.Equal(new GetQuote("QQQ", "u4", 2), ask);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100), cancellationToken: Ct); // the ADD waits behind the QUOTE
        _quoteManager.Reply(new QuoteResult(new Quote("QQQ", 3.21m, "u4", NowMs, "kq"), null));
        var quote = ExpectMsg<TradeReply>(cancellationToken: Ct);
        Assert.Equal(2, quote.TxNum);
        Assert.Equal(new QuoteUsed("QQQ", 3.21m, NowMs, "kq"), quote.Quote);
        Assert.Equal(3, ExpectMsg<TradeReply>(cancellationToken: Ct).TxNum);
        Assert.True(_quotes.TryGetValid("QQQ", NowMs, out _)); // the answer is cached on the node
    }

    [Fact]
    public void A_quote_failure_is_a_clear_error_that_reserves_nothing()
    {
        var account = Account("u5");
        Send(account, new TradeRequest(1, CommandKind.Add, "u5", Amount: 100m));
        account.Tell(new TradeRequest(2, CommandKind.Buy, "u5", "ZZZ", 50m), TestActor);
        _quoteManager.ExpectMsg<GetQuote>(cancellationToken: Ct);
        _quoteManager.Reply(new QuoteResult(null, "quote server 127.0.0.1:4444 did not answer"));
        var reply = ExpectMsg<TradeReply>(cancellationToken: Ct);
        Assert.False(reply.Ok);
        Assert.Contains("did not answer", reply.Error);
        var s = Summary(account, "u5");
        Assert.Equal(100m, s.Cash);
        Assert.Empty(s.PendingBuys);
    }

    [Fact]
    public void A_trigger_executes_once_for_the_armed_version()
    {
        var account = Account("u6");
        Send(account, new TradeRequest(1, CommandKind.Add, "u6", Amount: 100m));
        Send(account, new TradeRequest(2, CommandKind.SetBuyAmount, "u6", "ABC", 50m));
        Send(account, new TradeRequest(3, CommandKind.SetBuyTrigger, "u6", "ABC", 10m));
        var quote = new Quote("ABC", 9m, "u6", NowMs, "k");
        // The version is internal; the first arming after an amount is version 2 (amount = 1, trigger = 2).
        account.Tell(new ExecuteTrigger("u6", TradeSide.Buy, "ABC", 1, quote), TestActor);
        Assert.False(ExpectMsg<TriggerOutcome>(cancellationToken: Ct).Executed);
        account.Tell(new ExecuteTrigger("u6", TradeSide.Buy, "ABC", 2, quote), TestActor);
        Assert.True(ExpectMsg<TriggerOutcome>(cancellationToken: Ct).Executed);
        account.Tell(new ExecuteTrigger("u6", TradeSide.Buy, "ABC", 2, quote), TestActor);
        Assert.False(ExpectMsg<TriggerOutcome>(cancellationToken: Ct).Executed);
        var s = Summary(account, "u6");
        Assert.Equal(new HoldingView("ABC", 5, 0), s.Holdings.Single());
        Assert.Equal(100m - 45m, s.Cash);
        Assert.Equal(0m, s.ReservedCash);
    }
}

/// <summary>A clock that reads the test scheduler's virtual time, so timers and "now" advance together.</summary>
internal sealed class SchedulerClock(TestScheduler scheduler) : TimeProvider
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private readonly DateTimeOffset _origin = scheduler.Now;

    public override DateTimeOffset GetUtcNow() => Start + (scheduler.Now - _origin);
}
