using DayTrading.Accounts;

namespace DayTrading.Serialization;

/// <summary>
/// The reason of a refusal persisted (CH1) or sent (TP, GRP) before reasons had a code of their own, read back from
/// its text: those texts came from <see cref="AccountDomain"/> and the gateway, whose wording is fixed for them.
/// Only the readers of those old manifests use it; everything newer carries the code.
/// </summary>
internal static class LegacyRefusals
{
    public static RefusalReason FromText(string? error)
    {
        if (error is null) return RefusalReason.None;
        bool Starts(string prefix) => error.StartsWith(prefix, StringComparison.Ordinal);
        bool Has(string part) => error.Contains(part, StringComparison.Ordinal);
        if (Starts("unknown user")) return RefusalReason.UnknownUser;
        if (Starts("request for user")) return RefusalReason.Misrouted;
        if (Has("is not a stock symbol")) return RefusalReason.InvalidSymbol;
        if (Starts("amount ") && Has("must be > 0")) return RefusalReason.InvalidAmount;
        if (Starts("quote ") || Starts("no quote")) return RefusalReason.QuoteUnavailable;
        if (Starts("insufficient funds")) return RefusalReason.InsufficientFunds;
        if (Starts("insufficient shares") || Starts("no shares of")) return RefusalReason.InsufficientShares;
        if (Has("buys no share") || Has("less than one share")) return RefusalReason.AmountTooSmall;
        if (Starts("no pending")) return RefusalReason.NothingPending;
        if (Starts("no buy amount") || Starts("no sell amount")) return RefusalReason.NotSet;
        if (Starts("balance would exceed") || Has("above the limit")) return RefusalReason.LimitExceeded;
        if (Starts("unsupported command")) return RefusalReason.Unsupported;
        if (Has("was already used for a different request")) return RefusalReason.InvalidRequest;
        if (Starts("no answer from account") || Starts("internal error")) return RefusalReason.OutcomeUnknown;
        return RefusalReason.NotDone;
    }
}
