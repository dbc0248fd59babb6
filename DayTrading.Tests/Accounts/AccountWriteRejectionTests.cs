using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit;
using DayTrading.Accounts;
using DayTrading.Quotes;
using DayTrading.Serialization;
using DayTrading.Tests.Persistence;
using Xunit;

namespace DayTrading.Tests.Accounts;

/// <summary>
/// A write the journal rejects (as it does an event it cannot serialize) leaves no trace: the requester is told
/// nothing changed, the books and the idempotency memory are what the journal holds, a resend is executed afresh,
/// and the requests that came meanwhile are handled. For commands, trigger executions and expiries.
/// </summary>
public sealed class AccountWriteRejectionTests : TestKit
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Not serialize-messages: the journal's own rejection message (an internal wrapper around the exception) does not
    // survive JSON, which would drop the rejection before the account sees it. SerializerTests cover the messages.
    private static readonly Config TestConfig = ConfigurationFactory.ParseString($"""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.persistence.journal.plugin = "{RejectingJournal.PluginId}"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """).WithFallback(ConfigurationFactory.ParseString(RejectingJournal.Hocon))
        .WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon));

    private readonly NodeQuoteCache _quotes = new();
    private readonly TestProbe _quoteManager;
    private readonly SchedulerClock _clock;

    public AccountWriteRejectionTests() : base(TestConfig)
    {
        _quoteManager = CreateTestProbe();
        _clock = new SchedulerClock((TestScheduler)Sys.Scheduler);
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private long NowMs => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private IActorRef Account(string user) =>
        Sys.ActorOf(AccountActor.Props(user, new AccountSettings(_clock, _quotes, _quoteManager, "test-node",
            RejectingJournal.PluginId, "akka.persistence.snapshot-store.inmem")));

    private TradeReply Send(IActorRef account, TradeRequest request)
    {
        account.Tell(request, TestActor);
        return ExpectMsg<TradeReply>(TimeSpan.FromSeconds(5));
    }

    private AccountSummary Books(IActorRef account, string user)
    {
        // Read without a request of its own, so nothing is written (and nothing expired) by looking.
        account.Tell(new GetAccountSummary(user), TestActor);
        return AccountSummary.FromJson(ExpectMsg<AccountSummaryReply>(TimeSpan.FromSeconds(5)).Json!)!;
    }

    private AccountSummary Recovered(IActorRef account, string user)
    {
        Watch(account);
        Sys.Stop(account);
        ExpectTerminated(account);
        return Books(Account(user), user);
    }

    [Fact]
    public void A_request_the_journal_refuses_leaves_no_trace_and_its_resend_is_executed_afresh()
    {
        var account = Account("j1");
        Assert.True(Send(account, new TradeRequest(1, CommandKind.Add, "j1", Amount: 100m, RunId: "run")).Ok);
        RejectingJournal.Set(Sys, e => e is CommandHandled { TxNum: 2 });

        var add = new TradeRequest(2, CommandKind.Add, "j1", Amount: 50m, RunId: "run");
        account.Tell(add, TestActor);
        // Sent while the refused write is in flight: it waits, and is handled once the account is back.
        account.Tell(new TradeRequest(3, CommandKind.Add, "j1", Amount: 1m, RunId: "run"), TestActor);
        var refused = ExpectMsg<TradeReply>(TimeSpan.FromSeconds(5), cancellationToken: Ct);
        Assert.Equal(2, refused.TxNum);
        Assert.False(refused.Ok);
        Assert.StartsWith("not done, nothing changed: the journal refused to store it", refused.Error);
        var next = ExpectMsg<TradeReply>(TimeSpan.FromSeconds(5), cancellationToken: Ct);
        Assert.Equal(3, next.TxNum);
        Assert.True(next.Ok, next.Error);
        Assert.Equal(101m, Books(account, "j1").Cash);

        // The resend is executed, not answered "OK" from a memory of the refused attempt.
        RejectingJournal.Set(Sys, null);
        Assert.True(Send(account, add).Ok);
        Assert.Equal(151m, Books(account, "j1").Cash);
        Assert.True(Send(account, add).Ok); // now a retry: applied once
        Assert.Equal(151m, Books(account, "j1").Cash);
        Assert.Equal(151m, Recovered(account, "j1").Cash);
    }

    [Fact]
    public void A_refused_write_takes_the_expiry_it_was_decided_after_with_it()
    {
        _quotes.Put(new Quote("ABC", 10m, "j2", NowMs, "k"));
        var account = Account("j2");
        Send(account, new TradeRequest(1, CommandKind.Add, "j2", Amount: 100m));
        Assert.True(Send(account, new TradeRequest(2, CommandKind.Buy, "j2", "ABC", 100m)).Ok);
        RejectingJournal.Set(Sys, e => e is CommandHandled { TxNum: 3 } or ReservationsExpired);
        Scheduler.Advance(TimeSpan.FromSeconds(61)); // the expiry timer fires: refused too
        _quotes.Put(new Quote("ABC", 10m, "j2", NowMs, "k2"));

        // A BUY that needs the cash the expiry would free: decided on the books after the expiry, so both are
        // refused together and neither is left behind in memory or in the journal.
        var buy = Send(account, new TradeRequest(3, CommandKind.Buy, "j2", "ABC", 60m));
        Assert.False(buy.Ok);
        Assert.Contains("nothing changed", buy.Error);
        var books = Books(account, "j2");
        Assert.Equal(0m, books.Cash);
        Assert.Single(books.PendingBuys);

        RejectingJournal.Set(Sys, null);
        Scheduler.Advance(TimeSpan.FromSeconds(2)); // after a refusal the expiry is tried again a second later
        AwaitAssert(() => Assert.Equal(100m, Books(account, "j2").Cash), TimeSpan.FromSeconds(5), cancellationToken: Ct);
        Assert.True(Send(account, new TradeRequest(3, CommandKind.Buy, "j2", "ABC", 60m)).Ok);
        var recovered = Recovered(account, "j2");
        Assert.Equal(40m, recovered.Cash);
        Assert.Single(recovered.PendingBuys);
    }

    [Fact]
    public void A_trigger_execution_the_journal_refuses_leaves_the_trigger_armed()
    {
        var account = Account("j3");
        Send(account, new TradeRequest(1, CommandKind.Add, "j3", Amount: 100m));
        Send(account, new TradeRequest(2, CommandKind.SetBuyAmount, "j3", "ABC", 50m));
        Send(account, new TradeRequest(3, CommandKind.SetBuyTrigger, "j3", "ABC", 10m));
        var quote = new Quote("ABC", 9m, "j3", NowMs, "k");
        RejectingJournal.Set(Sys, e => e is TriggerExecuted);

        account.Tell(new ExecuteTrigger("j3", TradeSide.Buy, "ABC", 2, quote), TestActor);
        var refused = ExpectMsg<TriggerOutcome>(TimeSpan.FromSeconds(5), cancellationToken: Ct);
        Assert.False(refused.Executed);
        Assert.StartsWith("not done, nothing changed", refused.Reason);
        var books = Books(account, "j3");
        Assert.Empty(books.Holdings);
        Assert.Equal(new BuyTriggerView("ABC", 50m, 10m), books.BuyTriggers.Single());
        Assert.Equal(50m, books.Cash);

        RejectingJournal.Set(Sys, null);
        account.Tell(new ExecuteTrigger("j3", TradeSide.Buy, "ABC", 2, quote), TestActor);
        Assert.True(ExpectMsg<TriggerOutcome>(TimeSpan.FromSeconds(5), cancellationToken: Ct).Executed);
        var recovered = Recovered(account, "j3");
        Assert.Equal(new HoldingView("ABC", 5, 0), recovered.Holdings.Single());
        Assert.Equal(55m, recovered.Cash);
        Assert.Empty(recovered.BuyTriggers);
    }
}
