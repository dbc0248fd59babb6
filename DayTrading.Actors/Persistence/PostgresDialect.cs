using Npgsql;
using NpgsqlTypes;

namespace DayTrading.Persistence;

/// <summary>
/// PostgreSQL 15 via Npgsql. One writer connection (group-commit thread) writing each batch in one
/// transaction with binary COPY (default) or one INSERT ... SELECT FROM unnest(arrays); readers use the
/// pooled data source asynchronously.
/// </summary>
public sealed class PostgresDialect : IPersistenceDialect
{
    private readonly DayTradingDbSettings _s;
    private readonly NpgsqlDataSource _ds;
    private readonly string _j;
    private readonly string _snap;
    private readonly long _lockKey;
    private readonly SemaphoreSlim _gate;

    private async Task<T> Gate<T>(Func<Task<T>> f, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try { return await f().ConfigureAwait(false); }
        finally { _gate.Release(); }
    }

    private Task Gate(Func<Task> f, CancellationToken ct) => Gate(async () => { await f().ConfigureAwait(false); return true; }, ct);

    public PostgresDialect(DayTradingDbSettings settings)
    {
        _s = settings;
        var csb = new NpgsqlConnectionStringBuilder(settings.ConnectionString);
        // Bound connections per plugin instance: readers are limited by _gate, +2 for the writer and spare.
        // (PostgreSQL's max_connections is shared by every process on the server.)
        if (!settings.ConnectionString.Contains("Maximum Pool Size", StringComparison.OrdinalIgnoreCase) &&
            !settings.ConnectionString.Contains("Max Pool Size", StringComparison.OrdinalIgnoreCase))
            csb.MaxPoolSize = settings.MaxConcurrentReads + 2;
        // Every batch of every node holds one advisory lock (WriteBatch). A node cut off from the network in the middle
        // of a batch leaves its backend idle in that transaction, holding the lock, and every other node's writes
        // wait behind it until PostgreSQL notices the client is gone: by default after the OS keepalive, over two
        // hours. So each session asks its backend to end a transaction left idle and to probe a silent client; a dead
        // holder is gone within about 6 s (docs/CLUSTER.md, "Partitions"). Options in the connection string win.
        csb.Options = DeadClientOptions + (string.IsNullOrWhiteSpace(csb.Options) ? "" : " " + csb.Options);
        _ds = NpgsqlDataSource.Create(csb.ConnectionString);
        _gate = new SemaphoreSlim(settings.MaxConcurrentReads);
        var prefix = settings.Schema.Length > 0 ? "\"" + settings.Schema + "\"." : "";
        _j = prefix + "\"" + settings.JournalTable + "\"";
        _snap = prefix + "\"" + settings.SnapshotTable + "\"";
        _lockKey = StableHash("daytrading-journal:" + _j);
    }

    /// <summary>
    /// Server settings of every journal session: a transaction idle for 5 s is ended (a batch is idle for
    /// milliseconds between its statements unless its node is gone), and a silent client is probed after 3 s, every
    /// second, 3 times, or dropped when data sent to it stays unacknowledged for 5 s.
    /// </summary>
    public const string DeadClientOptions = "-c idle_in_transaction_session_timeout=5s -c tcp_keepalives_idle=3 " +
        "-c tcp_keepalives_interval=1 -c tcp_keepalives_count=3 -c tcp_user_timeout=5000";

    private static long StableHash(string s)
    {
        // FNV-1a 64: stable across processes (string.GetHashCode is randomized).
        var h = 14695981039346656037UL;
        foreach (var ch in s) { h ^= ch; h *= 1099511628211UL; }
        return (long)h;
    }

    public string Provider => "postgresql";

    /// <summary>For tests: the sessions every reader and the writer use, and the key of the batches' shared lock.</summary>
    internal NpgsqlDataSource DataSource => _ds;
    internal long BatchLockKey => _lockKey;

