using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.Journal;
using Akka.TestKit.Xunit;
using DayTrading.Accounts;
using DayTrading.Expiry;
using DayTrading.Persistence;
using DayTrading.Quotes;
using DayTrading.Serialization;
using DayTrading.Triggers;
using Xunit;

namespace DayTrading.Tests.Expiry;

/// <summary>
/// The expiry watcher over a journal in a list (tagged as the nodes tag it) and a clock the test moves: it wakes an
/// account only once an order is past its deadline and grace and still pending in the journal, again while it stays
/// so, never after the journal shows it released, and a new incarnation finds overdue accounts by itself.
/// </summary>
public sealed class ExpiryWatcherTests : TestKit
{
    private static readonly Config TestConfig = ConfigurationFactory.ParseString(DayTradingSerialization.Hocon);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const long T0 = 1_795_000_000_000;

    public ExpiryWatcherTests() : base(TestConfig) { }

    private sealed class FakeLog : IEventLogReader
    {
        private static readonly AccountEventTagger Tagger = new();
        private readonly List<EventLogEntry> _entries = [];
        private readonly Dictionary<string, AccountState> _states = new();
        private long _tx;

        public AccountState State(string user) => _states.TryGetValue(user, out var s) ? s : _states[user] = new AccountState(user);

        public void Send(string user, CommandKind kind, long now, string? sym = null, decimal amount = 0)
        {
            var s = State(user);
            var e = AccountDomain.Decide(s, new TradeRequest(++_tx, kind, user, sym, amount), new Quote(sym ?? "ABC", 10m, user, now, "k"), now, "t");
            Assert.True(e.Ok, e.Error);
            Add(user, e);
        }

        public void Expire(string user, long now) => Add(user, AccountDomain.Expire(State(user), now, "t")!);

        private void Add(string user, AccountEvent e)
        {
            AccountDomain.Apply(State(user), e);
            var tags = Tagger.ToJournal(e) is Tagged t ? string.Join(";", t.Tags) : "";
            lock (_entries) _entries.Add(new EventLogEntry(_entries.Count + 1, "account-" + user, _entries.Count + 1, DateTimeOffset.UtcNow, e, tags, false));
        }

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

    private sealed class ManualClock : TimeProvider
    {
        private long _ms = T0;

        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _ms));

        public void Set(long ms) => Interlocked.Exchange(ref _ms, ms);
    }

    private static readonly ExpiryWatchOptions Fast = new()
    {
        PollInterval = TimeSpan.FromMilliseconds(50),
        TickInterval = TimeSpan.FromMilliseconds(50),
        Grace = TimeSpan.FromSeconds(1),
        RetryInterval = TimeSpan.FromSeconds(5),
    };

    private void AwaitCaughtUp(IActorRef watcher, int pending) => AwaitAssert(() =>
    {
        watcher.Tell(ExpiryWatcherActor.GetStatus.Instance, TestActor);
        var status = ExpectMsg<ExpiryWatcherActor.ExpiryWatchStatus>();
        Assert.True(status.CaughtUp);
        Assert.Equal(pending, status.Pending);
    }, TimeSpan.FromSeconds(5), cancellationToken: Ct);

    [Fact]
    public void An_order_still_pending_after_its_deadline_and_grace_gets_its_account_woken_until_the_journal_shows_it_released()
    {
        var log = new FakeLog();
        var clock = new ManualClock();
        log.Send("ann", CommandKind.Add, T0, amount: 1000m);
        log.Send("ann", CommandKind.Buy, T0, "ABC", 100m);       // due T0 + 60 s
        log.Send("bob", CommandKind.Add, T0, amount: 1000m);
        log.Send("bob", CommandKind.Buy, T0 + 30_000, "ABC", 100m); // due T0 + 90 s
        var accounts = CreateTestProbe();
        var watcher = Sys.ActorOf(ExpiryWatcherActor.Props(() => log, accounts, clock, Fast));
        AwaitCaughtUp(watcher, pending: 2);

        clock.Set(T0 + 60_500); // past ann's deadline, within the grace her own timer has
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(300), Ct);
        clock.Set(T0 + 61_000);
        Assert.Equal(new WakeAccount("ann"), accounts.ExpectMsg<WakeAccount>(cancellationToken: Ct));
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(300), Ct); // once per retry interval, and bob is not due

        clock.Set(T0 + 66_000); // the wake was lost (no expiry in the journal): woken again
        Assert.Equal(new WakeAccount("ann"), accounts.ExpectMsg<WakeAccount>(cancellationToken: Ct));

        log.Expire("ann", T0 + 66_000); // the account expired it
        AwaitCaughtUp(watcher, pending: 1);
        clock.Set(T0 + 80_000);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(300), Ct);

        log.Send("bob", CommandKind.CommitBuy, T0 + 80_000); // settled before its deadline: never woken
        AwaitCaughtUp(watcher, pending: 0);
        clock.Set(T0 + 200_000);
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(300), Ct);
    }

    [Fact]
    public void A_new_incarnation_rebuilds_from_the_journal_and_wakes_overdue_accounts_at_once()
    {
        var log = new FakeLog();
        var clock = new ManualClock();
        for (var i = 0; i < 3; i++)
        {
            log.Send("u" + i, CommandKind.Add, T0, amount: 1000m);
            log.Send("u" + i, CommandKind.Buy, T0, "ABC", 100m);
        }
        log.Send("u0", CommandKind.CommitBuy, T0);
        var accounts = CreateTestProbe();
        var first = Sys.ActorOf(ExpiryWatcherActor.Props(() => log, accounts, clock, Fast));
        AwaitCaughtUp(first, pending: 2);
        Watch(first);
        Sys.Stop(first); // the singleton's node dies before anything is due
        ExpectTerminated(first, cancellationToken: Ct);

        clock.Set(T0 + 10 * 60_000); // the cluster was down for ten minutes
        var second = Sys.ActorOf(ExpiryWatcherActor.Props(() => log, accounts, clock, Fast));
        var woken = new[] { accounts.ExpectMsg<WakeAccount>(cancellationToken: Ct), accounts.ExpectMsg<WakeAccount>(cancellationToken: Ct) };
        Assert.Equal(["u1", "u2"], woken.Select(w => w.UserId).Order());
        accounts.ExpectNoMsg(TimeSpan.FromMilliseconds(300), Ct);
        AwaitCaughtUp(second, pending: 2);
    }
}
