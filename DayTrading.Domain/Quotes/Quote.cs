namespace DayTrading.Quotes;

/// <summary>
/// One answer of the legacy quote server: <c>price,SYM,userid,timestampMillis,cryptokey</c>.
/// A quote is valid for 60 s from <see cref="TimestampMs"/> (the quote server's clock, SPEC §3).
/// </summary>
public sealed record Quote(string Symbol, decimal Price, string UserId, long TimestampMs, string CryptoKey)
{
    public const long ValidityMs = 60_000;

    /// <summary>What one hit on the legacy quote server costs, in dollars (each hit costs money, SPEC §3; the course figure).</summary>
    public const decimal CostPerHit = 0.05m;

    public bool IsValidAt(long nowMs) => nowMs >= TimestampMs - ValidityMs && nowMs < TimestampMs + ValidityMs;

    public long ExpiresAtMs => TimestampMs + ValidityMs;
}

/// <summary>Where quotes come from: the in-process simulator or the legacy quote server over TCP.</summary>
public interface IQuoteSource
{
    /// <summary>One hit on the quote server. Throws <see cref="QuoteUnavailableException"/> with a clear reason on failure.</summary>
    Task<Quote> FetchAsync(string symbol, string userId, CancellationToken cancellationToken = default);
}

public sealed class QuoteUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