    public async Task InitializeAsync(CancellationToken ct = default)
    {
        await using var c = await _ds.OpenConnectionAsync(ct);
        var schema = _s.Schema.Length > 0 ? $"CREATE SCHEMA IF NOT EXISTS \"{_s.Schema}\";" : "";
        var idx = "\"" + _s.JournalTable + "_pid_seq\"";
        await using var cmd = new NpgsqlCommand($"""
            {schema}
            CREATE TABLE IF NOT EXISTS {_j} (
              ordering       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              persistence_id TEXT     NOT NULL,
              sequence_nr    BIGINT   NOT NULL,
              timestamp      BIGINT   NOT NULL,
              deleted        BOOLEAN  NOT NULL DEFAULT FALSE,
              manifest       TEXT     NOT NULL DEFAULT '',
              serializer_id  INTEGER  NOT NULL,
              payload        BYTEA    NOT NULL,
              tags           TEXT     NOT NULL DEFAULT '',
              writer_uuid    TEXT     NOT NULL DEFAULT '',
              event_manifest TEXT     NOT NULL DEFAULT '',
              CONSTRAINT {idx} UNIQUE (persistence_id, sequence_nr)
            );
            CREATE INDEX IF NOT EXISTS "{_s.JournalTable}_tagged" ON {_j} (tags, ordering) WHERE tags <> '';
            CREATE TABLE IF NOT EXISTS {_snap} (
              persistence_id TEXT     NOT NULL,
              sequence_nr    BIGINT   NOT NULL,
              created        BIGINT   NOT NULL,
              manifest       TEXT     NOT NULL DEFAULT '',
              serializer_id  INTEGER  NOT NULL,
              payload        BYTEA    NOT NULL,
              PRIMARY KEY (persistence_id, sequence_nr)
            );
            """, c);
        try
        {
            await cmd.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState is "23505" or "42P07")
        {
            // concurrent CREATE ... IF NOT EXISTS race (two plugins initializing at once): tables exist now.
        }
    }

    public IJournalBatchWriter OpenWriter() => new Writer(this);

