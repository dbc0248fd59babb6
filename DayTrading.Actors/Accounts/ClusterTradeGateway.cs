using System.Globalization;
using Akka;
using Akka.Actor;
using DayTrading.Audit;
using DayTrading.Persistence;

namespace DayTrading.Accounts;

/// <summary>What one edge's gateway needs. <see cref="Admin"/>: this edge may run the system-wide DUMPLOG.</summary>
public sealed record GatewaySettings(
    IActorRef AccountRegion,
    IActorRef AuditRecorder,
    string ServerName,
    TimeProvider Clock,
    string DumpDirectory,
    bool Admin,
    Func<IEventLogReader>? OpenEventLog)
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// The edges' way into the cluster: each request goes to its trader's entity, wherever that lives; DUMPLOG is
/// recorded like any request and then written from the journal (the audit store) under the dump directory.
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
        string? refusal = null;
        var path = "";
        if (request.UserId is null && !settings.Admin) refusal = "DUMPLOG without a user is for administrators; this edge is not an admin edge";
        else if (settings.OpenEventLog is null) refusal = "the audit log is not available on a node without a durable journal";
        else if (!DumpPaths.TryResolve(settings.DumpDirectory, request.FileName ?? "", out path, out var pathError)) refusal = pathError;

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
            using var log = settings.OpenEventLog!();
            var stats = await AuditDump.WriteAsync(log, path, request.UserId, CancellationToken.None).ConfigureAwait(false);
            return TradeReply.Success(request, string.Create(CultureInfo.InvariantCulture,
                $"wrote {stats.EntriesWritten} entries ({stats.UserCommands} userCommand, {stats.QuoteServers} quoteServer, {stats.AccountTransactions} accountTransaction, {stats.SystemEvents} systemEvent, {stats.ErrorEvents} errorEvent) to {path} in {stats.Duration.TotalMilliseconds:0} ms"));
        }
        catch (Exception ex)
        {
            return TradeReply.Failure(request, $"writing the dump to {path} failed: {ex.Message}");
        }
    }

    private Task RecordRefusal(TradeRequest request, string reason) =>
        settings.AuditRecorder.Ask<Done>(new RequestRejected(Now, settings.ServerName, request.TxNum, request.RunId, CommandKind.DumpLog.Name(), request.UserId,
            null, null, request.FileName, reason), settings.Timeout);
}
