using Akka;
using Akka.Actor;
using DayTrading.Audit;

namespace DayTrading.Accounts;

/// <summary>What one edge's gateway needs. <see cref="Admin"/>: this edge may run the system-wide DUMPLOG.</summary>
public sealed record GatewaySettings(
    IActorRef AccountRegion,
    IActorRef AuditRecorder,
    IActorRef Auditor,
    string ServerName,
    TimeProvider Clock,
    string DumpDirectory,
    bool Admin)
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a DUMPLOG may take to write (a dump of millions of entries streams for a while).</summary>
    public TimeSpan DumpTimeout { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// The edges' way into the cluster: each request goes to its trader's entity, wherever that lives; DUMPLOG is
/// recorded like any request, then the Auditor singleton writes it from the journal (the audit store).
/// </summary>
public sealed class ClusterTradeGateway(GatewaySettings settings) : ITradeGateway
{
    private long Now => settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<TradeReply> Execute(TradeRequest request, CancellationToken cancellationToken = default)
    {
        if (request.Kind == CommandKind.DumpLog) return await DumpLog(request, cancellationToken).ConfigureAwait(false);
        return await Ask(request, cancellationToken).ConfigureAwait(false);
    }

    public Task RecordRejected(long txNum, string? runId, string? command, string? userId, string reason) =>
        settings.AuditRecorder.Ask<Done>(new RequestRejected(Now, settings.ServerName, txNum, runId, command, userId, null, null, null, reason), settings.Timeout);

    private async Task<TradeReply> Ask(TradeRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await settings.AccountRegion.Ask<TradeReply>(request, settings.Timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            return TradeReply.Failure(request, $"no answer from account {request.UserId} within {settings.Timeout.TotalSeconds:0} s; the outcome is unknown, retry with the same run id and transaction number");
        }
    }

    private async Task<TradeReply> DumpLog(TradeRequest request, CancellationToken cancellationToken)
    {
        // Checked here against this node's dump directory so a refusal is recorded like every refused request;
        // the Auditor checks again where it writes.
        string? refusal = null;
        if (request.UserId is null && !settings.Admin) refusal = "DUMPLOG without a user is for administrators; this edge is not an admin edge";
        else if (!DumpPaths.TryResolve(settings.DumpDirectory, request.FileName ?? "", out _, out var pathError)) refusal = pathError;
        if (refusal is not null)
        {
            await RecordRefusal(request, refusal).ConfigureAwait(false);
            return TradeReply.Failure(request, refusal);
        }

        // The request is recorded first (it is part of the log it dumps), like every other request.
        if (request.UserId is null)
        {
            await settings.AuditRecorder.Ask<Done>(new AdminDumpRequested(Now, settings.ServerName, request.TxNum, request.RunId, request.FileName!, null), settings.Timeout)
                .ConfigureAwait(false);
        }
        else
        {
            var recorded = await Ask(request, cancellationToken).ConfigureAwait(false);
            if (!recorded.Ok) return recorded;
        }

        try
        {
            var result = await settings.Auditor.Ask<DumpResult>(new WriteDump(request.FileName!, request.UserId), settings.DumpTimeout).ConfigureAwait(false);
            return result.Ok ? TradeReply.Success(request, result.Text) : TradeReply.Failure(request, result.Text);
        }
        catch (AskTimeoutException)
        {
            return TradeReply.Failure(request, $"the auditor did not finish the dump within {settings.DumpTimeout.TotalMinutes:0} min");
        }
    }

    private Task RecordRefusal(TradeRequest request, string reason) =>
        settings.AuditRecorder.Ask<Done>(new RequestRejected(Now, settings.ServerName, request.TxNum, request.RunId, CommandKind.DumpLog.Name(), request.UserId,
            null, null, request.FileName, reason), settings.Timeout);
}
