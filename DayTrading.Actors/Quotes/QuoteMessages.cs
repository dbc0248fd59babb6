namespace DayTrading.Quotes;

/// <summary>Asks the QuoteManager for a valid quote; answered with <see cref="QuoteResult"/>.</summary>
public sealed record GetQuote(string Symbol, string UserId);

/// <summary>A quote, or the reason there is none.</summary>
public sealed record QuoteResult(Quote? Quote, string? Error);