    // A standby (after a failover) or a read-only database refuses the lock; a table locked by someone else past the
    // timeout fails it. Nothing is written, the transaction rolls back.
    public async Task ProbeWriteAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout + TimeSpan.FromSeconds(1));
        await using var c = await _ds.OpenConnectionAsync(cts.Token).ConfigureAwait(false);
        await using var tx = await c.BeginTransactionAsync(cts.Token).ConfigureAwait(false);
        await using var cmd = new NpgsqlCommand(
            $"SET LOCAL lock_timeout = '{(int)timeout.TotalMilliseconds}ms'; LOCK TABLE {_j} IN ROW EXCLUSIVE MODE; SHOW transaction_read_only;", c, tx);
        if (await cmd.ExecuteScalarAsync(cts.Token).ConfigureAwait(false) is "on") throw new InvalidOperationException("the journal database is read-only");
        await tx.RollbackAsync(cts.Token).ConfigureAwait(false);
    }

    private const string InsertCols = "persistence_id, sequence_nr, timestamp, deleted, manifest, serializer_id, payload, tags, writer_uuid, event_manifest";

    private sealed class Writer : IJournalBatchWriter
    {
        private readonly PostgresDialect _d;
        private readonly NpgsqlConnection _conn;
        private readonly bool _copy;
        private NpgsqlCommand? _unnest;
        private NpgsqlCommand? _lock;

        public Writer(PostgresDialect d)
        {
            _d = d;
            _conn = d._ds.OpenConnection();
            _copy = d._s.PostgresWriteMode.Equals("copy", StringComparison.OrdinalIgnoreCase);
        }

        public void WriteBatch(IReadOnlyList<JournalRow> rows, Action? beforeCommit = null)
        {
            using var tx = _conn.BeginTransaction();
            // Serialize batch transactions of ALL writers of this table (several nodes): ordering values are
            // then committed in increasing order, so an "ordering > offset" reader never skips a later-committed
            // smaller ordering. One cheap lock per batch (released at COMMIT/ROLLBACK).
            _lock ??= new NpgsqlCommand($"SELECT pg_advisory_xact_lock({_d._lockKey})", _conn);
            _lock.Transaction = tx;
            _lock.ExecuteNonQuery();
            if (_copy) Copy(rows); else Unnest(rows, tx);
            beforeCommit?.Invoke();
            tx.Commit();
        }

        private void Copy(IReadOnlyList<JournalRow> rows)
        {
            using var imp = _conn.BeginBinaryImport($"COPY {_d._j} ({InsertCols}) FROM STDIN (FORMAT BINARY)");
            foreach (var r in rows)
            {
                imp.StartRow();
                imp.Write(r.PersistenceId, NpgsqlDbType.Text);
                imp.Write(r.SequenceNr, NpgsqlDbType.Bigint);
                imp.Write(r.Timestamp, NpgsqlDbType.Bigint);
                imp.Write(false, NpgsqlDbType.Boolean);
                imp.Write(r.Manifest, NpgsqlDbType.Text);
                imp.Write(r.SerializerId, NpgsqlDbType.Integer);
                imp.Write(r.Payload, NpgsqlDbType.Bytea);
                imp.Write(r.Tags, NpgsqlDbType.Text);
                imp.Write(r.WriterUuid, NpgsqlDbType.Text);
                imp.Write(r.EventManifest, NpgsqlDbType.Text);
            }
            imp.Complete();
        }

        private void Unnest(IReadOnlyList<JournalRow> rows, NpgsqlTransaction tx)
        {
            if (_unnest is null)
            {
                _unnest = new NpgsqlCommand(
                    $"INSERT INTO {_d._j} ({InsertCols}) SELECT p, s, t, FALSE, m, z, b, g, w, e FROM unnest(@p, @s, @t, @m, @z, @b, @g, @w, @e) AS x(p, s, t, m, z, b, g, w, e)",
                    _conn);
                _unnest.Parameters.Add(new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Text));
                _unnest.Parameters.Add(new NpgsqlParameter("s", NpgsqlDbType.Array | NpgsqlDbType.Bigint));
                _unnest.Parameters.Add(new NpgsqlParameter("t", NpgsqlDbType.Array | NpgsqlDbType.Bigint));
                _unnest.Parameters.Add(new NpgsqlParameter("m", NpgsqlDbType.Array | NpgsqlDbType.Text));
                _unnest.Parameters.Add(new NpgsqlParameter("z", NpgsqlDbType.Array | NpgsqlDbType.Integer));
                _unnest.Parameters.Add(new NpgsqlParameter("b", NpgsqlDbType.Array | NpgsqlDbType.Bytea));
                _unnest.Parameters.Add(new NpgsqlParameter("g", NpgsqlDbType.Array | NpgsqlDbType.Text));
                _unnest.Parameters.Add(new NpgsqlParameter("w", NpgsqlDbType.Array | NpgsqlDbType.Text));
                _unnest.Parameters.Add(new NpgsqlParameter("e", NpgsqlDbType.Array | NpgsqlDbType.Text));
            }
            var n = rows.Count;
            var p = new string[n]; var s = new long[n]; var t = new long[n]; var m = new string[n]; var z = new int[n];
            var b = new byte[n][]; var g = new string[n]; var w = new string[n]; var e = new string[n];
            for (var i = 0; i < n; i++)
            {
                var r = rows[i];
                p[i] = r.PersistenceId; s[i] = r.SequenceNr; t[i] = r.Timestamp; m[i] = r.Manifest; z[i] = r.SerializerId;
                b[i] = r.Payload; g[i] = r.Tags; w[i] = r.WriterUuid; e[i] = r.EventManifest;
            }
            var ps = _unnest.Parameters;
            ps[0].Value = p; ps[1].Value = s; ps[2].Value = t; ps[3].Value = m; ps[4].Value = z;
            ps[5].Value = b; ps[6].Value = g; ps[7].Value = w; ps[8].Value = e;
            _unnest.Transaction = tx;
            _unnest.ExecuteNonQuery();
        }

        public void Dispose()
        {
            _unnest?.Dispose();
            _lock?.Dispose();
            _conn.Dispose();
        }
    }

    private const string Cols = "ordering, persistence_id, sequence_nr, timestamp, deleted, manifest, serializer_id, payload, tags, writer_uuid, event_manifest";

    private static JournalRow ReadRow(NpgsqlDataReader r) => new()
    {
        Ordering = r.GetInt64(0),
        PersistenceId = r.GetString(1),
        SequenceNr = r.GetInt64(2),
        Timestamp = r.GetInt64(3),
        Deleted = r.GetBoolean(4),
        Manifest = r.GetString(5),
        SerializerId = r.GetInt32(6),
        Payload = r.GetFieldValue<byte[]>(7),
        Tags = r.GetString(8),
        WriterUuid = r.GetString(9),
        EventManifest = r.GetString(10),
    };

    public Task ReplayAsync(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<JournalRow> onRow, CancellationToken ct = default) => Gate(() => ReplayAsyncCore(persistenceId, fromSequenceNr, toSequenceNr, max, onRow, ct), ct);

    private async Task ReplayAsyncCore(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<JournalRow> onRow, CancellationToken ct = default)
    {
        if (max <= 0) return;
        await using var cmd = _ds.CreateCommand(
            $"SELECT {Cols} FROM {_j} WHERE persistence_id = $1 AND sequence_nr >= $2 AND sequence_nr <= $3 AND NOT deleted ORDER BY sequence_nr LIMIT $4");
        cmd.Parameters.Add(new NpgsqlParameter { Value = persistenceId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = fromSequenceNr });
        cmd.Parameters.Add(new NpgsqlParameter { Value = toSequenceNr });
        cmd.Parameters.Add(new NpgsqlParameter { Value = max });
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) onRow(ReadRow(r));
    }

    public Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken ct = default) => Gate(() => ReadHighestSequenceNrAsyncCore(persistenceId, ct), ct);

    private async Task<long> ReadHighestSequenceNrAsyncCore(string persistenceId, CancellationToken ct = default)
    {
        await using var cmd = _ds.CreateCommand($"SELECT COALESCE(MAX(sequence_nr), 0) FROM {_j} WHERE persistence_id = $1");
        cmd.Parameters.Add(new NpgsqlParameter { Value = persistenceId });
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct));
    }

    public Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken ct = default) => Gate(() => DeleteMessagesToAsyncCore(persistenceId, toSequenceNr, ct), ct);

    private async Task DeleteMessagesToAsyncCore(string persistenceId, long toSequenceNr, CancellationToken ct = default)
    {
        await using var cmd = _ds.CreateCommand($"UPDATE {_j} SET deleted = TRUE WHERE persistence_id = $1 AND sequence_nr <= $2 AND NOT deleted");
        cmd.Parameters.Add(new NpgsqlParameter { Value = persistenceId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = toSequenceNr });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public Task<IReadOnlyList<JournalRow>> ReadAllAsync(long afterOrdering, int max, bool includeDeleted, CancellationToken ct = default) => Gate(() => ReadAllAsyncCore(afterOrdering, max, includeDeleted, ct), ct);

    public Task<IReadOnlyList<JournalRow>> ReadTaggedAsync(long afterOrdering, string tag, int max, CancellationToken ct = default) => Gate(async () =>
    {
        await using var cmd = _ds.CreateCommand($"SELECT {Cols} FROM {_j} WHERE tags = $1 AND tags <> '' AND ordering > $2 ORDER BY ordering LIMIT $3");
        cmd.Parameters.Add(new NpgsqlParameter { Value = tag });
        cmd.Parameters.Add(new NpgsqlParameter { Value = afterOrdering });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (long)max });
        var list = new List<JournalRow>(Math.Min(max, 4096));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) list.Add(ReadRow(r));
        return (IReadOnlyList<JournalRow>)list;
    }, ct);

    private async Task<IReadOnlyList<JournalRow>> ReadAllAsyncCore(long afterOrdering, int max, bool includeDeleted, CancellationToken ct = default)
    {
        await using var cmd = _ds.CreateCommand(
            $"SELECT {Cols} FROM {_j} WHERE ordering > $1 {(includeDeleted ? "" : "AND NOT deleted")} ORDER BY ordering LIMIT $2");
        cmd.Parameters.Add(new NpgsqlParameter { Value = afterOrdering });
        cmd.Parameters.Add(new NpgsqlParameter { Value = (long)max });
        var list = new List<JournalRow>(Math.Min(max, 4096));
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) list.Add(ReadRow(r));
        return list;
    }

    public Task SaveSnapshotAsync(SnapshotRow row, CancellationToken ct = default) => Gate(() => SaveSnapshotAsyncCore(row, ct), ct);

    private async Task SaveSnapshotAsyncCore(SnapshotRow row, CancellationToken ct = default)
    {
        await using var cmd = _ds.CreateCommand(
            $"INSERT INTO {_snap} (persistence_id, sequence_nr, created, manifest, serializer_id, payload) VALUES ($1, $2, $3, $4, $5, $6) " +
            "ON CONFLICT (persistence_id, sequence_nr) DO UPDATE SET created = EXCLUDED.created, manifest = EXCLUDED.manifest, serializer_id = EXCLUDED.serializer_id, payload = EXCLUDED.payload");
        cmd.Parameters.Add(new NpgsqlParameter { Value = row.PersistenceId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = row.SequenceNr });
        cmd.Parameters.Add(new NpgsqlParameter { Value = row.TimestampTicks });
        cmd.Parameters.Add(new NpgsqlParameter { Value = row.Manifest });
        cmd.Parameters.Add(new NpgsqlParameter { Value = row.SerializerId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = row.Payload, NpgsqlDbType = NpgsqlDbType.Bytea });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private const string BoundsWhere = "sequence_nr >= $2 AND sequence_nr <= $3 AND created >= $4 AND created <= $5";

    private static void AddBounds(NpgsqlCommand cmd, string pid, SnapshotBounds b)
    {
        cmd.Parameters.Add(new NpgsqlParameter { Value = pid });
        cmd.Parameters.Add(new NpgsqlParameter { Value = b.MinSequenceNr });
        cmd.Parameters.Add(new NpgsqlParameter { Value = b.MaxSequenceNr });
        cmd.Parameters.Add(new NpgsqlParameter { Value = b.MinTicks });
        cmd.Parameters.Add(new NpgsqlParameter { Value = b.MaxTicks });
    }

    public Task<SnapshotRow?> LoadSnapshotAsync(string persistenceId, SnapshotBounds bounds, CancellationToken ct = default) => Gate(() => LoadSnapshotAsyncCore(persistenceId, bounds, ct), ct);

    private async Task<SnapshotRow?> LoadSnapshotAsyncCore(string persistenceId, SnapshotBounds bounds, CancellationToken ct = default)
    {
        await using var cmd = _ds.CreateCommand(
            $"SELECT persistence_id, sequence_nr, created, manifest, serializer_id, payload FROM {_snap} WHERE persistence_id = $1 AND {BoundsWhere} ORDER BY sequence_nr DESC LIMIT 1");
        AddBounds(cmd, persistenceId, bounds);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct)) return null;
        return new SnapshotRow
        {
            PersistenceId = r.GetString(0), SequenceNr = r.GetInt64(1), TimestampTicks = r.GetInt64(2),
            Manifest = r.GetString(3), SerializerId = r.GetInt32(4), Payload = r.GetFieldValue<byte[]>(5),
        };
    }

    public Task DeleteSnapshotAsync(string persistenceId, long sequenceNr, long? timestampTicks, CancellationToken ct = default) => Gate(() => DeleteSnapshotAsyncCore(persistenceId, sequenceNr, timestampTicks, ct), ct);

    private async Task DeleteSnapshotAsyncCore(string persistenceId, long sequenceNr, long? timestampTicks, CancellationToken ct = default)
    {
        await using var cmd = _ds.CreateCommand(
            $"DELETE FROM {_snap} WHERE persistence_id = $1 AND sequence_nr = $2" + (timestampTicks is null ? "" : " AND created = $3"));
        cmd.Parameters.Add(new NpgsqlParameter { Value = persistenceId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = sequenceNr });
        if (timestampTicks is not null) cmd.Parameters.Add(new NpgsqlParameter { Value = timestampTicks.Value });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public Task DeleteSnapshotsAsync(string persistenceId, SnapshotBounds bounds, CancellationToken ct = default) => Gate(() => DeleteSnapshotsAsyncCore(persistenceId, bounds, ct), ct);

    private async Task DeleteSnapshotsAsyncCore(string persistenceId, SnapshotBounds bounds, CancellationToken ct = default)
    {
        await using var cmd = _ds.CreateCommand($"DELETE FROM {_snap} WHERE persistence_id = $1 AND {BoundsWhere}");
        AddBounds(cmd, persistenceId, bounds);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public void Dispose()
    {
        _ds.Dispose();
        _gate.Dispose();
    }
}
