namespace DayTrading.Accounts;

// Persisted event shapes: a versioned contract (see Serialization/DayTradingSerializer). Add fields only in a new
// version of the manifest; never change what an existing one means.

/// <summary>Anything an account persists.</summary>
public abstract record AccountEvent(long TimestampMs, string Server);

/// <summary>
/// One user request, handled: the command as it was sent, its outcome, and the state changes it made.
/// Every request that reaches an account is persisted as exactly one of these, success or error, so the journal is
/// the durable source of the audit log's userCommand, accountTransaction and errorEvent entries, and of the
/// idempotency memory for retried (RunId, TxNum) pairs.
/// </summary>
public sealed record CommandHandled(
    long TimestampMs,
    string Server,
    long TxNum,
    string? RunId,
    CommandKind Kind,
    string? Symbol,
    decimal Amount,
    string? FileName,
    string? Error,
    QuoteUsed? Quote,
    AccountChange[] Changes,
    RefusalReason Reason = RefusalReason.None) : AccountEvent(TimestampMs, Server)
{
    public bool Ok => Error is null;
}

/// <summary>Pending buys/sells whose 60 s ran out; their reservations return (SPEC §2). Audited as a systemEvent.</summary>
public sealed record ReservationsExpired(long TimestampMs, string Server, AccountChange[] Changes)
    : AccountEvent(TimestampMs, Server);

/// <summary>
/// A buy or sell trigger fired on a quote that crossed it. Audited as a systemEvent carrying
/// <see cref="TxNum"/>, the transaction number of the command that armed the trigger.
/// </summary>
public sealed record TriggerExecuted(long TimestampMs, string Server, long TxNum, QuoteUsed Quote, AccountChange Change)
    : AccountEvent(TimestampMs, Server);

/// <summary>The quote a command or trigger used, kept with the event so a retry can be answered exactly.</summary>
public sealed record QuoteUsed(string Symbol, decimal Price, long QuoteTimeMs, string CryptoKey);

public enum ReleaseReason : byte
{
    Cancelled = 1,
    Expired = 2,
}

public enum TradeSide : byte
{
    Buy = 1,
    Sell = 2,
}

/// <summary>One change of an account's books. Each carries what the audit log needs without the prior state.</summary>
public abstract record AccountChange;

public sealed record CashAdded(decimal Amount) : AccountChange;

public sealed record BuyReserved(long OrderId, string Symbol, int Shares, decimal Price, long IssuedMs, long ExpiresMs)
    : AccountChange
{
    public decimal Cost => Shares * Price;
}

public sealed record BuyCommitted(long OrderId, string Symbol, int Shares, decimal Cost) : AccountChange;

/// <summary>A pending buy cancelled or expired; <see cref="TxNum"/> is the BUY's transaction number.</summary>
public sealed record BuyReleased(long OrderId, string Symbol, decimal Cost, ReleaseReason Reason, long TxNum) : AccountChange;

public sealed record SellReserved(long OrderId, string Symbol, int Shares, decimal Price, long IssuedMs, long ExpiresMs)
    : AccountChange
{
    public decimal Proceeds => Shares * Price;
}

public sealed record SellCommitted(long OrderId, string Symbol, int Shares, decimal Proceeds) : AccountChange;

/// <summary>A pending sell cancelled or expired; <see cref="TxNum"/> is the SELL's transaction number.</summary>
public sealed record SellReleased(long OrderId, string Symbol, int Shares, ReleaseReason Reason, long TxNum) : AccountChange;

/// <summary>The buy reserve for a symbol is now <see cref="Reserve"/>; <see cref="CashMoved"/> left cash (negative: returned).</summary>
public sealed record BuyAmountSet(string Symbol, decimal Reserve, decimal CashMoved) : AccountChange;

public sealed record BuyTriggerSet(string Symbol, decimal Price) : AccountChange;

public sealed record BuyTriggerCancelled(string Symbol, decimal Refund) : AccountChange;

/// <summary>A buy trigger fired: <see cref="Shares"/> bought for <see cref="Cost"/>; <see cref="Refund"/> of the reserve returned to cash.</summary>
public sealed record BuyTriggerFired(string Symbol, decimal Price, int Shares, decimal Cost, decimal Refund) : AccountChange;

/// <summary>The sell amount for a symbol; <see cref="ReservedShares"/> is the armed trigger's reservation after the change (0 if not armed).</summary>
public sealed record SellAmountSet(string Symbol, decimal Amount, int ReservedShares) : AccountChange;

public sealed record SellTriggerSet(string Symbol, decimal Price, int ReservedShares) : AccountChange;

public sealed record SellTriggerCancelled(string Symbol, int ReturnedShares) : AccountChange;

public sealed record SellTriggerFired(string Symbol, decimal Price, int Shares, decimal Proceeds) : AccountChange;
