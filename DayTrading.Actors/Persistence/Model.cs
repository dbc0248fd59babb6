namespace DayTrading.Persistence;

/// <summary>One stored event row (journal table).</summary>
public sealed class JournalRow
{
    /// <summary>Global, monotonically increasing position (assigned by the database on insert).</summary>
    public long Ordering { get; set; }
    public string PersistenceId { get; set; } = "";
    public long SequenceNr { get; set; }
    /// <summary>Write time, Unix epoch milliseconds (UTC).</summary>
    public long Timestamp { get; set; }
    public bool Deleted { get; set; }
    /// <summary>Serializer manifest (string manifest or type hint), may be empty.</summary>
    public string Manifest { get; set; } = "";
    public int SerializerId { get; set; }
    public byte[] Payload { get; set; } = Array.Empty<byte>();
    /// <summary>Tags joined with ';', empty when untagged.</summary>
    public string Tags { get; set; } = "";
    public string WriterUuid { get; set; } = "";
    /// <summary>Event-adapter manifest of the Persistent (usually empty).</summary>
    public string EventManifest { get; set; } = "";
}

/// <summary>One stored snapshot row.</summary>
public sealed class SnapshotRow
{
    public string PersistenceId { get; set; } = "";
    public long SequenceNr { get; set; }
    /// <summary>UTC ticks of the snapshot metadata timestamp.</summary>
    public long TimestampTicks { get; set; }
    public string Manifest { get; set; } = "";
    public int SerializerId { get; set; }
    public byte[] Payload { get; set; } = Array.Empty<byte>();
}

/// <summary>Snapshot selection bounds (inclusive), already converted to plain numbers.</summary>
public readonly record struct SnapshotBounds(long MinSequenceNr, long MaxSequenceNr, long MinTicks, long MaxTicks);

/// <summary>An event read from the global log (see <see cref="IEventLogReader"/>).</summary>
public sealed record EventLogEntry(
    long Ordering,
    string PersistenceId,
    long SequenceNr,
    DateTimeOffset Timestamp,
    object Payload,
    string Tags,
    bool Deleted);

/// <summary>Counters of the group-commit writer.</summary>
public sealed record JournalMetrics(
    long Batches,
    long Entries,
    long AtomicWrites,
    long Rows,
    long FailedBatches,
    long MaxBatchAtomicWrites,
    long PendingEntries)
{
    public double AverageAtomicWritesPerBatch => Batches == 0 ? 0 : (double)AtomicWrites / Batches;
}

/// <summary>Ask the journal actor for its <see cref="JournalMetrics"/>.</summary>
public sealed class GetJournalMetrics
{
    public static readonly GetJournalMetrics Instance = new();
    private GetJournalMetrics() { }
}
