using DayTrading.Accounts;
using DayTrading.Edge;
using DayTrading.Loadgen.Client;
using DayTrading.Loadgen.Workloads;
using DayTrading.Quotes;
using Xunit;

namespace DayTrading.Tests.Support;

/// <summary>A quote source whose price depends only on the symbol, so a test can know every quote the node used.</summary>
public sealed class FixedQuoteSource(TimeProvider? clock = null) : IQuoteSource
{
    private long _hits;

    public long Hits => Interlocked.Read(ref _hits);

    public static decimal PriceOf(string symbol)
    {
        var h = 17;
        foreach (var c in symbol) h = h * 31 + c;
        return 5m + (h & 0x7FFF) % 40_000 / 100m;
    }

    public Task<Quote> FetchAsync(string symbol, string userId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _hits);
        var now = (clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds();
        return Task.FromResult(new Quote(symbol, PriceOf(symbol), userId, now, "fixed-" + symbol));
    }
}

/// <summary>
/// The pure domain run over the same commands a node was sent, one user at a time: what every user's books must
/// be, and what every request's outcome must have been.
/// </summary>
public sealed class ReferenceModel
{
    private readonly Dictionary<string, AccountState> _accounts = new(StringComparer.Ordinal);
    private readonly TxNumberGenerator _numbers = new(1);

    public IReadOnlyDictionary<string, AccountState> Accounts => _accounts;

    /// <summary>
    /// Applies one workload line. <paramref name="quoteFor"/> gives the quote for QUOTE/BUY/SELL (null: the node
    /// reported an error and did not say which quote it saw). Returns the model's outcome, or null when the line is
    /// refused by the parser (it never reaches an account).
    /// </summary>
    public CommandHandled? Apply(WorkloadCommand command, Func<TradeRequest, Quote?> quoteFor, long nowMs)
    {
        var parsed = LineParser.Parse(command.Line, null, _numbers);
        if (parsed.Kind != ParsedLineKind.Request || parsed.Request!.UserId is null) return null;
        var request = parsed.Request;
        if (!_accounts.TryGetValue(request.UserId!, out var state))
        {
            _accounts[request.UserId!] = state = new AccountState(request.UserId!);
        }
        var expired = AccountDomain.Expire(state, nowMs, "model");
        if (expired is not null) AccountDomain.Apply(state, expired);
        var quote = AccountDomain.NeedsQuote(request.Kind) ? quoteFor(request) : null;
        var handled = AccountDomain.Decide(state, request, quote, nowMs, "model", quote is null ? "no quote reported" : null);
        AccountDomain.Apply(state, handled);
        return handled;
    }

    /// <summary>
    /// Applies a trigger execution the node journaled (when a trigger fires depends on quote timing, so the model
    /// takes the moment from the journal) after checking it: the model must hold that trigger armed, the quote must
    /// cross it, and the execution must be exactly what the pure domain decides. A trigger fired twice fails here,
    /// because the first execution disarmed it.
    /// </summary>
    public void ApplyTrigger(string user, TriggerExecuted fired, long nowMs)
    {
        Assert.True(_accounts.TryGetValue(user, out var state), $"{user}: a trigger fired for an account the model does not know");
        var (side, symbol) = fired.Change switch
        {
            BuyTriggerFired b => (TradeSide.Buy, b.Symbol),
            SellTriggerFired x => (TradeSide.Sell, x.Symbol),
            _ => throw new InvalidOperationException($"unexpected trigger change {fired.Change}"),
        };
        long? version = side == TradeSide.Buy
            ? state!.BuyTriggers.TryGetValue(symbol, out var bt) && bt.Armed ? bt.Version : null
            : state!.SellTriggers.TryGetValue(symbol, out var st) && st.Armed ? st.Version : null;
        Assert.True(version is not null, $"{user}: {side} trigger on {symbol} (armed by tx {fired.TxNum}) fired, but the model holds none armed: fired twice?");
        var quote = new Quote(symbol, fired.Quote.Price, user, nowMs, fired.Quote.CryptoKey);
        var expected = AccountDomain.DecideTrigger(state, side, symbol, version!.Value, quote, nowMs, "model");
        Assert.True(expected is not null, $"{user}: {side} trigger on {symbol} fired at {fired.Quote.Price}, which the model says does not execute it");
        Assert.Equal(expected!.TxNum, fired.TxNum);
        Assert.Equal(expected.Change, fired.Change);
        AccountDomain.Apply(state, expected);
    }

    /// <summary>Applies reservations the node released on expiry (their moment, too, is the node's clock).</summary>
    public void ApplyExpiry(string user, ReservationsExpired expired)
    {
        Assert.True(_accounts.TryGetValue(user, out var state), $"{user}: an expiry for an account the model does not know");
        AccountDomain.Apply(state!, expired);
    }

    /// <summary>Asserts a node's DISPLAY_SUMMARY equals the model's books, ignoring only clock-dependent fields.</summary>
    public static void AssertSameBooks(AccountState expected, AccountSummary actual)
    {
        var model = AccountSummary.From(expected, 0);
        Assert.Equal(model.User, actual.User);
        Assert.Equal(model.Cash, actual.Cash);
        Assert.Equal(model.ReservedCash, actual.ReservedCash);
        Assert.Equal(model.Holdings, actual.Holdings);
        Assert.Equal(model.BuyTriggers, actual.BuyTriggers);
        Assert.Equal(model.SellTriggers, actual.SellTriggers);
        Assert.Equal(model.PendingBuys.Select(p => (p.OrderId, p.Symbol, p.Shares, p.Price)), actual.PendingBuys.Select(p => (p.OrderId, p.Symbol, p.Shares, p.Price)));
        Assert.Equal(model.PendingSells.Select(p => (p.OrderId, p.Symbol, p.Shares, p.Price)), actual.PendingSells.Select(p => (p.OrderId, p.Symbol, p.Shares, p.Price)));
        Assert.Equal(model.HistoryTotal, actual.HistoryTotal);
        Assert.Equal(model.History.Select(h => (h.Kind, h.Symbol, h.Shares, h.Price, h.Amount, h.TxNum)),
            actual.History.Select(h => (h.Kind, h.Symbol, h.Shares, h.Price, h.Amount, h.TxNum)));
    }

    /// <summary>The quote a successful QUOTE, BUY or SELL reply reports (docs/PROTOCOL.md), or null.</summary>
    public static Quote? QuoteInReply(TradeRequest request, EdgeResponse response)
    {
        if (!response.Ok || response.Body is null) return null;
        var f = response.Body.Split(',');
        return request.Kind switch
        {
            CommandKind.Quote => new Quote(f[1], decimal.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture), f[2], long.Parse(f[3]), f[4]),
            CommandKind.Buy or CommandKind.Sell => new Quote(f[1], decimal.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture), request.UserId!, long.Parse(f[4]), f[5]),
            _ => null,
        };
    }
}
