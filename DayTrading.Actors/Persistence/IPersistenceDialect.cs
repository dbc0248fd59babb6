namespace DayTrading.Persistence;

/// <summary>
/// The small per-database interface behind the journal, snapshot store and event-log reader.
/// Reads/deletes open their own connections (never the writer's), so they don't block the writer.
/// </summary>
public interface IPersistenceDialect : IDisposable
{
    string Provider { get; }

    /// <summary>Creates schema/tables/indexes if missing (idempotent).</summary>
    Task InitializeAsync(CancellationToken ct = default);

    /// <summary>
    /// Whether a write could start now, on a connection of its own, within <paramref name="timeout"/>: takes the
    /// journal's write lock and lets it go, writing nothing. Throws with the database's reason when it cannot
    /// (locked by another process, read-only, unreachable).
    /// </summary>
    Task ProbeWriteAsync(TimeSpan timeout, CancellationToken ct = default);

    /// <summary>Opens the (single) batch writer connection. Used by one thread only.</summary>
    IJournalBatchWriter OpenWriter();

    Task ReplayAsync(string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<JournalRow> onRow, CancellationToken ct = default);

    /// <summary>Highest sequence number ever written for the id (deleted rows count too); 0 if none.</summary>
    Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken ct = default);

    /// <summary>Logical delete: marks rows with sequence_nr &lt;= toSequenceNr deleted.</summary>
    Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken ct = default);

    /// <summary>Rows with ordering &gt; afterOrdering, ascending, at most <paramref name="max"/>.</summary>
    Task<IReadOnlyList<JournalRow>> ReadAllAsync(long afterOrdering, int max, bool includeDeleted, CancellationToken ct = default);

    /// <summary>Rows after <paramref name="afterOrdering"/> whose tags are exactly <paramref name="tag"/>, in order (an index keeps it cheap).</summary>
    Task<IReadOnlyList<JournalRow>> ReadTaggedAsync(long afterOrdering, string tag, int max, CancellationToken ct = default);

    Task SaveSnapshotAsync(SnapshotRow row, CancellationToken ct = default);
    Task<SnapshotRow?> LoadSnapshotAsync(string persistenceId, SnapshotBounds bounds, CancellationToken ct = default);
    Task DeleteSnapshotAsync(string persistenceId, long sequenceNr, long? timestampTicks, CancellationToken ct = default);
    Task DeleteSnapshotsAsync(string persistenceId, SnapshotBounds bounds, CancellationToken ct = default);
}

/// <summary>Writes one batch of rows in ONE transaction; throws if the transaction did not commit.</summary>
public interface IJournalBatchWriter : IDisposable
{
    /// <param name="rows">Rows to insert, in order.</param>
    /// <param name="beforeCommit">Test hook run inside the transaction after the inserts, before COMMIT.</param>
    void WriteBatch(IReadOnlyList<JournalRow> rows, Action? beforeCommit = null);
}
