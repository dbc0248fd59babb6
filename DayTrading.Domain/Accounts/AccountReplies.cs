namespace DayTrading.Accounts;

/// <summary>
/// The account's replies, typed: a QUOTE, BUY or SELL carries the quote used and the shares (its wire text is the
/// TCP edge's to write, docs/PROTOCOL.md); DISPLAY_SUMMARY the <see cref="AccountSummary"/> as one line of UTF-8 JSON;
/// other commands nothing.
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
            : TradeReply.Success(request, null, quote, shares);

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
