using Microsoft.Data.Sqlite;

namespace DayTrading.Persistence;

/// <summary>
/// SQLite (Microsoft.Data.Sqlite) in WAL mode. One writer connection (owned by the group-commit thread)
/// with a prepared, reused INSERT; readers use separate pooled connections (WAL lets them run beside the writer).
/// Blocking ADO calls of readers run on the .NET thread pool (Task.Run), never on the journal actor.
/// </summary>
public sealed class SqliteDialect : IPersistenceDialect
{
    private readonly DayTradingDbSettings _s;
    private readonly string _cs;
    private readonly string _j;
    private readonly string _snap;

    public SqliteDialect(DayTradingDbSettings settings)
    {
        _s = settings;
        var b = new SqliteConnectionStringBuilder(settings.ConnectionString) { Pooling = true };
        if (b.DefaultTimeout < 30) b.DefaultTimeout = 30;
        _cs = b.ToString();
        _j = "\"" + settings.JournalTable + "\"";
        _snap = "\"" + settings.SnapshotTable + "\"";
        _gate = new SemaphoreSlim(settings.MaxConcurrentReads);
    }

    public string Provider => "sqlite";

    private SqliteConnection Open(string? synchronous = null)
    {
        var c = new SqliteConnection(_cs);
        c.Open();
        using var cmd = c.CreateCommand();
        // busy_timeout: let SQLite itself wait for the write lock (deletes/snapshots vs the group-commit writer).
        cmd.CommandText = "PRAGMA busy_timeout=30000;" + (synchronous is null ? "" : $"PRAGMA synchronous={synchronous};");
        cmd.ExecuteNonQuery();
        return c;
    }

    // Blocking SQLite calls run on the thread pool, at most MaxConcurrentReads at once (don't flood the pool).
    private readonly SemaphoreSlim _gate;

    private async Task<T> Run<T>(Func<T> f, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try { return await Task.Run(f, ct).ConfigureAwait(false); }
        finally { _gate.Release(); }
    }

    private Task Run(Action f, CancellationToken ct) => Run(() => { f(); return true; }, ct);

