using DayTrading.Accounts;
using DayTrading.Quotes;

namespace DayTrading.Triggers;

/// <summary>One armed trigger as the index knows it: enough to ask its account to execute it.</summary>
public sealed record ArmedTrigger(string UserId, TradeSide Side, string Symbol, decimal Price, long Version, long TxNum);

/// <summary>
/// Symbol → armed triggers, built only from the accounts' persisted events (applied with the same
/// <see cref="AccountDomain.Apply"/> the accounts use, so trigger versions agree exactly). Rebuilding it from the
/// journal after a singleton move or a crash needs nobody's memory.
/// </summary>
public sealed class TriggerIndex
{
    private const string AccountPrefix = "account-";

    private readonly Dictionary<string, AccountState> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<(string User, TradeSide Side), ArmedTrigger>> _bySymbol = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ArmedTrigger>> _byUser = new(StringComparer.Ordinal);

    public int ArmedCount { get; private set; }

    public IReadOnlyCollection<string> WatchedSymbols => _bySymbol.Keys;

    /// <summary>
    /// Applies one journal event; anything that is not an account's event is ignored. Returns the user whose
    /// triggers changed (armed, re-sized, re-priced, cancelled, fired), or null.
    /// </summary>
    public string? Apply(string persistenceId, object payload)
    {
        if (payload is not AccountEvent e || !persistenceId.StartsWith(AccountPrefix, StringComparison.Ordinal)) return null;
        var user = persistenceId[AccountPrefix.Length..];
        if (!_accounts.TryGetValue(user, out var state))
        {
            _accounts[user] = state = new AccountState(user);
        }
        AccountDomain.Apply(state, e);
        if (!AccountEventTags.TouchesTriggers(e)) return null;
        Reindex(state);
        return user;
    }

    /// <summary>The armed triggers that <paramref name="quote"/> crosses: buys at or above it, sells at or below it.</summary>
    public IEnumerable<ArmedTrigger> CrossedBy(Quote quote)
    {
        if (!_bySymbol.TryGetValue(quote.Symbol, out var triggers)) yield break;
        foreach (var t in triggers.Values)
        {
            if (Crosses(t, quote)) yield return t;
        }
    }

    /// <summary>Whether <paramref name="quote"/> (of the trigger's symbol) crosses it: at or below a buy's price, at or above a sell's.</summary>
    public static bool Crosses(ArmedTrigger t, Quote quote) => t.Side == TradeSide.Buy ? quote.Price <= t.Price : quote.Price >= t.Price;

    /// <summary>The armed triggers of <paramref name="user"/>.</summary>
    public IReadOnlyList<ArmedTrigger> ArmedOf(string user) =>
        _byUser.TryGetValue(user, out var triggers) ? triggers : [];

    /// <summary>The armed triggers on <paramref name="symbol"/>.</summary>
    public IEnumerable<ArmedTrigger> On(string symbol) =>
        _bySymbol.TryGetValue(symbol, out var triggers) ? triggers.Values : [];

    private void Reindex(AccountState state)
    {
        if (_byUser.Remove(state.UserId, out var previous))
        {
            foreach (var t in previous)
            {
                var bucket = _bySymbol[t.Symbol];
                bucket.Remove((t.UserId, t.Side));
                if (bucket.Count == 0) _bySymbol.Remove(t.Symbol);
                ArmedCount--;
            }
        }
        List<ArmedTrigger>? current = null;
        foreach (var b in state.BuyTriggers.Values)
        {
            if (b.Armed) (current ??= []).Add(new ArmedTrigger(state.UserId, TradeSide.Buy, b.Symbol, b.Price!.Value, b.Version, b.TxNum));
        }
        foreach (var s in state.SellTriggers.Values)
        {
            if (s.Armed) (current ??= []).Add(new ArmedTrigger(state.UserId, TradeSide.Sell, s.Symbol, s.Price!.Value, s.Version, s.TxNum));
        }
        if (current is null) return;
        _byUser[state.UserId] = current;
        foreach (var t in current)
        {
            if (!_bySymbol.TryGetValue(t.Symbol, out var bucket)) _bySymbol[t.Symbol] = bucket = new();
            bucket[(t.UserId, t.Side)] = t;
            ArmedCount++;
        }
    }
}
