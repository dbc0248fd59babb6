using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace DayTrading.Persistence;

/// <summary>
/// The group-commit journal's instruments (meter <c>DayTrading.Journal</c>): what each batch carried and how long its
/// commit took, and what waits for the writer. Recorded once per batch on the writer thread (never per request).
/// Process-wide: a process normally runs one node; the queue depth is the sum over every writer in it.
/// </summary>
public static class JournalInstruments
{
    public const string MeterName = "DayTrading.Journal";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Histogram<long> BatchSize = Meter.CreateHistogram<long>("daytrading.journal.batch.size", "{write}",
        "AtomicWrites committed together in one transaction of the group-commit writer",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048] });

    private static readonly Histogram<double> CommitDuration = Meter.CreateHistogram<double>("daytrading.journal.commit.duration", "s",
        "time to write and commit one batch (inserts, COMMIT, fsync)",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5] });

    private static readonly Counter<long> FailedBatches = Meter.CreateCounter<long>("daytrading.journal.batches.failed", "{batch}",
        "batch transactions that did not commit (their writes were retried alone or failed)");

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<GroupCommitWriter, byte> Writers = new();

    static JournalInstruments() =>
        Meter.CreateObservableGauge("daytrading.journal.queue.depth", QueueDepth, "{write}",
            "writes queued for the group-commit writer, not yet in a batch");

    internal static void Track(GroupCommitWriter writer) => Writers[writer] = 0;

    internal static void Untrack(GroupCommitWriter writer) => Writers.TryRemove(writer, out _);

    internal static void Committed(long atomicWrites, long startTimestamp)
    {
        BatchSize.Record(atomicWrites);
        CommitDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
    }

    internal static void Failed() => FailedBatches.Add(1);

    private static long QueueDepth()
    {
        long depth = 0;
        foreach (var w in Writers.Keys) depth += w.QueueDepth;
        return depth;
    }
}
