using System.Collections.Concurrent;

namespace DayTrading.Quotes;

/// <summary>
/// This node's copy of every quote the cluster has fetched, fed by the QuoteManager's broadcasts and by its replies.
/// Accounts read it synchronously, so a QUOTE, BUY or SELL on a symbol quoted in the last 60 s never leaves the node.
/// </summary>
public sealed class NodeQuoteCache
{
    private readonly ConcurrentDictionary<string, Quote> _quotes = new(StringComparer.Ordinal);

    public bool TryGetValid(string symbol, long nowMs, out Quote quote)
    {
        if (_quotes.TryGetValue(symbol, out var q) && q.IsValidAt(nowMs))
        {
            quote = q;
            return true;
        }
        quote = null!;
        return false;
    }

    /// <summary>Keeps the newest quote per symbol; an older one arriving late changes nothing.</summary>
    public void Put(Quote quote) =>
        _quotes.AddOrUpdate(quote.Symbol, quote, (_, existing) => quote.TimestampMs >= existing.TimestampMs ? quote : existing);

    public int Count => _quotes.Count;
}