    public Task InitializeAsync(CancellationToken ct = default) => Run(() =>
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS {_j} (
              ordering       INTEGER PRIMARY KEY AUTOINCREMENT,
              persistence_id TEXT    NOT NULL,
              sequence_nr    INTEGER NOT NULL,
              timestamp      INTEGER NOT NULL,
              deleted        INTEGER NOT NULL DEFAULT 0,
              manifest       TEXT    NOT NULL DEFAULT '',
              serializer_id  INTEGER NOT NULL,
              payload        BLOB    NOT NULL,
              tags           TEXT    NOT NULL DEFAULT '',
              writer_uuid    TEXT    NOT NULL DEFAULT '',
              event_manifest TEXT    NOT NULL DEFAULT '',
              UNIQUE (persistence_id, sequence_nr)
            );
            CREATE TABLE IF NOT EXISTS {_snap} (
              persistence_id TEXT    NOT NULL,
              sequence_nr    INTEGER NOT NULL,
              created        INTEGER NOT NULL,
              manifest       TEXT    NOT NULL DEFAULT '',
              serializer_id  INTEGER NOT NULL,
              payload        BLOB    NOT NULL,
              PRIMARY KEY (persistence_id, sequence_nr)
            );
            """;
        cmd.ExecuteNonQuery();
    }, ct);

    public IJournalBatchWriter OpenWriter() => new Writer(this);

    private sealed class Writer : IJournalBatchWriter
    {
        private readonly SqliteConnection _conn;
        private readonly SqliteCommand _insert;
        private readonly SqliteParameter _pid, _seq, _ts, _man, _ser, _pay, _tags, _wu, _em;

        public Writer(SqliteDialect d)
        {
            _conn = d.Open(d._s.SqliteSynchronous.ToUpperInvariant());
            using (var wal = _conn.CreateCommand())
            {
                wal.CommandText = "PRAGMA journal_mode=WAL;";
                wal.ExecuteNonQuery();
            }
            _insert = _conn.CreateCommand();
            _insert.CommandText = $"INSERT INTO {d._j} (persistence_id, sequence_nr, timestamp, deleted, manifest, serializer_id, payload, tags, writer_uuid, event_manifest) " +
                                  "VALUES ($pid, $seq, $ts, 0, $man, $ser, $pay, $tags, $wu, $em)";
            _pid = _insert.Parameters.Add("$pid", SqliteType.Text);
            _seq = _insert.Parameters.Add("$seq", SqliteType.Integer);
            _ts = _insert.Parameters.Add("$ts", SqliteType.Integer);
            _man = _insert.Parameters.Add("$man", SqliteType.Text);
            _ser = _insert.Parameters.Add("$ser", SqliteType.Integer);
            _pay = _insert.Parameters.Add("$pay", SqliteType.Blob);
            _tags = _insert.Parameters.Add("$tags", SqliteType.Text);
            _wu = _insert.Parameters.Add("$wu", SqliteType.Text);
            _em = _insert.Parameters.Add("$em", SqliteType.Text);
        }

        public void WriteBatch(IReadOnlyList<JournalRow> rows, Action? beforeCommit = null)
        {
            using var tx = _conn.BeginTransaction(deferred: false); // BEGIN IMMEDIATE
            _insert.Transaction = tx;
            for (var i = 0; i < rows.Count; i++)
            {
                var r = rows[i];
                _pid.Value = r.PersistenceId;
                _seq.Value = r.SequenceNr;
                _ts.Value = r.Timestamp;
                _man.Value = r.Manifest;
                _ser.Value = r.SerializerId;
                _pay.Value = r.Payload;
                _tags.Value = r.Tags;
                _wu.Value = r.WriterUuid;
                _em.Value = r.EventManifest;
                _insert.ExecuteNonQuery();
            }
            beforeCommit?.Invoke();
            tx.Commit();
            _insert.Transaction = null;
        }

        public void Dispose()
        {
            _insert.Dispose();
            _conn.Dispose();
        }
    }

    private static JournalRow ReadRow(SqliteDataReader r) => new()
    {
        Ordering = r.GetInt64(0),
        PersistenceId = r.GetString(1),
        SequenceNr = r.GetInt64(2),
        Timestamp = r.GetInt64(3),
        Deleted = r.GetInt64(4) != 0,
        Manifest = r.GetString(5),
        SerializerId = r.GetInt32(6),
        Payload = (byte[])r.GetValue(7),
        Tags = r.GetString(8),
        WriterUuid = r.GetString(9),
        EventManifest = r.GetString(10),
    };

    private const string Cols = "ordering, persistence_id, sequence_nr, timestamp, deleted, manifest, serializer_id, payload, tags, writer_uuid, event_manifest";

    public Task ReplayAsync(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<JournalRow> onRow, CancellationToken ct = default) => Run(() =>
    {
        if (max <= 0) return;
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {Cols} FROM {_j} WHERE persistence_id = $pid AND sequence_nr >= $from AND sequence_nr <= $to AND deleted = 0 ORDER BY sequence_nr LIMIT $max";
        cmd.Parameters.AddWithValue("$pid", persistenceId);
        cmd.Parameters.AddWithValue("$from", fromSequenceNr);
        cmd.Parameters.AddWithValue("$to", toSequenceNr);
        cmd.Parameters.AddWithValue("$max", max);
        using var r = cmd.ExecuteReader();
        while (r.Read()) onRow(ReadRow(r));
    }, ct);

    public Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken ct = default) => Run(() =>
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT COALESCE(MAX(sequence_nr), 0) FROM {_j} WHERE persistence_id = $pid";
        cmd.Parameters.AddWithValue("$pid", persistenceId);
        return Convert.ToInt64(cmd.ExecuteScalar());
    }, ct);

    public Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken ct = default) => Run(() =>
    {
        using var c = Open(_s.SqliteSynchronous.ToUpperInvariant());
        using var tx = c.BeginTransaction(deferred: false);
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"UPDATE {_j} SET deleted = 1 WHERE persistence_id = $pid AND sequence_nr <= $to AND deleted = 0";
        cmd.Parameters.AddWithValue("$pid", persistenceId);
        cmd.Parameters.AddWithValue("$to", toSequenceNr);
        cmd.ExecuteNonQuery();
        tx.Commit();
    }, ct);

    public Task<IReadOnlyList<JournalRow>> ReadAllAsync(long afterOrdering, int max, bool includeDeleted, CancellationToken ct = default) => Run<IReadOnlyList<JournalRow>>(() =>
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {Cols} FROM {_j} WHERE ordering > $after {(includeDeleted ? "" : "AND deleted = 0")} ORDER BY ordering LIMIT $max";
        cmd.Parameters.AddWithValue("$after", afterOrdering);
        cmd.Parameters.AddWithValue("$max", max);
        var list = new List<JournalRow>(Math.Min(max, 4096));
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add(ReadRow(r));
        return list;
    }, ct);

    public Task SaveSnapshotAsync(SnapshotRow row, CancellationToken ct = default) => Run(() =>
    {
        using var c = Open(_s.SqliteSynchronous.ToUpperInvariant());
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"INSERT INTO {_snap} (persistence_id, sequence_nr, created, manifest, serializer_id, payload) VALUES ($pid, $seq, $ts, $man, $ser, $pay) " +
                          "ON CONFLICT (persistence_id, sequence_nr) DO UPDATE SET created = excluded.created, manifest = excluded.manifest, serializer_id = excluded.serializer_id, payload = excluded.payload";
        cmd.Parameters.AddWithValue("$pid", row.PersistenceId);
        cmd.Parameters.AddWithValue("$seq", row.SequenceNr);
        cmd.Parameters.AddWithValue("$ts", row.TimestampTicks);
        cmd.Parameters.AddWithValue("$man", row.Manifest);
        cmd.Parameters.AddWithValue("$ser", row.SerializerId);
        cmd.Parameters.Add("$pay", SqliteType.Blob).Value = row.Payload;
        cmd.ExecuteNonQuery();
    }, ct);

    private static void AddBounds(SqliteCommand cmd, SnapshotBounds b)
    {
        cmd.Parameters.AddWithValue("$minSeq", b.MinSequenceNr);
        cmd.Parameters.AddWithValue("$maxSeq", b.MaxSequenceNr);
        cmd.Parameters.AddWithValue("$minTs", b.MinTicks);
        cmd.Parameters.AddWithValue("$maxTs", b.MaxTicks);
    }

    private const string BoundsWhere = "sequence_nr >= $minSeq AND sequence_nr <= $maxSeq AND created >= $minTs AND created <= $maxTs";

    public Task<SnapshotRow?> LoadSnapshotAsync(string persistenceId, SnapshotBounds bounds, CancellationToken ct = default) => Run(() =>
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT persistence_id, sequence_nr, created, manifest, serializer_id, payload FROM {_snap} WHERE persistence_id = $pid AND {BoundsWhere} ORDER BY sequence_nr DESC LIMIT 1";
        cmd.Parameters.AddWithValue("$pid", persistenceId);
        AddBounds(cmd, bounds);
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return (SnapshotRow?)null;
        return new SnapshotRow
        {
            PersistenceId = r.GetString(0), SequenceNr = r.GetInt64(1), TimestampTicks = r.GetInt64(2),
            Manifest = r.GetString(3), SerializerId = r.GetInt32(4), Payload = (byte[])r.GetValue(5),
        };
    }, ct);

    public Task DeleteSnapshotAsync(string persistenceId, long sequenceNr, long? timestampTicks, CancellationToken ct = default) => Run(() =>
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"DELETE FROM {_snap} WHERE persistence_id = $pid AND sequence_nr = $seq" + (timestampTicks is null ? "" : " AND created = $ts");
        cmd.Parameters.AddWithValue("$pid", persistenceId);
        cmd.Parameters.AddWithValue("$seq", sequenceNr);
        if (timestampTicks is not null) cmd.Parameters.AddWithValue("$ts", timestampTicks.Value);
        cmd.ExecuteNonQuery();
    }, ct);

    public Task DeleteSnapshotsAsync(string persistenceId, SnapshotBounds bounds, CancellationToken ct = default) => Run(() =>
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"DELETE FROM {_snap} WHERE persistence_id = $pid AND {BoundsWhere}";
        cmd.Parameters.AddWithValue("$pid", persistenceId);
        AddBounds(cmd, bounds);
        cmd.ExecuteNonQuery();
    }, ct);

    public void Dispose() => _gate.Dispose();
}
