using System.Globalization;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using DayTrading.Persistence;

namespace DayTrading.Audit;

/// <summary>
/// Asks the Auditor to write the audit log (of one user, or of everyone) to a file under its dump directory.
/// <see cref="DumpId"/> names this dump: asking again with the same id and the same file and user (the gateway does
/// when no answer came in time) joins the dump already running or gets its result, instead of writing the file twice
/// at once; a different dump under a used id is refused.
/// </summary>
public sealed record WriteDump(string FileName, string? UserId, string? DumpId = null);

/// <summary>The outcome of a <see cref="WriteDump"/>: a summary of what was written, or why nothing was.</summary>
public sealed record DumpResult(bool Ok, string Text);

/// <summary>Registry key of the Auditor singleton's proxy.</summary>
public sealed class AuditorKey;

/// <summary>
/// The cluster-wide Auditor singleton: writes DUMPLOGs from the audit store (the journal, streamed through
/// <see cref="AuditProjection"/>) into files under its node's dump directory, so every dump of a cluster lands in one
/// place. Dumps stream page by page and run concurrently, except that two dumps to the same file run one after the
/// other. The journal stays the only source of truth: if the Auditor moves mid-dump, the asker's repeat starts the
/// dump again on the new node. A node other than the Auditor's reads a dump it asked for in chunks
/// (<see cref="ReadDumpChunk"/>, <see cref="DumpDownload"/>): the web's download works from every node.
/// </summary>
public sealed class AuditorActor : ReceiveActor
{
    private const int FinishedRemembered = 64;

    private sealed record DumpFinished(string DumpId, string Path, DumpResult Result, string? UserId = null);

    // Dumps running, by id: what was asked and who to tell (the latest asker: an earlier one has given up and asked
    // again). Finished ones with what was asked, so a repeat is told apart from another dump under the same id.
    private readonly Dictionary<string, (WriteDump Request, IActorRef ReplyTo)> _running = new(StringComparer.Ordinal);
    private readonly RecentMap<string, (WriteDump Request, DumpResult Result)> _finished = new(FinishedRemembered, StringComparer.Ordinal);
    // The last dump started per file, so the next one to the same file waits for it.
    private readonly Dictionary<string, (Task Dump, string DumpId)> _lastPerFile = new(StringComparer.Ordinal);
    private long _anonymous;
    // The dumps written here, so a node without the file (the web's download) can read it in chunks.
    private readonly DumpDownloads _downloads = new();

    public AuditorActor(string dumpDirectory, Func<IEventLogReader>? openEventLog)
    {
        Receive<WriteDump>(request =>
        {
            var id = request.DumpId ?? "anonymous-" + ++_anonymous;
            if (_finished.TryGetValue(id, out var done))
            {
                Sender.Tell(done.Request == request ? done.Result : Reused(id));
                return;
            }
            if (_running.TryGetValue(id, out var running))
            {
                if (running.Request == request) _running[id] = (request, Sender);
                else Sender.Tell(Reused(id));
                return;
            }
            if (openEventLog is null)
            {
                Sender.Tell(new DumpResult(false, "the audit log is not available on a node without a durable journal"));
                return;
            }
            if (!DumpPaths.TryResolve(dumpDirectory, request.FileName, out var path, out var error))
            {
                Sender.Tell(new DumpResult(false, error!));
                return;
            }
            _running[id] = (request, Sender);
            var before = _lastPerFile.TryGetValue(path!, out var last) ? last.Dump : Task.CompletedTask;
            var self = Self;
            // Run the dump off the actor so other dumps (and this actor) are not held up while it streams.
            var dump = Task.Run(async () =>
            {
                await before.ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
                DumpResult result;
                try
                {
                    using var log = openEventLog();
                    var s = await AuditDump.WriteAsync(log, path!, request.UserId, CancellationToken.None).ConfigureAwait(false);
                    result = new DumpResult(true, string.Create(CultureInfo.InvariantCulture,
                        $"wrote {s.EntriesWritten} entries ({s.UserCommands} userCommand, {s.QuoteServers} quoteServer, {s.AccountTransactions} accountTransaction, {s.SystemEvents} systemEvent, {s.ErrorEvents} errorEvent) to {path} in {s.Duration.TotalMilliseconds:0} ms"));
                }
                catch (Exception ex)
                {
                    result = new DumpResult(false, $"writing the dump to {path} failed: {ex.Message}");
                }
                self.Tell(new DumpFinished(id, path!, result, request.UserId));
            });
            _lastPerFile[path!] = (dump, id);
        });
        Receive<DumpFinished>(f =>
        {
            if (_lastPerFile.TryGetValue(f.Path, out var last) && last.DumpId == f.DumpId) _lastPerFile.Remove(f.Path);
            if (f.Result.Ok) _downloads.Written(f.Path, f.UserId);
            if (!_running.Remove(f.DumpId, out var running)) return;
            running.ReplyTo.Tell(f.Result);
            _finished.Set(f.DumpId, (running.Request, f.Result));
        });
        Receive<ReadDumpChunk>(r => _downloads.ReadAsync(dumpDirectory, r).PipeTo(Sender));
    }

    // Told instead of another dump's result (which would name its file and say it was written): nothing is written.
    private static DumpResult Reused(string dumpId) =>
        new(false, $"dump id '{dumpId}' (run id and transaction number) was already used for a different DUMPLOG; nothing written");

    public static Props Props(string dumpDirectory, Func<IEventLogReader>? openEventLog) =>
        Akka.Actor.Props.Create(() => new AuditorActor(dumpDirectory, openEventLog));
}

public static class AuditSetup
{
    public const string SingletonName = "auditor";

    /// <summary>The Auditor singleton (and its proxy on this node).</summary>
    public static AkkaConfigurationBuilder AddAuditor(this AkkaConfigurationBuilder builder, string dumpDirectory,
        Func<ActorSystem, IEventLogReader>? openEventLog) =>
        builder.WithSingleton<AuditorKey>(SingletonName,
            (system, _, _) => AuditorActor.Props(dumpDirectory, openEventLog is null ? null : () => openEventLog(system)),
            new ClusterSingletonOptions(), createProxyToo: true);
}
