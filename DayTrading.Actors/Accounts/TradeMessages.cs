namespace DayTrading.Accounts;

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
                : TradeReply.Failure(request, RefusalReason.OutcomeUnknown, $"internal error: {t.Exception?.GetBaseException().Message ?? "cancelled"}"));
        }, (request, sink, token), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
