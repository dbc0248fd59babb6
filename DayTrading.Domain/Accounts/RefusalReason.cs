namespace DayTrading.Accounts;

/// <summary>
/// Why a request was refused or failed, as a code the edges act on (the web's status code, a client's choice to
/// retry); the human-readable detail beside it (<see cref="TradeReply.Error"/>) is what the wire shows.
/// Persisted in <see cref="CommandHandled"/> (manifest CH2) and sent in replies: values are never renumbered.
/// </summary>
public enum RefusalReason : byte
{
    None = 0,
    /// <summary>No ADD yet for this user id.</summary>
    UnknownUser = 1,
    InvalidSymbol = 2,
    InvalidAmount = 3,
    /// <summary>No valid quote could be had for the symbol (the quote server failed, was slow, or answered amiss).</summary>
    QuoteUnavailable = 4,
    InsufficientFunds = 5,
    InsufficientShares = 6,
    /// <summary>The amount buys or sells no whole share at the price.</summary>
    AmountTooSmall = 7,
    /// <summary>COMMIT/CANCEL with no pending buy or sell.</summary>
    NothingPending = 8,
    /// <summary>A trigger command for a symbol with no amount or trigger set.</summary>
    NotSet = 9,
    /// <summary>Over a documented limit (shares per symbol, the balance).</summary>
    LimitExceeded = 10,
    /// <summary>The request reached another user's account (a routing fault; nothing was done).</summary>
    Misrouted = 11,
    Unsupported = 12,
    /// <summary>No answer in time: the request may or may not have taken effect; retry with the same run id and number.</summary>
    OutcomeUnknown = 13,
    /// <summary>Nothing was done (a write refused, an earlier outcome unreadable, an internal fault): send it again.</summary>
    NotDone = 14,
    /// <summary>The request line or its values were refused before any account (the edge's checks).</summary>
    InvalidRequest = 15,
    /// <summary>A DUMPLOG could not be written.</summary>
    DumpFailed = 16,
}
