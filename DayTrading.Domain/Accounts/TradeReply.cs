namespace DayTrading.Accounts;

/// <summary>
/// The one answer to a <see cref="TradeRequest"/>. <see cref="Body"/> is the command's result as the wire shows it
/// (a quote line, a summary as JSON, …) or null; <see cref="Error"/> is the reason when <see cref="Ok"/> is false.
/// A large body (the summary) is kept as the UTF-8 it was written in: the TCP edge and the remote serializer copy
/// those bytes as they are, and only a reader of <see cref="Body"/> (the web) decodes it.
/// </summary>
public sealed class TradeReply : IEquatable<TradeReply>
{
    private string? _body;

    public TradeReply(long txNum, CommandKind kind, bool ok, string? error = null, string? body = null)
    {
        TxNum = txNum;
        Kind = kind;
        Ok = ok;
        Error = error;
        _body = body;
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

    /// <summary>The body when it was made as UTF-8 bytes (see the class remarks); otherwise null.</summary>
    public byte[]? Utf8Body { get; }

    public string? Body => _body ??= Utf8Body is null ? null : System.Text.Encoding.UTF8.GetString(Utf8Body);

    public static TradeReply Success(TradeRequest r, string? body = null) => new(r.TxNum, r.Kind, true, null, body);
    public static TradeReply Success(long txNum, CommandKind kind, byte[] utf8Body) => new(txNum, kind, utf8Body);
    public static TradeReply Failure(TradeRequest r, string error) => new(r.TxNum, r.Kind, false, error, null);

    public bool Equals(TradeReply? other) =>
        other is not null && TxNum == other.TxNum && Kind == other.Kind && Ok == other.Ok && Error == other.Error &&
        (Utf8Body is not null && other.Utf8Body is not null ? Utf8Body.AsSpan().SequenceEqual(other.Utf8Body) : Body == other.Body);

    public override bool Equals(object? obj) => obj is TradeReply r && Equals(r);

    public override int GetHashCode() => HashCode.Combine(TxNum, Kind, Ok, Error);

    public override string ToString() => $"TradeReply {{ TxNum = {TxNum}, Kind = {Kind}, Ok = {Ok}, Error = {Error}, Body = {Body} }}";
}
