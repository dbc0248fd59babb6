using Akka.Actor;

namespace DayTrading.Audit;

/// <summary>
/// Asks the Auditor for up to <see cref="MaxBytes"/> bytes at <see cref="Offset"/> of the dump file it wrote to
/// <see cref="FileName"/> (relative to its dump directory) for <see cref="UserId"/> (null: the system-wide dump).
/// <see cref="ExpectedLength"/>, <see cref="ExpectedWriteTicks"/> and <see cref="ExpectedGeneration"/> (-1 on the
/// first chunk) are the file's length, last-write time and write count from the first answer: a file written again
/// in between is refused, not spliced.
/// A read changes nothing, so asking again after a lost answer is safe.
/// </summary>
public sealed record ReadDumpChunk(string FileName, string? UserId, long Offset, int MaxBytes, long ExpectedLength = -1, long ExpectedWriteTicks = -1,
    long ExpectedGeneration = -1);

/// <summary>One chunk of a dump file (<see cref="Data"/> at <see cref="Offset"/>), or why none (<see cref="Error"/>).</summary>
public sealed record DumpChunk(bool Ok, string? Error, long Offset, byte[] Data, long TotalLength, long WriteTicks, long Generation)
{
    public bool IsLast => Ok && Offset + Data.Length >= TotalLength;

    public static DumpChunk Failure(string error) => new(false, error, 0, [], 0, 0, 0);
}

/// <summary>
/// The Auditor's side of a dump download: which files it wrote and for whom, and reading them in bounded chunks.
/// Only a file the Auditor itself wrote for the same user can be read (so a read names neither another user's dump
/// nor any other file), and its name passes <see cref="DumpPaths"/> again. Not thread-safe: the Auditor's own.
/// </summary>
public sealed class DumpDownloads
{
    /// <summary>The most a chunk carries: well under Akka.Remote's 4 MiB frame, and what one download holds in memory.</summary>
    public const int MaxChunkBytes = 64 * 1024;

    /// <summary>How many written dumps are remembered (the oldest are forgotten first).</summary>
    public const int Remembered = 4096;

    private readonly RecentMap<string, (string? UserId, long Generation)> _written = new(Remembered, StringComparer.Ordinal);
    private long _generation;

    /// <summary>The Auditor wrote <paramref name="fullPath"/> for <paramref name="userId"/> (a later dump to the same file replaces the owner).</summary>
    public void Written(string fullPath, string? userId)
    {
        _written.Set(fullPath, (userId, ++_generation));
    }

    /// <summary>Checks the request here (on the Auditor's thread) and reads the file on the thread pool.</summary>
    public Task<DumpChunk> ReadAsync(string dumpDirectory, ReadDumpChunk request)
    {
        if (request.Offset < 0 || request.MaxBytes <= 0) return Task.FromResult(DumpChunk.Failure("a chunk needs an offset of 0 or more and a size of 1 byte or more"));
        if (!DumpPaths.TryResolve(dumpDirectory, request.FileName, out var path, out var error)) return Task.FromResult(DumpChunk.Failure(error!));
        if (!_written.TryGetValue(path, out var w) || !string.Equals(w.UserId, request.UserId, StringComparison.Ordinal))
        {
            return Task.FromResult(DumpChunk.Failure(
                $"the auditor wrote no dump '{request.FileName}' for {(request.UserId is null ? "the system" : "user " + request.UserId)} (it may have moved to another node since: ask for the dump again)"));
        }
        if (request.ExpectedGeneration >= 0 && request.ExpectedGeneration != w.Generation) return Task.FromResult(WrittenAgain(request));
        var max = Math.Min(request.MaxBytes, MaxChunkBytes);
        return Task.Run(() => Read(path, request, max, w.Generation));
    }

    private static DumpChunk WrittenAgain(ReadDumpChunk request) =>
        DumpChunk.Failure($"the dump '{request.FileName}' was written again while it was downloaded: ask for the dump again");

    // The generation alone would miss a new dump renamed into place just before the Auditor hears it finished;
    // the length and last-write time catch that one.
    private static async Task<DumpChunk> Read(string path, ReadDumpChunk request, int max, long generation)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
            var length = RandomAccess.GetLength(handle);
            var ticks = File.GetLastWriteTimeUtc(handle).Ticks;
            if (request.ExpectedLength >= 0 && (length != request.ExpectedLength || ticks != request.ExpectedWriteTicks))
                return WrittenAgain(request);
            if (request.Offset > length) return DumpChunk.Failure($"offset {request.Offset} is past the end of the dump ({length} bytes)");
            var data = new byte[(int)Math.Min(max, length - request.Offset)];
            var read = 0;
            while (read < data.Length)
            {
                var n = await RandomAccess.ReadAsync(handle, data.AsMemory(read), request.Offset + read).ConfigureAwait(false);
                if (n == 0) return DumpChunk.Failure($"the dump '{request.FileName}' ended early while it was read");
                read += n;
            }
            return new DumpChunk(true, null, request.Offset, data, length, ticks, generation);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return DumpChunk.Failure($"reading the dump '{request.FileName}' failed: {e.Message}");
        }
    }
}

/// <summary>
/// A node's way to download a dump from the Auditor singleton, wherever it runs: chunk after chunk, each asked for
/// when the previous one has been written out, so a download holds one chunk in memory whatever the dump's size.
/// </summary>
public static class DumpDownload
{
    /// <summary>
    /// Asks for one chunk, and asks again every <paramref name="resendAfter"/> without an answer (the singleton may be
    /// moving, or the answer lost) until <paramref name="total"/> has passed.
    /// </summary>
    public static async Task<DumpChunk> ReadChunkAsync(IActorRef auditor, ReadDumpChunk request, TimeSpan resendAfter, TimeSpan total, CancellationToken ct)
    {
        var deadline = Environment.TickCount64 + (long)total.TotalMilliseconds;
        while (true)
        {
            var left = TimeSpan.FromMilliseconds(deadline - Environment.TickCount64);
            var wait = left < resendAfter ? left : resendAfter;
            if (wait <= TimeSpan.Zero) return DumpChunk.Failure($"the auditor did not answer within {total.TotalSeconds:0} s");
            try
            {
                return await auditor.Ask<DumpChunk>(request, wait, ct).ConfigureAwait(false);
            }
            catch (AskTimeoutException)
            {
                // lost, or the singleton is moving: a read can be asked again
            }
        }
    }

    /// <summary>
    /// Copies the rest of the dump after <paramref name="first"/> (already written out by the caller) to
    /// <paramref name="destination"/>; the failure's reason, or null when every byte was copied.
    /// </summary>
    public static async Task<string?> CopyRestAsync(IActorRef auditor, ReadDumpChunk request, DumpChunk first, Stream destination,
        TimeSpan resendAfter, TimeSpan total, CancellationToken ct)
    {
        var offset = first.Offset + first.Data.Length;
        while (offset < first.TotalLength)
        {
            var next = await ReadChunkAsync(auditor, request with
            {
                Offset = offset, ExpectedLength = first.TotalLength, ExpectedWriteTicks = first.WriteTicks, ExpectedGeneration = first.Generation,
            }, resendAfter, total, ct).ConfigureAwait(false);
            if (!next.Ok) return next.Error;
            if (next.Offset != offset || next.Data.Length == 0) return $"the auditor answered bytes at {next.Offset} (length {next.Data.Length}) for offset {offset}";
            await destination.WriteAsync(next.Data, ct).ConfigureAwait(false);
            offset += next.Data.Length;
        }
        return null;
    }
}
