using System.Diagnostics;
using DayTrading.Audit;
using DayTrading.Persistence;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>A dump streams the whole event log through the projection to a file that appears complete or not at all.</summary>
public sealed class AuditDumpTests(ITestOutputHelper output) : IDisposable
{
    private const int LargeEvents = 200_000;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_large_log_streams_with_flat_memory_and_the_counts_match()
    {
        var path = Path.Combine(_dir.Path, "sub", "dir", "all.xml");
        // Live managed memory, measured with a full collection every 20 pages: the dump must not accumulate.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = baseline;
        var reader = new FakeEventLogReader(LargeEvents, SyntheticLog.Large, page =>
        {
            if (page % 20 == 0) peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true));
        });
        var stats = await AuditDump.WriteAsync(reader, path, null, Ct);
        peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true));
        var growth = peak - baseline;
        output.WriteLine($"{stats}; live managed memory growth at peak {growth / 1024.0 / 1024.0:F1} MB; " +
                         $"process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1024 / 1024} MB");

        const long cycles = LargeEvents / SyntheticLog.Cycle;
        const long admin = cycles / SyntheticLog.AdminEveryCycles;
        Assert.Equal(LargeEvents, stats.EventsRead);
        Assert.Equal(5 * cycles + admin, stats.UserCommands);
        Assert.Equal(3 * cycles, stats.AccountTransactions);
        Assert.Equal(cycles, stats.QuoteServers);
        Assert.Equal(3 * cycles, stats.SystemEvents);
        Assert.Equal(2 * cycles, stats.ErrorEvents);
        Assert.Equal(stats.Bytes, new FileInfo(path).Length);
        Assert.True(growth < 100L * 1024 * 1024, $"live memory grew by {growth} bytes");
        Assert.True(stats.Bytes > 100L * 1024 * 1024 / 2, "the file is large enough that holding it would show");
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));

        if (!SharedData.AvailableFor("the check against logfile.xsd")) return; // the counts above need no ../shared
        var (errors, counts) = AuditSchema.Validate(path, AuditSchema.Relaxed());
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        foreach (var kind in Enum.GetValues<AuditEntryKind>())
            Assert.Equal(stats.Count(kind), counts.GetValueOrDefault(AuditXmlWriter.ElementName(kind)));
    }

    [Fact]
    public async Task A_user_filter_keeps_only_that_users_entries()
    {
        const int events = 20_000;
        var path = Path.Combine(_dir.Path, "u7.xml");
        var stats = await AuditDump.WriteAsync(new FakeEventLogReader(events, SyntheticLog.Large), path, "u7", Ct);

        const long cycles = events / SyntheticLog.Cycle / SyntheticLog.Users; // cycles of user u7
        Assert.Equal(events, stats.EventsRead);
        Assert.Equal(5 * cycles, stats.UserCommands); // admin dumps carry no user
        Assert.Equal(3 * cycles, stats.AccountTransactions);
        Assert.Equal(cycles, stats.QuoteServers);
        Assert.Equal(3 * cycles, stats.SystemEvents);
        Assert.Equal(2 * cycles, stats.ErrorEvents);
        Assert.True(stats.EventsSkipped > events / 2, "other accounts' events are skipped without projecting them");

        var users = System.Xml.Linq.XDocument.Load(path).Root!.Elements().Select(e => (string?)e.Element("username")).Distinct().ToList();
        Assert.Equal(["u7"], users);
        if (SharedData.AvailableFor("the check against logfile.xsd")) Assert.Empty(AuditSchema.Validate(path, AuditSchema.Relaxed()).Errors);
    }

    [SharedDataFact]
    public async Task The_synthetic_every_kind_log_dumps_valid()
    {
        var path = Path.Combine(_dir.Path, "every.xml");
        var events = SyntheticLog.EveryKind();
        var stats = await AuditDump.WriteAsync(FakeEventLogReader.Of(events), path, null, Ct);
        var expected = events.SelectMany(e => AuditProjection.Project(e.Pid, e.Event)).ToList();
        Assert.Equal(expected.Count, stats.EntriesWritten);
        var (errors, counts) = AuditSchema.Validate(path, AuditSchema.Relaxed());
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        Assert.Equal(expected.Count, counts.Values.Sum());
    }

    [Fact]
    public async Task A_failed_dump_leaves_neither_a_half_file_nor_a_temp_file_and_keeps_an_older_dump()
    {
        var path = Path.Combine(_dir.Path, "testLOG");
        await File.WriteAllTextAsync(path, "older dump", Ct);
        var reader = new FakeEventLogReader(50_000, o => o < 30_000 ? SyntheticLog.Large(o) : throw new IOException("journal went away"));
        await Assert.ThrowsAsync<IOException>(() => AuditDump.WriteAsync(reader, path, null, Ct));
        Assert.Equal("older dump", await File.ReadAllTextAsync(path, Ct));
        Assert.Equal([path], Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public async Task A_cancelled_dump_leaves_nothing()
    {
        var path = Path.Combine(_dir.Path, "cancelled.xml");
        using var cts = new CancellationTokenSource();
        var reader = new FakeEventLogReader(100_000, SyntheticLog.Large, page => { if (page == 10) cts.Cancel(); });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => AuditDump.WriteAsync(reader, path, null, cts.Token));
        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public async Task An_empty_journal_gives_an_empty_log()
    {
        var path = Path.Combine(_dir.Path, "empty.xml");
        var stats = await AuditDump.WriteAsync(new FakeEventLogReader(0, _ => throw new InvalidOperationException()), path, null, Ct);
        Assert.Equal(0, stats.EntriesWritten);
        Assert.Equal("<?xml version=\"1.0\"?>\n<log />\n", await File.ReadAllTextAsync(path, Ct));
    }

    /// <summary>Not a test of speed (nothing is asserted on time): prints what a 100,000-command dump costs, cold and warm.</summary>
    [Fact]
    public async Task Measure_a_100k_command_dump()
    {
        // The 10-event cycle holds 5 CommandHandled events (ADD, QUOTE, BUY, COMMIT_BUY, failed SELL):
        // 200,000 events are 100,000 commands plus quote hits, expiries, trigger fires, rejections, admin dumps.
        const int events = 200_000;
        for (var run = 1; run <= 2; run++)
        {
            var path = Path.Combine(_dir.Path, $"100k-{run}.xml");
            GC.Collect();
            var before = GC.GetTotalMemory(true);
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var sw = Stopwatch.StartNew();
            var stats = await AuditDump.WriteAsync(new FakeEventLogReader(events, SyntheticLog.Large), path, null, Ct);
            sw.Stop();
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            var after = GC.GetTotalMemory(true);
            output.WriteLine($"run {run} ({(run == 1 ? "cold" : "warm")}): 100k commands, {stats.EntriesWritten} entries, {stats.Bytes / 1024 / 1024} MB file " +
                             $"in {sw.ElapsedMilliseconds} ms; allocated {allocated / 1024 / 1024} MB in total, live heap before/after " +
                             $"{before / 1024 / 1024}/{after / 1024 / 1024} MB; process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1024 / 1024} MB");
            Assert.Equal(100_000 + events / SyntheticLog.Cycle / SyntheticLog.AdminEveryCycles, stats.UserCommands); // + the admin DUMPLOGs
            File.Delete(path);
        }
    }
}
