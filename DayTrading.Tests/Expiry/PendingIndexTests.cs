using Akka.Persistence.Journal;
using DayTrading.Accounts;
using DayTrading.Expiry;
using DayTrading.Quotes;
using DayTrading.Triggers;
using Xunit;

namespace DayTrading.Tests.Expiry;

/// <summary>The pending-order index as a projection of account events made by the real domain.</summary>
public sealed class PendingIndexTests
{
    private const long T0 = 1_795_000_000_000;

    private sealed class Account(string user)
    {
        public AccountState State { get; } = new(user);
        public List<AccountEvent> Events { get; } = [];
        public long Now = T0;
        private long _tx;

        public AccountEvent? Send(CommandKind kind, string? sym = null, decimal amount = 0, decimal price = 10m)
        {
            var expired = AccountDomain.Expire(State, Now, "t");
            if (expired is not null) Record(expired);
            var e = AccountDomain.Decide(State, new TradeRequest(++_tx, kind, State.UserId, sym, amount), new Quote(sym ?? "ABC", price, State.UserId, Now, "k"), Now, "t");
            Record(e);
            return e.Ok ? e : null;
        }

        public void Record(AccountEvent e)
        {
            AccountDomain.Apply(State, e);
            Events.Add(e);
        }
    }

    private static PendingIndex Project(params Account[] accounts)
    {
        var index = new PendingIndex();
        foreach (var a in accounts)
        {
            foreach (var e in a.Events) index.Apply("account-" + a.State.UserId, e);
        }
        return index;
    }

    [Fact]
    public void Buys_and_sells_are_pending_until_committed_cancelled_or_expired()
    {
        var ann = new Account("ann");
        ann.Send(CommandKind.Add, amount: 1000m);
        ann.Send(CommandKind.Buy, "ABC", 100m);
        ann.Now += 10_000;
        ann.Send(CommandKind.Buy, "XYZ", 100m);
        var index = Project(ann);
        Assert.Equal((1, 2), (index.AccountCount, index.PendingCount));
        Assert.Equal(T0 + 60_000, index.EarliestDeadline("ann"));

        ann.Send(CommandKind.CommitBuy); // the newest (XYZ)
        ann.Send(CommandKind.Sell, "ABC", 50m); // no ABC shares yet: refused, nothing pending
        index = Project(ann);
        Assert.Equal(1, index.PendingCount);

        ann.Now = T0 + 61_000; // ABC's buy expires before the next command
        ann.Send(CommandKind.Sell, "XYZ", 50m);
        index = Project(ann);
        Assert.Equal(1, index.PendingCount);
        Assert.Equal(T0 + 121_000, index.EarliestDeadline("ann"));
        ann.Send(CommandKind.CancelSell);
        index = Project(ann);
        Assert.Equal((0, 0), (index.AccountCount, index.PendingCount));
        Assert.Null(index.EarliestDeadline("ann"));
        Assert.Empty(index.DueBy(long.MaxValue));
    }

    [Fact]
    public void Accounts_come_due_in_deadline_order_and_leave_when_nothing_is_pending()
    {
        var a = new Account("a");
        var b = new Account("b");
        b.Now = T0 - 5_000;
        foreach (var x in new[] { a, b })
        {
            x.Send(CommandKind.Add, amount: 1000m);
            x.Send(CommandKind.Buy, "ABC", 100m);
        }
        var index = Project(a, b);
        Assert.Empty(index.DueBy(T0 + 54_999));
        Assert.Equal([("b", T0 + 55_000)], index.DueBy(T0 + 55_000));
        Assert.Equal(["b", "a"], index.DueBy(T0 + 60_000).Select(d => d.User));

        var released = AccountDomain.Expire(b.State, T0 + 60_000, "t")!;
        Assert.Equal("b", index.Apply("account-b", released));
        Assert.Equal(["a"], index.DueBy(long.MaxValue).Select(d => d.User));
        Assert.Null(index.Apply("quote-manager", released)); // not an account's event
        Assert.Null(index.Apply("account-a", new CommandHandled(T0, "t", 9, null, CommandKind.Add, null, 5m, null, null, null, [new CashAdded(5m)])));
    }

    /// <summary>
    /// The journal matches a row's tags exactly, so an event may carry only one tag: no event changes both a trigger
    /// and a pending order, and the tagger gives every event that changes either exactly its tag.
    /// </summary>
    [Fact]
    public void Every_event_of_a_random_session_gets_at_most_one_tag_and_the_right_one()
    {
        var rng = new Random(13);
        var kinds = Enum.GetValues<CommandKind>().Where(k => k != CommandKind.DumpLog).ToArray();
        var tagger = new AccountEventTagger();
        var accounts = Enumerable.Range(0, 5).Select(i => new Account("u" + i)).ToArray();
        foreach (var acc in accounts) acc.Send(CommandKind.Add, amount: 5000m);
        for (var i = 0; i < 3000; i++)
        {
            var acc = accounts[rng.Next(accounts.Length)];
            acc.Now += rng.Next(0, 8_000);
            acc.Send(kinds[rng.Next(kinds.Length)], rng.Next(2) == 0 ? "ABC" : "XYZ", rng.Next(1, 300), 5m + rng.Next(0, 10));
            if (rng.Next(10) == 0)
            {
                foreach (var (sym, t) in acc.State.BuyTriggers.Where(t => t.Value.Armed).ToArray())
                {
                    var fired = AccountDomain.DecideTrigger(acc.State, TradeSide.Buy, sym, t.Version, new Quote(sym, 1m, acc.State.UserId, acc.Now, "k"), acc.Now, "t");
                    if (fired is not null) acc.Record(fired);
                }
            }
        }
        var pending = 0;
        foreach (var e in accounts.SelectMany(a => a.Events))
        {
            var triggers = AccountEventTags.TouchesTriggers(e);
            var orders = AccountEventTags.TouchesPending(e);
            Assert.False(triggers && orders, $"{e} touches both");
            var tags = tagger.ToJournal(e) is Tagged t ? t.Tags.ToArray() : [];
            Assert.Equal(triggers ? [AccountEventTags.Trigger] : orders ? [AccountEventTags.Pending] : Array.Empty<string>(), tags);
            if (orders) pending++;
        }
        Assert.True(pending > 500, $"only {pending} events with pending orders: the session does not exercise them");

        // The index agrees with the books: the same orders pending, with the same deadlines.
        var index = Project(accounts);
        foreach (var acc in accounts)
        {
            Assert.Equal(acc.State.EarliestExpiryMs(), index.EarliestDeadline(acc.State.UserId));
        }
        Assert.Equal(accounts.Sum(a => a.State.PendingBuys.Count + a.State.PendingSells.Count), index.PendingCount);
    }
}
