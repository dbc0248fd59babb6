namespace DayTrading.Quotes;

/// <summary>
/// Asks the QuoteManager for a valid quote; answered with <see cref="QuoteResult"/>. <see cref="TxNum"/> is the
/// request that needs it, recorded with a quote-server hit it causes (the audit log's quoteServer entry).
/// </summary>
public sealed record GetQuote(string Symbol, string UserId, long TxNum);

/// <summary>A quote, or the reason there is none.</summary>
public sealed record QuoteResult(Quote? Quote, string? Error);
