using System.Globalization;

namespace DayTrading.Accounts;

/// <summary>
/// The bodies of successful replies, as the wire shows them (docs/PROTOCOL.md):
/// QUOTE: <c>price,SYM,user,quoteTimeMs,cryptokey</c> (the legacy quote line);
/// BUY / SELL: <c>shares,SYM,price,amount,quoteTimeMs,cryptokey</c>;
/// DISPLAY_SUMMARY: the <see cref="AccountSummary"/> as one line of JSON; other commands: no body.
/// </summary>
public static class AccountReplies
{
    public static TradeReply For(TradeRequest request, AccountState state, RememberedOutcome outcome, long nowMs)
    {
        if (outcome.Error is not null) return TradeReply.Failure(request, outcome.Reason, outcome.Error);
        return Success(request, state, outcome.Quote, outcome.Shares, nowMs);
    }

    /// <summary>The successful reply; a summary as the UTF-8 JSON it is written in (no string on the way).</summary>
    public static TradeReply Success(TradeRequest request, AccountState state, QuoteUsed? quote, int shares, long nowMs) =>
        request.Kind == CommandKind.DisplaySummary
            ? TradeReply.Success(request.TxNum, request.Kind, AccountSummary.JsonUtf8(state, nowMs))
            : TradeReply.Success(request, Body(request.Kind, state, quote, shares, nowMs), quote, shares);

    public static string? Body(CommandKind kind, AccountState state, QuoteUsed? quote, int shares, long nowMs)
    {
        switch (kind)
        {
            case CommandKind.Quote when quote is not null:
                return string.Create(CultureInfo.InvariantCulture,
                    $"{Rules.FormatMoney(quote.Price)},{quote.Symbol},{state.UserId},{quote.QuoteTimeMs},{quote.CryptoKey}");
            case CommandKind.Buy or CommandKind.Sell when quote is not null:
                return string.Create(CultureInfo.InvariantCulture,
                    $"{shares},{quote.Symbol},{Rules.FormatMoney(quote.Price)},{Rules.FormatMoney(shares * quote.Price)},{quote.QuoteTimeMs},{quote.CryptoKey}");
            case CommandKind.DisplaySummary:
                return AccountSummary.Json(state, nowMs);
            default:
                return null;
        }
    }

    public static int SharesOf(CommandHandled e)
    {
        foreach (var c in e.Changes)
        {
            if (c is BuyReserved b) return b.Shares;
            if (c is SellReserved s) return s.Shares;
        }
        return 0;
    }
}
