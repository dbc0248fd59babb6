using System.Diagnostics;
using DayTrading.Persistence;

namespace DayTrading.Audit;

/// <summary>What one dump wrote.</summary>
public sealed record DumpStats(
    long EventsRead,
    long EventsSkipped,
    long UserCommands,
    long QuoteServers,
    long AccountTransactions,
    long SystemEvents,
    long ErrorEvents,
    long Bytes,
    TimeSpan Duration)
{
    public long EntriesWritten => UserCommands + QuoteServers + AccountTransactions + SystemEvents + ErrorEvents;

    public long Count(AuditEntryKind kind) => kind switch
    {
        AuditEntryKind.UserCommand => UserCommands,
        AuditEntryKind.QuoteServer => QuoteServers,
        AuditEntryKind.AccountTransaction => AccountTransactions,
        AuditEntryKind.SystemEvent => SystemEvents,
        AuditEntryKind.ErrorEvent => ErrorEvents,
        _ => 0,
    };
}

/// <summary>
/// Produces an audit log file: the whole journal, read page by page in global order, projected event by event
/// (<see cref="AuditProjection"/>) and streamed to XML (<see cref="AuditXmlWriter"/>). Memory stays at one page of
/// events plus the writer's buffer. The file is written under a temporary name in the same folder and renamed at the
/// end, so the requested name holds either a complete dump or nothing (a crash leaves at most a <c>.tmp</c> file).
/// </summary>
public static class AuditDump
{
    public const int PageSize = 1_000;

    /// <param name="fullPath">where the dump goes, already checked (see <see cref="DumpPaths.TryResolve"/>); its folders are created.</param>
    /// <param name="userFilter">null for the whole system's log (admin DUMPLOG); a user id for that user's entries only.</param>
    public static async Task<DumpStats> WriteAsync(IEventLogReader reader, string fullPath, string? userFilter, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var directory = Path.GetDirectoryName(Path.GetFullPath(fullPath)) ?? throw new ArgumentException($"'{fullPath}' has no folder", nameof(fullPath));
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, TempName(Path.GetFileName(fullPath)));

        long eventsRead = 0, skipped = 0, bytes;
        var counts = new long[6];
        var entries = new List<AuditEntry>(8);
        // Each node's audit recorder deduplicates its own records; a retry that reached another node was recorded
        // there too, so they are deduplicated once more here, cluster-wide: same run id, N and content (a different
        // request under a used run id and N is no retry, and is written).
        var recorded = new HashSet<object>();
        try
        {
            await using (var writer = AuditXmlWriter.Create(temp))
            {
                await writer.WriteStartAsync().ConfigureAwait(false);
                await foreach (var e in reader.ReadAllAsync(0, PageSize, ct).ConfigureAwait(false))
                {
                    eventsRead++;
                    if (userFilter is not null && AuditProjection.IsOtherAccount(e.PersistenceId, userFilter))
                    {
                        skipped++;
                        continue;
                    }
                    if (AuditRepeats.Identity(e.Payload) is { } identity && !recorded.Add(identity))
                    {
                        skipped++;
                        continue;
                    }
                    entries.Clear();
                    AuditProjection.Project(e.PersistenceId, e.Payload, entries);
                    foreach (var entry in entries)
                    {
                        if (userFilter is not null && !string.Equals(entry.Username, userFilter, StringComparison.Ordinal)) continue;
                        await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
                        counts[(int)entry.Kind]++;
                    }
                }
                await writer.CompleteAsync(ct).ConfigureAwait(false);
            }
            bytes = new FileInfo(temp).Length;
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        return new DumpStats(eventsRead, skipped,
            counts[(int)AuditEntryKind.UserCommand], counts[(int)AuditEntryKind.QuoteServer],
            counts[(int)AuditEntryKind.AccountTransaction], counts[(int)AuditEntryKind.SystemEvent],
            counts[(int)AuditEntryKind.ErrorEvent], bytes, Stopwatch.GetElapsedTime(started));
    }

    // Next to the target, so the rename stays on one file system. It names the target when that fits the 255 bytes
    // a file name may have (helps an operator who finds one left by a crash); a long target name gets a short one.
    private static string TempName(string target)
    {
        var unique = Guid.NewGuid().ToString("N");
        var named = $".{target}.{unique}.tmp";
        return System.Text.Encoding.UTF8.GetByteCount(named) <= DumpPaths.MaxSegmentLength ? named : $".dump.{unique}.tmp";
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
