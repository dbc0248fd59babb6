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
/// </summary>
public sealed record TradeReply(long TxNum, CommandKind Kind, bool Ok, string? Error = null, string? Body = null)
{
    public static TradeReply Success(TradeRequest r, string? body = null) => new(r.TxNum, r.Kind, true, null, body);
    public static TradeReply Failure(TradeRequest r, string error) => new(r.TxNum, r.Kind, false, error, null);
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
