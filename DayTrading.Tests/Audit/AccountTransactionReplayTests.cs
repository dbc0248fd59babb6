using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Quotes;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>
/// The accountTransaction entries are exactly the changes of a user's total money: summing add − remove over the
/// projected journal of a random session (commands, trigger fires, expiries) gives Cash + ReservedCash, at every step.
/// </summary>
public sealed class AccountTransactionReplayTests
{
    private const string User = "alice";
    private const string Pid = AuditProjection.AccountPersistenceIdPrefix + User;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Replaying_accountTransactions_gives_cash_plus_reserved_cash(int seed)
    {
        var random = new Random(seed);
        var state = new AccountState(User);
        var now = 1_764_072_000_000L;
        long tx = 0;
        var symbols = new[] { "A", "BB", "CCC" };
        var kinds = Enum.GetValues<CommandKind>();
        decimal replayed = 0;
        int fires = 0, expiries = 0, commits = 0;

        void Persist(AccountEvent e)
        {
            AccountDomain.Apply(state, e);
            foreach (var entry in AuditProjection.Project(Pid, e))
            {
                if (entry.Kind != AuditEntryKind.AccountTransaction) continue;
                Assert.Equal(User, entry.Username);
                Assert.True(entry.Funds > 0);
                replayed += entry.Action switch
                {
                    AuditProjection.AddAction => entry.Funds!.Value,
                    AuditProjection.RemoveAction => -entry.Funds!.Value,
                    _ => throw new InvalidOperationException(entry.Action),
                };
            }
            Assert.Equal(state.Cash + state.ReservedCash, replayed);
        }

        Persist(AccountDomain.Decide(state, new TradeRequest(++tx, CommandKind.Add, User, null, 5_000m), null, now, "t"));
        for (var i = 0; i < 3_000; i++)
        {
            now += random.Next(0, 9_000);
            if (AccountDomain.Expire(state, now, "t") is { } expired)
            {
                expiries++;
                Persist(expired);
            }
            var kind = random.Next(4) == 0 ? CommandKind.Add : kinds[random.Next(kinds.Length)];
            var sym = symbols[random.Next(symbols.Length)];
            var amount = kind == CommandKind.Add ? random.Next(1, 500) : Math.Round(random.Next(1, 100_000) / 100m, 2);
            var quote = new Quote(sym, Math.Round(random.Next(100, 9_000) / 100m, 2), User, now, "k");
            var handled = AccountDomain.Decide(state, new TradeRequest(++tx, kind, User, sym, amount), quote, now, "t");
            if (handled.Ok && kind is CommandKind.CommitBuy or CommandKind.CommitSell) commits++;
            Persist(handled);

            if (random.Next(4) != 0) continue;
            var side = random.Next(2) == 0 ? TradeSide.Buy : TradeSide.Sell;
            long? version = side == TradeSide.Buy
                ? state.BuyTriggers.GetValueOrDefault(sym)?.Version
                : state.SellTriggers.GetValueOrDefault(sym)?.Version;
            if (version is null) continue;
            if (AccountDomain.DecideTrigger(state, side, sym, version.Value, quote, now, "t") is { } fired)
            {
                fires++;
                Persist(fired);
            }
        }
        // The session really exercised what the rule is about.
        Assert.True(fires > 5 && expiries > 5 && commits > 5, $"fires {fires}, expiries {expiries}, commits {commits}");
    }
}
