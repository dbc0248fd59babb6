namespace DayTrading.Accounts;

/// <summary>
/// The one answer to a <see cref="TradeRequest"/>, typed: <see cref="Ok"/>, or <see cref="Reason"/> with the detail
/// in <see cref="Error"/>; for QUOTE, BUY and SELL the <see cref="Quote"/> used and the <see cref="Shares"/> bought or
/// sold. <see cref="Body"/> is the result as the TCP wire shows it (docs/PROTOCOL.md), made from those fields; the web
/// answers from the fields themselves. A summary (DISPLAY_SUMMARY) is kept as the UTF-8 JSON it was written in: the
/// TCP edge, the web and the remote serializer pass those bytes on as they are.
/// </summary>
public sealed class TradeReply : IEquatable<TradeReply>
{
    private string? _body;

    public TradeReply(long txNum, CommandKind kind, bool ok, string? error = null, string? body = null,
        RefusalReason reason = RefusalReason.None, QuoteUsed? quote = null, int shares = 0)
    {
        TxNum = txNum;
        Kind = kind;
        Ok = ok;
        Error = error;
        _body = body;
        Reason = ok ? RefusalReason.None : reason;
        Quote = quote;
        Shares = shares;
    }

    private TradeReply(long txNum, CommandKind kind, byte[] utf8Body)
    {
        TxNum = txNum;
        Kind = kind;
        Ok = true;
        Utf8Body = utf8Body;
    }

    public long TxNum { get; }
    public CommandKind Kind { get; }
    public bool Ok { get; }
    public string? Error { get; }

    /// <summary>Why it failed; <see cref="RefusalReason.None"/> when <see cref="Ok"/>.</summary>
    public RefusalReason Reason { get; }

    /// <summary>The quote a QUOTE, BUY or SELL used; otherwise null.</summary>
    public QuoteUsed? Quote { get; }

    /// <summary>Shares a BUY or SELL reserved; 0 for other commands.</summary>
    public int Shares { get; }

    /// <summary>The body when it was made as UTF-8 bytes (see the class remarks); otherwise null.</summary>
    public byte[]? Utf8Body { get; }

    public string? Body => _body ??= Utf8Body is null ? null : System.Text.Encoding.UTF8.GetString(Utf8Body);

    public static TradeReply Success(TradeRequest r, string? body = null, QuoteUsed? quote = null, int shares = 0) =>
        new(r.TxNum, r.Kind, true, null, body, RefusalReason.None, quote, shares);

    public static TradeReply Success(long txNum, CommandKind kind, byte[] utf8Body) => new(txNum, kind, utf8Body);

    public static TradeReply Failure(TradeRequest r, RefusalReason reason, string error) => new(r.TxNum, r.Kind, false, error, null, reason);

    public bool Equals(TradeReply? other) =>
        other is not null && TxNum == other.TxNum && Kind == other.Kind && Ok == other.Ok && Error == other.Error &&
        Reason == other.Reason && Shares == other.Shares && Equals(Quote, other.Quote) &&
        (Utf8Body is not null && other.Utf8Body is not null ? Utf8Body.AsSpan().SequenceEqual(other.Utf8Body) : Body == other.Body);

    public override bool Equals(object? obj) => obj is TradeReply r && Equals(r);

    public override int GetHashCode() => HashCode.Combine(TxNum, Kind, Ok, Error, Reason);

    public override string ToString() => $"TradeReply {{ TxNum = {TxNum}, Kind = {Kind}, Ok = {Ok}, Reason = {Reason}, Error = {Error}, Body = {Body} }}";
}
