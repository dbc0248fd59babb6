using System.Globalization;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using DayTrading.Persistence;

namespace DayTrading.Audit;

/// <summary>Asks the Auditor to write the audit log (of one user, or of everyone) to a file under its dump directory.</summary>
public sealed record WriteDump(string FileName, string? UserId);

/// <summary>The outcome of a <see cref="WriteDump"/>: a summary of what was written, or why nothing was.</summary>
public sealed record DumpResult(bool Ok, string Text);

/// <summary>Registry key of the Auditor singleton's proxy.</summary>
public sealed class AuditorKey;

/// <summary>
/// The cluster-wide Auditor singleton: writes DUMPLOGs from the audit store (the journal, streamed through
/// <see cref="AuditProjection"/>) into files under its node's dump directory, so every dump of a cluster lands in one
/// place. Dumps stream page by page and run concurrently; the journal stays the only source of truth, so the
/// Auditor holds no state that a move could lose.
/// </summary>
public sealed class AuditorActor : ReceiveActor
{
    public AuditorActor(string dumpDirectory, Func<IEventLogReader>? openEventLog)
    {
        ReceiveAsync<WriteDump>(async request =>
        {
            var replyTo = Sender;
            if (openEventLog is null)
            {
                replyTo.Tell(new DumpResult(false, "the audit log is not available on a node without a durable journal"));
                return;
            }
            if (!DumpPaths.TryResolve(dumpDirectory, request.FileName, out var path, out var error))
            {
                replyTo.Tell(new DumpResult(false, error!));
                return;
            }
            // Run the dump off the actor so other dumps (and this actor) are not held up while it streams.
            _ = Task.Run(async () =>
            {
                try
                {
                    using var log = openEventLog();
                    var s = await AuditDump.WriteAsync(log, path, request.UserId, CancellationToken.None).ConfigureAwait(false);
                    replyTo.Tell(new DumpResult(true, string.Create(CultureInfo.InvariantCulture,
                        $"wrote {s.EntriesWritten} entries ({s.UserCommands} userCommand, {s.QuoteServers} quoteServer, {s.AccountTransactions} accountTransaction, {s.SystemEvents} systemEvent, {s.ErrorEvents} errorEvent) to {path} in {s.Duration.TotalMilliseconds:0} ms")));
                }
                catch (Exception ex)
                {
                    replyTo.Tell(new DumpResult(false, $"writing the dump to {path} failed: {ex.Message}"));
                }
            });
            await Task.CompletedTask;
        });
    }

    public static Props Props(string dumpDirectory, Func<IEventLogReader>? openEventLog) =>
        Akka.Actor.Props.Create(() => new AuditorActor(dumpDirectory, openEventLog));
}

public static class AuditSetup
{
    /// <summary>The Auditor singleton (and its proxy on this node).</summary>
    public static AkkaConfigurationBuilder AddAuditor(this AkkaConfigurationBuilder builder, string dumpDirectory,
        Func<ActorSystem, IEventLogReader>? openEventLog) =>
        builder.WithSingleton<AuditorKey>("auditor",
            (system, _, _) => AuditorActor.Props(dumpDirectory, openEventLog is null ? null : () => openEventLog(system)),
            new ClusterSingletonOptions(), createProxyToo: true);
}
