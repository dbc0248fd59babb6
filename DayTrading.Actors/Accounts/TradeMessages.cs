namespace DayTrading.Accounts;

/// <summary>
/// One user command as it travels from an edge (TCP, web) to the user's account entity.
/// <para><see cref="UserId"/> is null only for the admin form of DUMPLOG.</para>
/// <para><see cref="RunId"/> names the client's run; with <see cref="TxNum"/> it makes a retry idempotent (SPEC §4).</para>
/// </summary>
public sealed record TradeRequest(
    long TxNum,
    CommandKind Kind,
    string? UserId,
    string? Symbol = null,
    decimal Amount = 0m,
    string? FileName = null,
    string? RunId = null);

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

/// <summary>
/// A <see cref="TradeRequest"/> on its way from a gateway to the account, tagged with the gateway's correlation id;
/// the account answers with a <see cref="GatewayReply"/> carrying the same id, so one long-lived reply target
/// serves every request (no temporary ask actor, timer or task per request).
/// </summary>
public sealed record GatewayRequest(long CorrelationId, TradeRequest Request);

/// <summary>The account's answer to a <see cref="GatewayRequest"/>.</summary>
public sealed record GatewayReply(long CorrelationId, TradeReply Reply);

/// <summary>Where <see cref="ITradeGateway.Submit"/> delivers a reply; <paramref name="token"/> is the submitter's own.</summary>
public interface ITradeReplySink
{
    /// <summary>Called once per submitted request, on whichever thread the reply arrived (keep it short, never block).</summary>
    void OnReply(long token, TradeReply reply);
}

/// <summary>What an edge hands its parsed requests to: routes them into the cluster and returns the one reply.</summary>
public interface ITradeGateway
{
    Task<TradeReply> Execute(TradeRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// The edge's hot path: runs <paramref name="request"/> and hands its one reply to <paramref name="sink"/> with
    /// <paramref name="token"/>. Never throws for a request: failures and time-outs come back as failed replies.
    /// </summary>
    void Submit(TradeRequest request, ITradeReplySink sink, long token) => ReplySinks.WhenDone(Execute(request), request, sink, token);

    /// <summary>
    /// A request line the edge refused before it reached any account (unknown command, bad value, overlong line…).
    /// The gateway records it durably (the audit log's errorEvent); the edge answers the client once this completes.
    /// </summary>
    /// <remarks>A refusal repeated under the same <paramref name="runId"/> and number is recorded once.</remarks>
    Task RecordRejected(long txNum, string? runId, string? command, string? userId, string reason);
}

public static class ReplySinks
{
    /// <summary>Hands the reply <paramref name="reply"/> completes with to <paramref name="sink"/>; a fault or cancellation as a failed reply.</summary>
    public static void WhenDone(Task<TradeReply> reply, TradeRequest request, ITradeReplySink sink, long token) =>
        reply.ContinueWith(static (t, state) =>
        {
            var (request, sink, token) = ((TradeRequest, ITradeReplySink, long))state!;
            sink.OnReply(token, t.IsCompletedSuccessfully
                ? t.Result
                : TradeReply.Failure(request, $"internal error: {t.Exception?.GetBaseException().Message ?? "cancelled"}"));
        }, (request, sink, token), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
