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

/// <summary>What an edge hands its parsed requests to: routes them into the cluster and returns the one reply.</summary>
public interface ITradeGateway
{
    Task<TradeReply> Execute(TradeRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// A request line the edge refused before it reached any account (unknown command, bad value, overlong line…).
    /// The gateway records it durably (the audit log's errorEvent); the edge answers the client once this completes.
    /// </summary>
    /// <remarks>A refusal repeated under the same <paramref name="runId"/> and number is recorded once.</remarks>
    Task RecordRejected(long txNum, string? runId, string? command, string? userId, string reason);
}
