using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit;
using DayTrading.Accounts;
using DayTrading.Persistence;
using DayTrading.Quotes;
using DayTrading.Serialization;
using DayTrading.Triggers;
using Xunit;

namespace DayTrading.Tests.Triggers;

/// <summary>The trigger index as a projection of account events, and the AutoTxManager driven by it.</summary>
public sealed class AutoTxManagerTests : TestKit
{
    private static readonly Config TestConfig = ConfigurationFactory.ParseString("""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.port = 0
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        """).WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon));

    private const long T0 = 1_795_000_000_000;

    public AutoTxManagerTests() : base(TestConfig) { }

    /// <summary>A journal in a list: account events for one user made by the real domain.</summary>
    private sealed class FakeLog : IEventLogReader
    {
        private readonly List<EventLogEntry> _entries = [];
        private readonly Dictionary<string, AccountState> _states = new();
        private long _tx;

        public long Record(string user, CommandKind kind, string? sym = null, decimal amount = 0)
        {
            if (!_states.TryGetValue(user, out var s)) _states[user] = s = new AccountState(user);
            var e = AccountDomain.Decide(s, new TradeRequest(++_tx, kind, user, sym, amount), null, T0, "t");
            Assert.True(e.Ok, e.Error);
            AccountDomain.Apply(s, e);
            Add(user, e);
            return s.TriggerVersion;
        }

        // Tagged as the nodes tag their rows, so a caught-up manager's tail sees what it would see in a real journal.
        /// <summary>An account with $1,000, $100 reserved for ABC and a buy trigger at 10 armed: returns its version.</summary>
        public long ArmBuy(string user)
        {
            Record(user, CommandKind.Add, amount: 1000m);
            Record(user, CommandKind.SetBuyAmount, "ABC", 100m);
            return Record(user, CommandKind.SetBuyTrigger, "ABC", 10m);
        }

        public void Add(string user, AccountEvent e)
        {
            var tags = new AccountEventTagger().ToJournal(e) is Akka.Persistence.Journal.Tagged t ? string.Join(";", t.Tags) : "";
            lock (_entries) _entries.Add(new EventLogEntry(_entries.Count + 1, "account-" + user, _entries.Count + 1, DateTimeOffset.UtcNow, e, tags, false));
        }

        public AccountState State(string user) => _states[user];

        public Task<IReadOnlyList<EventLogEntry>> ReadPageAsync(long afterOrdering, int pageSize = 1000, CancellationToken ct = default)
        {
            lock (_entries) return Task.FromResult<IReadOnlyList<EventLogEntry>>(_entries.Where(e => e.Ordering > afterOrdering).Take(pageSize).ToList());
        }

        public async IAsyncEnumerable<EventLogEntry> ReadAllAsync(long afterOrdering = 0, int pageSize = 1000, [EnumeratorCancellation] CancellationToken ct = default)
        {
            foreach (var e in await ReadPageAsync(afterOrdering, int.MaxValue, ct)) yield return e;
        }

        public void Dispose() { }
    }

    private sealed class FixedClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(T0);
    }

    private static Quote Q(string sym, decimal price) => new(sym, price, "x", T0, "k");

    [Fact]
    public void The_index_follows_arming_re_arming_cancelling_and_firing()
    {
        var log = new FakeLog();
        log.Record("ann", CommandKind.Add, amount: 1000m);
        log.Record("ann", CommandKind.SetBuyAmount, "ABC", 100m);
        var index = new TriggerIndex();
        void Sync()
        {
            foreach (var e in log.ReadPageAsync(0, int.MaxValue).Result) index.Apply(e.PersistenceId, e.Payload);
        }
        Sync();
        Assert.Equal(0, index.ArmedCount); // an amount alone is not armed

        index = new TriggerIndex();
        log.Record("ann", CommandKind.SetBuyTrigger, "ABC", 10m);
        Sync();
        var armed = Assert.Single(index.On("ABC"));
        Assert.Equal(log.State("ann").BuyTriggers["ABC"].Version, armed.Version);
        Assert.Single(index.CrossedBy(Q("ABC", 10m)));      // equal crosses a buy
        Assert.Single(index.CrossedBy(Q("ABC", 9.99m)));
        Assert.Empty(index.CrossedBy(Q("ABC", 10.01m)));
        Assert.Empty(index.CrossedBy(Q("XYZ", 1m)));

        index = new TriggerIndex();
        log.Record("ann", CommandKind.CancelSetBuy, "ABC");
        Sync();
        Assert.Equal(0, index.ArmedCount);
        Assert.Empty(index.WatchedSymbols);
    }

    [Fact]
    public async Task Sell_triggers_cross_at_or_above_and_leave_the_index_when_fired()
    {
        var log = new FakeLog();
        log.Record("bob", CommandKind.Add, amount: 1000m);
        var s = log.State("bob");
        var buy = AccountDomain.Decide(s, new TradeRequest(100, CommandKind.Buy, "bob", "ABC", 100m), Q("ABC", 10m), T0, "t");
        AccountDomain.Apply(s, buy);
        log.Add("bob", buy);
        var commit = AccountDomain.Decide(s, new TradeRequest(101, CommandKind.CommitBuy, "bob"), null, T0, "t");
        AccountDomain.Apply(s, commit);
        log.Add("bob", commit);
        log.Record("bob", CommandKind.SetSellAmount, "ABC", 50m);
        log.Record("bob", CommandKind.SetSellTrigger, "ABC", 20m);
        var index = new TriggerIndex();
        foreach (var e in await log.ReadPageAsync(0, int.MaxValue, Ct)) index.Apply(e.PersistenceId, e.Payload);
        Assert.Single(index.CrossedBy(Q("ABC", 20m)));
        Assert.Empty(index.CrossedBy(Q("ABC", 19.99m)));

        var fired = AccountDomain.DecideTrigger(s, TradeSide.Sell, "ABC", s.SellTriggers["ABC"].Version, Q("ABC", 21m), T0, "t")!;
        index.Apply("account-bob", fired);
        Assert.Equal(0, index.ArmedCount);
    }

    [Fact]
    public void A_crossing_quote_asks_the_account_once_and_a_restarted_manager_asks_again_only_while_still_armed()
    {
        var log = new FakeLog();
        var version = log.ArmBuy("cat");
        var accounts = CreateTestProbe();
        var quoteManager = CreateTestProbe();
        var options = new AutoTxOptions { PollInterval = TimeSpan.FromMilliseconds(50), RefreshPeriod = TimeSpan.FromHours(1) };
        var manager = Sys.ActorOf(AutoTxManagerActor.Props(log, accounts, quoteManager, new NodeQuoteCache(), new FixedClock(), options));
        AwaitAssert(() =>
        {
            manager.Tell(AutoTxManagerActor.GetStatus.Instance, TestActor);
            Assert.True(ExpectMsg<AutoTxManagerActor.AutoTxStatus>().CaughtUp);
        }, cancellationToken: Ct);

        manager.Tell(Q("ABC", 11m));
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200), cancellationToken: Ct);
        manager.Tell(Q("ABC", 9.5m));
        var fire = accounts.ExpectMsg<ExecuteTrigger>(cancellationToken: Ct);
        Assert.Equal(("cat", TradeSide.Buy, "ABC", version, 9.5m), (fire.UserId, fire.Side, fire.Symbol, fire.Version, fire.Quote.Price));
        manager.Tell(Q("ABC", 9.0m)); // still in flight: not asked twice
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200), cancellationToken: Ct);

        // The singleton dies before the account answered; a new incarnation rebuilds from the journal, where the
        // trigger is still armed, and asks again with the same version: the account executes at most one of them.
        Watch(manager);
        Sys.Stop(manager);
        ExpectTerminated(manager, cancellationToken: Ct);
        var second = Sys.ActorOf(AutoTxManagerActor.Props(log, accounts, quoteManager, new NodeQuoteCache(), new FixedClock(), options));
        AwaitAssert(() =>
        {
            second.Tell(AutoTxManagerActor.GetStatus.Instance, TestActor);
            Assert.True(ExpectMsg<AutoTxManagerActor.AutoTxStatus>().CaughtUp);
        }, cancellationToken: Ct);
        second.Tell(Q("ABC", 9.5m));
        Assert.Equal(version, accounts.ExpectMsg<ExecuteTrigger>(cancellationToken: Ct).Version);

        // Once the execution is in the journal, a third incarnation has nothing to fire.
        var s = log.State("cat");
        log.Add("cat", AccountDomain.DecideTrigger(s, TradeSide.Buy, "ABC", version, Q("ABC", 9.5m), T0, "t")!);
        var third = Sys.ActorOf(AutoTxManagerActor.Props(log, accounts, quoteManager, new NodeQuoteCache(), new FixedClock(), options));
        AwaitAssert(() =>
        {
            third.Tell(AutoTxManagerActor.GetStatus.Instance, TestActor);
            var status = ExpectMsg<AutoTxManagerActor.AutoTxStatus>();
            Assert.True(status.CaughtUp);
            Assert.Equal(0, status.Armed);
        }, cancellationToken: Ct);
        third.Tell(Q("ABC", 1m));
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200), cancellationToken: Ct);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IActorRef CaughtUpManager(FakeLog log, IActorRef accounts, IActorRef quoteManager, AutoTxOptions? options = null)
    {
        options ??= new AutoTxOptions { PollInterval = TimeSpan.FromMilliseconds(50), RefreshPeriod = TimeSpan.FromHours(1) };
        var manager = Sys.ActorOf(AutoTxManagerActor.Props(log, accounts, quoteManager, new NodeQuoteCache(), new FixedClock(), options));
        AwaitAssert(() =>
        {
            manager.Tell(AutoTxManagerActor.GetStatus.Instance, TestActor);
            Assert.True(ExpectMsg<AutoTxManagerActor.AutoTxStatus>().CaughtUp);
        }, cancellationToken: Ct);
        return manager;
    }

    [Fact]
    public void A_trigger_armed_while_a_crossing_quote_is_valid_fires_without_waiting_for_another_quote()
    {
        var log = new FakeLog();
        log.Record("dan", CommandKind.Add, amount: 1000m);
        var accounts = CreateTestProbe();
        var quoteManager = CreateTestProbe();
        var manager = CaughtUpManager(log, accounts, quoteManager);
        manager.Tell(Q("ABC", 9.5m)); // seen (and cached) while nothing is armed
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200), Ct);

        log.Record("dan", CommandKind.SetBuyAmount, "ABC", 100m);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(200), Ct); // an amount alone is not armed
        var version = log.Record("dan", CommandKind.SetBuyTrigger, "ABC", 10m);
        // The refresh is an hour away and no new quote comes: the cached one fires it as soon as the journal shows it.
        var fire = accounts.ExpectMsg<ExecuteTrigger>(TimeSpan.FromSeconds(3), cancellationToken: Ct);
        Assert.Equal(("dan", TradeSide.Buy, "ABC", version, 9.5m), (fire.UserId, fire.Side, fire.Symbol, fire.Version, fire.Quote.Price));

        // A trigger armed above a cached quote that does not cross it waits.
        manager.Tell(Q("QQ", 30m));
        log.Record("dan", CommandKind.SetBuyAmount, "QQ", 100m);
        log.Record("dan", CommandKind.SetBuyTrigger, "QQ", 20m);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(300), Ct);
    }

    [Fact]
    public void A_re_sized_trigger_is_checked_again_against_the_valid_quote_at_its_new_version()
    {
        var log = new FakeLog();
        var v1 = log.ArmBuy("eve");
        var accounts = CreateTestProbe();
        var manager = CaughtUpManager(log, accounts, CreateTestProbe());
        manager.Tell(Q("ABC", 9.5m));
        Assert.Equal(v1, accounts.ExpectMsg<ExecuteTrigger>(cancellationToken: Ct).Version);

        // The account was re-sized before the request reached it, so it refuses the old version…
        var v2 = log.Record("eve", CommandKind.SetBuyAmount, "ABC", 200m);
        accounts.Reply(new TriggerOutcome("eve", TradeSide.Buy, "ABC", false, "trigger not armed at that version"));
        // …and the re-size, once in the journal, is checked against the same valid quote: asked again at v2.
        var again = accounts.FishForMessage<ExecuteTrigger>(m => m.Version == v2, TimeSpan.FromSeconds(3), cancellationToken: Ct);
        Assert.Equal(9.5m, again.Quote.Price);
    }

    [Fact]
    public void Watched_symbols_are_refreshed_once_each_per_period_however_many_users_watch_them()
    {
        var log = new FakeLog();
        foreach (var user in new[] { "u1", "u2", "u3" })
        {
            log.ArmBuy(user);
        }
        log.Record("u1", CommandKind.SetBuyAmount, "XYZ", 100m);
        log.Record("u1", CommandKind.SetBuyTrigger, "XYZ", 10m);
        log.Record("u2", CommandKind.SetBuyAmount, "QQ", 100m); // not armed: not watched
        var quoteManager = CreateTestProbe();
        var options = new AutoTxOptions { PollInterval = TimeSpan.FromMilliseconds(50), RefreshPeriod = TimeSpan.FromMilliseconds(500) };
        Sys.ActorOf(AutoTxManagerActor.Props(log, CreateTestProbe(), quoteManager, new NodeQuoteCache(), new FixedClock(), options));

        for (var period = 0; period < 3; period++)
        {
            var asked = new[] { quoteManager.ExpectMsg<GetQuote>(TimeSpan.FromSeconds(3), cancellationToken: Ct), quoteManager.ExpectMsg<GetQuote>(TimeSpan.FromSeconds(1), cancellationToken: Ct) };
            Assert.Equal(["ABC", "XYZ"], asked.Select(q => q.Symbol).Order());
            quoteManager.ExpectNoMsg(TimeSpan.FromMilliseconds(300), cancellationToken: Ct); // nothing more within the period
        }
    }

    [Fact]
    public void A_fire_the_account_never_answers_is_asked_again_without_waiting_for_another_quote()
    {
        var log = new FakeLog();
        var version = log.ArmBuy("fay");
        var accounts = CreateTestProbe();
        var options = new AutoTxOptions
        {
            PollInterval = TimeSpan.FromMilliseconds(50), RefreshPeriod = TimeSpan.FromHours(1),
            FireTimeout = TimeSpan.FromMilliseconds(300), RetryAfter = TimeSpan.FromMilliseconds(200),
        };
        var manager = CaughtUpManager(log, accounts, CreateTestProbe(), options);

        manager.Tell(Q("ABC", 9.5m));
        Assert.Equal(version, accounts.ExpectMsg<ExecuteTrigger>(cancellationToken: Ct).Version); // lost: never answered
        // No new quote and the refresh an hour away: asked again with the quote still valid, at the same version.
        var again = accounts.ExpectMsg<ExecuteTrigger>(TimeSpan.FromSeconds(5), cancellationToken: Ct);
        Assert.Equal((version, 9.5m), (again.Version, again.Quote.Price));
        accounts.Reply(new TriggerOutcome("fay", TradeSide.Buy, "ABC", true, null));

        // Once the execution is in the journal nothing more is asked.
        log.Add("fay", AccountDomain.DecideTrigger(log.State("fay"), TradeSide.Buy, "ABC", version, Q("ABC", 9.5m), T0, "t")!);
        accounts.ExpectNoMsg(TimeSpan.FromSeconds(1), cancellationToken: Ct);
    }

    [Fact]
    public void A_refresh_the_quote_manager_cannot_serve_is_tried_again_before_the_next_period()
    {
        var log = new FakeLog();
        log.ArmBuy("gus");
        var quoteManager = CreateTestProbe();
        var accounts = CreateTestProbe();
        var options = new AutoTxOptions
        {
            PollInterval = TimeSpan.FromMilliseconds(50), RefreshPeriod = TimeSpan.FromSeconds(4), RetryAfter = TimeSpan.FromMilliseconds(200),
        };
        Sys.ActorOf(AutoTxManagerActor.Props(log, accounts, quoteManager, new NodeQuoteCache(), new FixedClock(), options));

        Assert.Equal("ABC", quoteManager.ExpectMsg<GetQuote>(TimeSpan.FromSeconds(10), cancellationToken: Ct).Symbol);
        quoteManager.Reply(new QuoteResult(null, "quote manager restarting; no quote for ABC, try again"));
        // Asked again well before the next period (4 s away), and the quote it then gets fires the trigger.
        Assert.Equal("ABC", quoteManager.ExpectMsg<GetQuote>(TimeSpan.FromSeconds(2), cancellationToken: Ct).Symbol);
        quoteManager.Reply(new QuoteResult(Q("ABC", 9.5m), null));
        Assert.Equal(9.5m, accounts.ExpectMsg<ExecuteTrigger>(TimeSpan.FromSeconds(3), cancellationToken: Ct).Quote.Price);
    }
}
