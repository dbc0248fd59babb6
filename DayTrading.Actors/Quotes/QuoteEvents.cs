namespace DayTrading.Quotes;

/// <summary>
/// One hit on the legacy quote server, persisted by the QuoteManager before the quote is used: after the singleton
/// moves, a quote still valid is not fetched again, and the audit log lists every hit (its quoteServer entries).
/// <see cref="TxNum"/> is the request that caused the hit (0 for a trigger refresh, audited under the trigger's).
/// </summary>
public sealed record QuoteFetched(long TimestampMs, string Server, long TxNum, Quote Quote);
