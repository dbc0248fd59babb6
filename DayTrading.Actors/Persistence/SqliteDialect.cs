using Microsoft.Data.Sqlite;
using SQLitePCL;

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
    private readonly string _writerCs;
    private readonly string _j;
    private readonly string _snap;

    public SqliteDialect(DayTradingDbSettings settings)
    {
        _s = settings;
        var b = new SqliteConnectionStringBuilder(settings.ConnectionString) { Pooling = true };
        if (b.DefaultTimeout < 30) b.DefaultTimeout = 30;
        _cs = b.ToString();
        _writerCs = new SqliteConnectionStringBuilder(_cs) { Pooling = false }.ToString();
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
        // wal_autocheckpoint as on the writer: otherwise any delete/snapshot commit would checkpoint at SQLite's 1000 pages.
        cmd.CommandText = $"PRAGMA busy_timeout=30000;PRAGMA wal_autocheckpoint={_s.SqliteWalAutocheckpoint};" +
                          (synchronous is null ? "" : $"PRAGMA synchronous={synchronous};");
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
            -- Projections that need only some events (the trigger index) read them by tag; untagged rows stay out.
            CREATE INDEX IF NOT EXISTS "{_s.JournalTable}_tagged" ON {_j} (tags, ordering) WHERE tags <> '';
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

    // BEGIN IMMEDIATE takes the write lock as the group-commit writer's batches do: it fails when another process
    // holds the database locked past the timeout, or the file is read-only.
    public Task ProbeWriteAsync(TimeSpan timeout, CancellationToken ct = default) => Task.Run(() =>
    {
        using var c = new SqliteConnection(_writerCs);
        c.Open();
        using var cmd = c.CreateCommand();
        // Microsoft.Data.Sqlite retries a busy statement until the command timeout (30 s by default), not busy_timeout.
        cmd.CommandTimeout = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        // One statement per execution: after a PRAGMA that returns a row, an error of a later statement in the same
        // command text is not raised (seen: BEGIN IMMEDIATE on a locked database "passed").
        foreach (var statement in new[] { $"PRAGMA busy_timeout={(int)timeout.TotalMilliseconds}", "BEGIN IMMEDIATE", "ROLLBACK" })
        {
            cmd.CommandText = statement;
            cmd.ExecuteNonQuery();
        }
    }, ct);

    /// <summary>
    /// The group-commit writer: one non-pooled connection, driven through SQLitePCLRaw directly (the per-execute
    /// overhead of SqliteCommand — statement lookup, boxed parameter binding, a data reader per row — was a large part
    /// of the writer's CPU). BEGIN IMMEDIATE, the INSERT and COMMIT are prepared once; each row is bound
    /// (text as UTF-8 from a reusable buffer), stepped and reset. Every return code is checked; a failure rolls the
    /// whole batch back and throws a <see cref="SqliteException"/>.
    /// </summary>
    internal sealed class Writer : IJournalBatchWriter
    {
        private const int PPid = 1, PSeq = 2, PTs = 3, PMan = 4, PSer = 5, PPay = 6, PTags = 7, PWu = 8, PEm = 9;
        private static readonly byte[] EmptyZ = { 0 };

        private readonly SqliteConnection _conn;
        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _begin, _commit, _rollback, _insert;
        private byte[] _utf8 = new byte[256];
        private bool _disposed;
        private readonly WalCheckpointer? _checkpointer;
        private readonly int _rowsPerCheckpoint;
        private int _rowsSinceCheckpoint;

        public Writer(SqliteDialect d)
        {
            var s = d._s;
            // Not pooled: the connection carries writer-only pragmas and raw prepared statements, and after a failure
            // it is thrown away (Dispose really closes it, which also rolls back anything left open).
            _conn = new SqliteConnection(d._writerCs);
            try
            {
                _conn.Open();
                _db = _conn.Handle ?? throw new InvalidOperationException("SQLite writer connection has no handle");
                Exec("PRAGMA busy_timeout=30000");
                Exec($"PRAGMA synchronous={s.SqliteSynchronous.ToUpperInvariant()}");
                Exec("PRAGMA journal_mode=WAL");
                if (s.SqliteCacheSizeKiB > 0) Exec($"PRAGMA cache_size=-{s.SqliteCacheSizeKiB}");
                if (s.SqliteWalAutocheckpoint > 0)
                {
                    // A checkpoint copies the WAL's pages into the database file and fsyncs it: tens of milliseconds at
                    // 10,000 pages. SQLite's auto-checkpoint runs it inside the commit that crossed the threshold,
                    // stalling every write queued behind that batch. Instead a second connection on a thread of its own
                    // checkpoints (PASSIVE: it never blocks the writer), asked every so many rows — a row dirties about
                    // one index page, so half the page threshold in rows keeps the WAL near it. SQLite's own
                    // auto-checkpoint stays as the bound, at four times the threshold, should that thread fall behind.
                    Exec($"PRAGMA wal_autocheckpoint={4L * s.SqliteWalAutocheckpoint}");
                    _rowsPerCheckpoint = Math.Max(1, s.SqliteWalAutocheckpoint / 2);
                    _checkpointer = new WalCheckpointer(d._writerCs);
                }
                else
                {
                    Exec("PRAGMA wal_autocheckpoint=0");
                }
                _begin = Prepare("BEGIN IMMEDIATE");
                _commit = Prepare("COMMIT");
                _rollback = Prepare("ROLLBACK");
                _insert = Prepare($"INSERT INTO {d._j} (persistence_id, sequence_nr, timestamp, deleted, manifest, serializer_id, payload, tags, writer_uuid, event_manifest) " +
                                  "VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6, ?7, ?8, ?9)");
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        private void Exec(string sql)
        {
            // Runs the statement to completion (PRAGMAs may return a row, e.g. journal_mode).
            var stmt = Prepare(sql);
            try
            {
                int rc;
                while ((rc = raw.sqlite3_step(stmt)) == raw.SQLITE_ROW) { }
                if (rc != raw.SQLITE_DONE) throw Error(rc, sql);
            }
            finally { stmt.Dispose(); }
        }

        private sqlite3_stmt Prepare(string sql)
        {
            var rc = raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out var stmt);
            if (rc != raw.SQLITE_OK)
            {
                stmt?.Dispose();
                throw Error(rc, "prepare " + sql);
            }
            return stmt;
        }

        private SqliteException Error(int rc, string what)
        {
            var ext = raw.sqlite3_extended_errcode(_db);
            var msg = raw.sqlite3_errmsg(_db).utf8_to_string();
            return new SqliteException($"SQLite journal writer: {what} failed: SQLite Error {rc}: '{msg}' (extended code {ext})", rc, ext);
        }

        private void Step(sqlite3_stmt stmt, string what)
        {
            var rc = raw.sqlite3_step(stmt);
            if (rc != raw.SQLITE_DONE)
            {
                var e = Error(rc, what);
                raw.sqlite3_reset(stmt);
                throw e;
            }
            raw.sqlite3_reset(stmt);
        }

        public void WriteBatch(IReadOnlyList<JournalRow> rows, Action? beforeCommit = null)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Step(_begin, "BEGIN IMMEDIATE");
            try
            {
                for (var i = 0; i < rows.Count; i++)
                {
                    var r = rows[i];
                    Check(BindText(PPid, r.PersistenceId), r);
                    Check(raw.sqlite3_bind_int64(_insert, PSeq, r.SequenceNr), r);
                    Check(raw.sqlite3_bind_int64(_insert, PTs, r.Timestamp), r);
                    Check(BindText(PMan, r.Manifest), r);
                    Check(raw.sqlite3_bind_int(_insert, PSer, r.SerializerId), r);
                    Check(raw.sqlite3_bind_blob(_insert, PPay, r.Payload ?? Array.Empty<byte>()), r);
                    Check(BindText(PTags, r.Tags), r);
                    Check(BindText(PWu, r.WriterUuid), r);
                    Check(BindText(PEm, r.EventManifest), r);
                    var rc = raw.sqlite3_step(_insert);
                    if (rc != raw.SQLITE_DONE)
                    {
                        var e = Error(rc, $"INSERT of {r.PersistenceId}#{r.SequenceNr}");
                        raw.sqlite3_reset(_insert);
                        throw e;
                    }
                    raw.sqlite3_reset(_insert);
                }
                raw.sqlite3_clear_bindings(_insert); // don't keep the last row's copies around between batches
                beforeCommit?.Invoke();
                Step(_commit, "COMMIT");
                if (_checkpointer is not null && _checkpointer.TakeCaughtUp())
                    raw.sqlite3_wal_checkpoint_v2(_db, null, raw.SQLITE_CHECKPOINT_PASSIVE, out _, out _);
                _rowsSinceCheckpoint += rows.Count;
                if (_checkpointer is not null && _rowsSinceCheckpoint >= _rowsPerCheckpoint)
                {
                    _rowsSinceCheckpoint = 0;
                    _checkpointer.Request();
                }
            }
            catch
            {
                Rollback();
                throw;
            }
        }

        private void Check(int rc, JournalRow r)
        {
            if (rc != raw.SQLITE_OK)
            {
                var e = Error(rc, $"bind of {r.PersistenceId}#{r.SequenceNr}");
                raw.sqlite3_reset(_insert);
                throw e;
            }
        }

        /// <summary>Binds a string as UTF-8 (SQLITE_TRANSIENT: SQLite copies it, so one scratch buffer serves all).</summary>
        private int BindText(int index, string? value)
        {
            // An empty span would be passed as a NULL pointer, i.e. bound as SQL NULL: bind a NUL-terminated "" instead.
            if (string.IsNullOrEmpty(value)) return raw.sqlite3_bind_text(_insert, index, utf8z.FromSpan(EmptyZ));
            var max = System.Text.Encoding.UTF8.GetMaxByteCount(value.Length);
            if (max > _utf8.Length) _utf8 = new byte[Math.Max(max, _utf8.Length * 2)];
            var n = System.Text.Encoding.UTF8.GetBytes(value, _utf8);
            return raw.sqlite3_bind_text(_insert, index, new ReadOnlySpan<byte>(_utf8, 0, n));
        }

        private void Rollback()
        {
            try
            {
                if (raw.sqlite3_get_autocommit(_db) == 0) // still in the transaction (SQLite may have rolled back itself)
                {
                    raw.sqlite3_step(_rollback);
                    raw.sqlite3_reset(_rollback);
                }
            }
            catch { /* the connection is discarded by the caller anyway; closing it rolls back */ }
        }

        /// <summary>Reads an integer PRAGMA of the writer connection (tests).</summary>
        internal long QueryPragma(string name)
        {
            var stmt = Prepare("PRAGMA " + name);
            try
            {
                var rc = raw.sqlite3_step(stmt);
                if (rc != raw.SQLITE_ROW) throw Error(rc, "PRAGMA " + name);
                return raw.sqlite3_column_int64(stmt, 0);
            }
            finally { stmt.Dispose(); }
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            // Finalize our statements before the connection closes (it would otherwise stay open as a zombie).
            _insert?.Dispose();
            _begin?.Dispose();
            _commit?.Dispose();
            _rollback?.Dispose();
            _checkpointer?.Dispose();
            _conn.Dispose();
        }
    }

    /// <summary>Runs PASSIVE WAL checkpoints on a connection and thread of its own, when the writer asks.</summary>
    private sealed class WalCheckpointer : IDisposable
    {
        private readonly string _cs;
        private readonly SemaphoreSlim _requested = new(0, 1);
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;
        private bool _caughtUp;

        /// <summary>True once after a background pass has copied (nearly) the whole WAL back.</summary>
        public bool TakeCaughtUp() => Interlocked.Exchange(ref _caughtUp, false);

        public WalCheckpointer(string connectionString)
        {
            _cs = connectionString;
            _thread = new Thread(Run) { IsBackground = true, Name = "daytrading-wal-checkpoint" };
            _thread.Start();
        }

        /// <summary>Asks for a checkpoint; a request while one is pending or running is merged into it.</summary>
        public void Request()
        {
            try { _requested.Release(); }
            catch (SemaphoreFullException) { }
        }

        private void Run()
        {
            SqliteConnection? conn = null;
            try
            {
                while (true)
                {
                    _requested.Wait(_stop.Token);
                    try
                    {
                        if (conn is null)
                        {
                            conn = new SqliteConnection(_cs);
                            conn.Open();
                            // A new connection is not in WAL mode (a checkpoint is a no-op) until it has read the file.
                            using var cmd = conn.CreateCommand();
                            cmd.CommandText = "PRAGMA journal_mode=WAL";
                            cmd.ExecuteNonQuery();
                        }
                        // The bulk of the copying runs beside the writer (PASSIVE). The WAL starts over only when the
                        // writer begins a transaction with every frame already copied back, which a busy writer almost
                        // never does by chance: so the writer, told it is nearly done, copies the few frames written
                        // meanwhile itself (a millisecond, not the whole WAL), and its next commit restarts the WAL.
                        for (var pass = 0; pass < 4; pass++)
                        {
                            var rc = raw.sqlite3_wal_checkpoint_v2(conn.Handle, null, raw.SQLITE_CHECKPOINT_PASSIVE, out var log, out var done);
                            if (rc != raw.SQLITE_OK || log <= 0 || log - done < 64) break;
                        }
                        Volatile.Write(ref _caughtUp, true);
                    }
                    catch (SqliteException)
                    {
                        // The writer falls back to checkpointing itself when the WAL grows on; try afresh next time.
                        conn?.Dispose();
                        conn = null;
                    }
                }
            }
            catch (OperationCanceledException) { }
            finally { conn?.Dispose(); }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join(TimeSpan.FromSeconds(30));
            _stop.Dispose();
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

    public Task<IReadOnlyList<JournalRow>> ReadTaggedAsync(long afterOrdering, string tag, int max, CancellationToken ct = default) => Run(() =>
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        // "tags <> ''" lets SQLite use the partial index.
        cmd.CommandText = $"SELECT {Cols} FROM {_j} WHERE tags = $tag AND tags <> '' AND ordering > $after ORDER BY ordering LIMIT $max";
        cmd.Parameters.AddWithValue("$tag", tag);
        cmd.Parameters.AddWithValue("$after", afterOrdering);
        return ReadRows(cmd, max);
    }, ct);

    /// <summary>Runs <paramref name="cmd"/> with <c>$max</c> bound to <paramref name="max"/> and reads its rows.</summary>
    private static IReadOnlyList<JournalRow> ReadRows(SqliteCommand cmd, int max)
    {
        cmd.Parameters.AddWithValue("$max", max);
        var list = new List<JournalRow>(Math.Min(max, 4096));
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add(ReadRow(r));
        return list;
    }

    public Task<IReadOnlyList<JournalRow>> ReadAllAsync(long afterOrdering, int max, bool includeDeleted, CancellationToken ct = default) => Run(() =>
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {Cols} FROM {_j} WHERE ordering > $after {(includeDeleted ? "" : "AND deleted = 0")} ORDER BY ordering LIMIT $max";
        cmd.Parameters.AddWithValue("$after", afterOrdering);
        return ReadRows(cmd, max);
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
