using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace DayTrading.Persistence;

/// <summary>
/// The journal and snapshot store on one Redis server (docs/PERSISTENCE-REDIS.md). Keys under a prefix (the plugin's
/// schema, default <c>dt</c>):
/// <list type="bullet">
/// <item><c>{p}:ordering</c> — the global ordering counter;</item>
/// <item><c>{p}:row:{pid}</c> — hash, field = sequence number, value = <c>ordering:</c> then the row's binary form;</item>
/// <item><c>{p}:high:{pid}</c> — the highest sequence number written; <c>{p}:del:{pid}</c> — deleted up to;</item>
/// <item><c>{p}:log</c> — sorted set of every row by ordering (member <c>pid\nseq</c>), what the Auditor and the
/// AutoTxManager read; <c>{p}:tag:{tags}</c> — the same for the rows of one tag string;</item>
/// <item><c>{p}:snap:{pid}</c> — hash, field = sequence number, value = the snapshot's binary form.</item>
/// </list>
/// A batch is ONE Lua script: it checks that none of its (pid, seq) exists, then assigns orderings and writes every
/// row, log and tag entry — all or nothing, in commit order across every node writing to the server. Durable before
/// the answer only on a server with <c>appendonly yes</c> and <c>appendfsync always</c> (checked at start).
/// </summary>
public sealed class RedisDialect : IPersistenceDialect
{
    private const string BatchScript = """
        local p = ARGV[1]
        local n = tonumber(ARGV[2])
        for i = 0, n - 1 do
          local b = 3 + i * 4
          if redis.call('HEXISTS', p .. ':row:' .. ARGV[b], ARGV[b + 1]) == 1 then
            return redis.error_reply('DUPLICATE ' .. ARGV[b] .. ' ' .. ARGV[b + 1])
          end
        end
        for i = 0, n - 1 do
          local b = 3 + i * 4
          local pid, seq, tags = ARGV[b], ARGV[b + 1], ARGV[b + 3]
          local ord = redis.call('INCR', p .. ':ordering')
          redis.call('HSET', p .. ':row:' .. pid, seq, ord .. ':' .. ARGV[b + 2])
          local member = pid .. '\n' .. seq
          redis.call('ZADD', p .. ':log', ord, member)
          if tags ~= '' then redis.call('ZADD', p .. ':tag:' .. tags, ord, member) end
          local high = tonumber(redis.call('GET', p .. ':high:' .. pid) or '0')
          if tonumber(seq) > high then redis.call('SET', p .. ':high:' .. pid, seq) end
        end
        return n
        """;

    private const string DeleteScript = """
        local high = tonumber(redis.call('GET', KEYS[1]) or '0')
        local to = math.min(tonumber(ARGV[1]), high)
        local del = tonumber(redis.call('GET', KEYS[2]) or '0')
        if to > del then redis.call('SET', KEYS[2], to) end
        return to
        """;

    private readonly DayTradingDbSettings _s;
    private readonly string _p;
    private readonly SharedConnection _redis;
    private readonly SemaphoreSlim _gate;
    private int _disposed;

    public RedisDialect(DayTradingDbSettings settings)
    {
        _s = settings;
        _p = settings.RedisKeyPrefix;
        _gate = new SemaphoreSlim(settings.MaxConcurrentReads);
        _redis = SharedConnection.Acquire(settings.ConnectionString);
    }

    /// <summary>
    /// One multiplexer per server and process, however many dialects use it (the journal, the snapshot store, the
    /// event-log readers, the readiness probe): they lose the server and get it back together, so a node whose
    /// readiness probe writes again has the connection its accounts recover and write on too, instead of one
    /// that is still waiting for its next reconnect attempt. (StackExchange.Redis advises one per process anyway.)
    /// </summary>
    private sealed class SharedConnection
    {
        private static readonly Dictionary<string, SharedConnection> ByServer = new(StringComparer.Ordinal);
        private readonly string _connectionString;
        private readonly Lazy<ConnectionMultiplexer> _multiplexer;
        private int _users;

        private SharedConnection(string connectionString)
        {
            _connectionString = connectionString;
            _multiplexer = new Lazy<ConnectionMultiplexer>(() => ConnectionMultiplexer.Connect(Options(connectionString)));
        }

        public ConnectionMultiplexer Value => _multiplexer.Value;

        public static SharedConnection Acquire(string connectionString)
        {
            lock (ByServer)
            {
                if (!ByServer.TryGetValue(connectionString, out var shared)) ByServer[connectionString] = shared = new SharedConnection(connectionString);
                shared._users++;
                return shared;
            }
        }

        public void Release()
        {
            lock (ByServer)
            {
                if (--_users > 0) return;
                ByServer.Remove(_connectionString);
            }
            if (_multiplexer.IsValueCreated) _multiplexer.Value.Dispose();
        }
    }

    public string Provider => "redis";

    /// <summary>
    /// Deletes every key under <paramref name="prefix"/> (found with SCAN, deleted a thousand at a time): what dropping
    /// a schema is on the SQL stores, for a server other prefixes share (never FLUSHALL). Answers how many were deleted.
    /// </summary>
    public static async Task<long> DeleteKeysUnderAsync(IConnectionMultiplexer redis, string prefix)
    {
        var db = redis.GetDatabase();
        var removed = 0L;
        var page = new List<RedisKey>(1000);
        await foreach (var key in redis.GetServers()[0].KeysAsync(pattern: prefix + ":*", pageSize: 1000).ConfigureAwait(false))
        {
            page.Add(key);
            if (page.Count < 1000) continue;
            removed += await db.KeyDeleteAsync(page.ToArray()).ConfigureAwait(false);
            page.Clear();
        }
        if (page.Count > 0) removed += await db.KeyDeleteAsync(page.ToArray()).ConfigureAwait(false);
        return removed;
    }

    /// <summary>
    /// The server's connection settings. A server that goes away must give every caller an error at once and be
    /// reconnected to by itself when it is back:
    /// <list type="bullet">
    /// <item>no abort on a failed connect: the node starts (and keeps running) while the server is down, and the
    /// multiplexer keeps trying, every second (<see cref="LinearRetry"/>), so the node is ready soon after the server is;</item>
    /// <item><see cref="BacklogPolicy.FailFast"/>: a command issued while disconnected fails at once instead of waiting
    /// in a backlog for a server that may not come back, so the account answers "journal unavailable" now rather
    /// than its requester waiting for the gateway's time-out; nothing is ever retried by the client library, so a
    /// write whose answer was lost is decided by the group-commit writer and the batch script's duplicate check;</item>
    /// <item>connect, sync and async timeouts at most 5 s: a server that accepts the connection but does not answer
    /// (stopped with SIGSTOP, a full disk) still fails each call within a bound.</item>
    /// </list>
    /// </summary>
    internal static ConfigurationOptions Options(string connectionString)
    {
        var o = ConfigurationOptions.Parse(connectionString);
        o.AbortOnConnectFail = false;
        o.AllowAdmin = true; // CONFIG GET, for the durability check at start
        o.ConnectTimeout = Math.Min(o.ConnectTimeout, 5000);
        o.SyncTimeout = Math.Min(o.SyncTimeout, 5000);
        o.AsyncTimeout = Math.Min(o.AsyncTimeout, 5000);
        o.ConnectRetry = Math.Max(o.ConnectRetry, 1);
        o.ReconnectRetryPolicy = new LinearRetry(1000);
        o.BacklogPolicy = BacklogPolicy.FailFast;
        // No pub/sub connection: nothing here subscribes, and a second connection to lose and re-establish is a
        // second way for a command to find the server "unavailable" right after it came back.
        o.CommandMap = CommandMap.Create(["SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "SSUBSCRIBE", "SUNSUBSCRIBE"], available: false);
        o.ConfigurationChannel = "";
        return o;
    }

    private IDatabase Db => _redis.Value.GetDatabase();

    private string Key(string kind, string pid) => _p + ":" + kind + ":" + pid;

    /// <summary>Nothing to create; checks instead that the server makes every acknowledged write durable (or that unsafe was asked for).</summary>
    public async Task InitializeAsync(CancellationToken ct = default)
    {
        if (_s.RedisUnsafe) return;
        var problem = await DurabilityProblemAsync().ConfigureAwait(false);
        if (problem is not null) throw new InvalidOperationException(problem);
    }

    /// <summary>Why the server's settings do not make a write durable before its answer, or null.</summary>
    public async Task<string?> DurabilityProblemAsync()
    {
        var server = _redis.Value.GetServers().FirstOrDefault(s => s.IsConnected) ?? _redis.Value.GetServers().First();
        var settings = (await server.ConfigGetAsync("append*").ConfigureAwait(false)).ToDictionary(kv => kv.Key, kv => kv.Value);
        var appendOnly = settings.GetValueOrDefault("appendonly");
        var fsync = settings.GetValueOrDefault("appendfsync");
        if (appendOnly == "yes" && fsync == "always") return null;
        return $"the Redis server at {server.EndPoint} has appendonly {appendOnly ?? "?"} and appendfsync {fsync ?? "?"}: an acknowledged " +
               "event could be lost on a crash. Start it with --appendonly yes --appendfsync always (scripts/ensure-redis.sh does), or give " +
               "--redis-unsafe for a benchmark that may lose data";
    }

    public async Task ProbeWriteAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        // A real write, as the journal's: a server that cannot append to its AOF refuses it (MISCONF); it expires by itself.
        var write = Db.StringSetAsync(_p + ":probe", "1", TimeSpan.FromSeconds(10));
        await write.WaitAsync(timeout, ct).ConfigureAwait(false);
    }

    public IJournalBatchWriter OpenWriter() => new Writer(this);

    private sealed class Writer(RedisDialect d) : IJournalBatchWriter
    {
        private readonly List<RedisValue> _args = new(4096);

        public void WriteBatch(IReadOnlyList<JournalRow> rows, Action? beforeCommit = null)
        {
            _args.Clear();
            _args.Add(d._p);
            _args.Add(rows.Count);
            foreach (var r in rows)
            {
                _args.Add(r.PersistenceId);
                _args.Add(r.SequenceNr.ToString(CultureInfo.InvariantCulture));
                _args.Add(EncodeRow(r));
                _args.Add(r.Tags);
            }
            // The script is the transaction: nothing is written before it runs, so the hook sees the same "not yet
            // committed" state as between the SQL inserts and their COMMIT.
            beforeCommit?.Invoke();
            try
            {
                d.Db.ScriptEvaluate(BatchScript, keys: null, values: _args.ToArray());
            }
            catch (RedisServerException e) when (e.Message.StartsWith("DUPLICATE ", StringComparison.Ordinal) && d.AllStoredAsWritten(rows, _args))
            {
                // These very rows are there already, byte for byte (same writer, timestamp and payload): an earlier
                // attempt of this batch ran although its answer never came (a time-out on a busy server, the
                // connection lost after the script was sent), and the group-commit writer is trying them again.
                // The duplicate check stopped the second attempt before it wrote anything, so the retry is
                // idempotent and the write is committed. Any other row at one of these places (another writer's)
                // is a real conflict and fails the write, as the SQL stores' unique index does.
            }
        }

        public void Dispose() { }
    }

    /// <summary>Whether every row of a batch is stored with exactly the value <paramref name="args"/> (the batch script's arguments) gave it.</summary>
    private bool AllStoredAsWritten(IReadOnlyList<JournalRow> rows, List<RedisValue> args)
    {
        for (var i = 0; i < rows.Count; i++)
        {
            var stored = (byte[]?)Db.HashGet(Key("row", rows[i].PersistenceId), rows[i].SequenceNr.ToString(CultureInfo.InvariantCulture));
            if (stored is null) return false;
            var written = (byte[])args[4 + i * 4]!;
            var colon = Array.IndexOf(stored, (byte)':');
            if (colon < 0 || !stored.AsSpan(colon + 1).SequenceEqual(written)) return false;
        }
        return true;
    }

    // Row value: timestamp (8), serializer id (4), then length-prefixed manifest, writer uuid, event manifest, tags, payload.
    internal static byte[] EncodeRow(JournalRow r)
    {
        var strings = new[] { r.Manifest, r.WriterUuid, r.EventManifest, r.Tags };
        var size = 12 + 4 * (strings.Length + 1) + r.Payload.Length + strings.Sum(Encoding.UTF8.GetByteCount);
        var buffer = new byte[size];
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteInt64LittleEndian(span, r.Timestamp);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], r.SerializerId);
        var at = 12;
        foreach (var s in strings)
        {
            var n = Encoding.UTF8.GetBytes(s, span[(at + 4)..]);
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], n);
            at += 4 + n;
        }
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], r.Payload.Length);
        r.Payload.CopyTo(span[(at + 4)..]);
        return buffer;
    }

    /// <summary>A stored value (<c>ordering:</c> + <see cref="EncodeRow"/>) back into a row.</summary>
    internal static JournalRow DecodeRow(string pid, long seq, byte[] stored, long deletedTo)
    {
        var colon = Array.IndexOf(stored, (byte)':');
        var ordering = long.Parse(Encoding.ASCII.GetString(stored, 0, colon), NumberStyles.None, CultureInfo.InvariantCulture);
        ReadOnlySpan<byte> span = stored.AsSpan(colon + 1);
        var row = new JournalRow
        {
            Ordering = ordering, PersistenceId = pid, SequenceNr = seq, Deleted = seq <= deletedTo,
            Timestamp = BinaryPrimitives.ReadInt64LittleEndian(span), SerializerId = BinaryPrimitives.ReadInt32LittleEndian(span[8..]),
        };
        var at = 12;
        string Next(ReadOnlySpan<byte> s)
        {
            var n = BinaryPrimitives.ReadInt32LittleEndian(s[at..]);
            var value = Encoding.UTF8.GetString(s.Slice(at + 4, n));
            at += 4 + n;
            return value;
        }
        row.Manifest = Next(span);
        row.WriterUuid = Next(span);
        row.EventManifest = Next(span);
        row.Tags = Next(span);
        var length = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        row.Payload = span.Slice(at + 4, length).ToArray();
        return row;
    }

    private async Task<T> Gate<T>(Func<Task<T>> work, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await work().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private Task Gate(Func<Task> work, CancellationToken ct) => Gate(async () => { await work().ConfigureAwait(false); return 0; }, ct);

    private async Task<long> DeletedToAsync(string pid) => (long?)await Db.StringGetAsync(Key("del", pid)).ConfigureAwait(false) ?? 0;

    public Task ReplayAsync(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<JournalRow> onRow,
        CancellationToken ct = default) => Gate(async () =>
    {
        var high = await ReadHighestCoreAsync(persistenceId).ConfigureAwait(false);
        var deletedTo = await DeletedToAsync(persistenceId).ConfigureAwait(false);
        var from = Math.Max(fromSequenceNr, deletedTo + 1);
        var to = Math.Min(toSequenceNr, high);
        long delivered = 0;
        // Sequence numbers are gap-free, so a range is a list of hash fields, read a page at a time.
        for (var start = from; start <= to && delivered < max; start += _s.ReplayPageSize)
        {
            ct.ThrowIfCancellationRequested();
            var end = Math.Min(to, start + _s.ReplayPageSize - 1);
            var fields = new RedisValue[end - start + 1];
            for (var i = 0; i < fields.Length; i++) fields[i] = (start + i).ToString(CultureInfo.InvariantCulture);
            var values = await Db.HashGetAsync(Key("row", persistenceId), fields).ConfigureAwait(false);
            for (var i = 0; i < values.Length && delivered < max; i++)
            {
                if (values[i].IsNull) continue;
                onRow(DecodeRow(persistenceId, start + i, (byte[])values[i]!, deletedTo));
                delivered++;
            }
        }
        return 0;
    }, ct);

    private async Task<long> ReadHighestCoreAsync(string pid) => (long?)await Db.StringGetAsync(Key("high", pid)).ConfigureAwait(false) ?? 0;

    public Task<long> ReadHighestSequenceNrAsync(string persistenceId, CancellationToken ct = default) =>
        Gate(() => ReadHighestCoreAsync(persistenceId), ct);

    public Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken ct = default) =>
        Gate(() => Db.ScriptEvaluateAsync(DeleteScript, [Key("high", persistenceId), Key("del", persistenceId)], [toSequenceNr]), ct);

    public Task<IReadOnlyList<JournalRow>> ReadAllAsync(long afterOrdering, int max, bool includeDeleted, CancellationToken ct = default) =>
        Gate(() => ReadLogAsync(_p + ":log", afterOrdering, max, includeDeleted), ct);

    public Task<IReadOnlyList<JournalRow>> ReadTaggedAsync(long afterOrdering, string tag, int max, CancellationToken ct = default) =>
        tag.Length == 0 ? Task.FromResult<IReadOnlyList<JournalRow>>([]) : Gate(() => ReadLogAsync(_p + ":tag:" + tag, afterOrdering, max, includeDeleted: true), ct);

    private async Task<IReadOnlyList<JournalRow>> ReadLogAsync(string key, long afterOrdering, int max, bool includeDeleted)
    {
        var list = new List<JournalRow>(Math.Min(max, 4096));
        var after = afterOrdering;
        while (list.Count < max)
        {
            var want = max - list.Count;
            var members = await Db.SortedSetRangeByScoreWithScoresAsync(key, after, double.PositiveInfinity, Exclude.Start, Order.Ascending, 0, want)
                .ConfigureAwait(false);
            if (members.Length == 0) break;
            var refs = members.Select(m =>
            {
                var s = (string)m.Element!;
                var nl = s.LastIndexOf('\n');
                return (Pid: s[..nl], Seq: long.Parse(s[(nl + 1)..], CultureInfo.InvariantCulture));
            }).ToArray();
            var batch = Db.CreateBatch();
            var values = refs.Select(r => batch.HashGetAsync(Key("row", r.Pid), r.Seq.ToString(CultureInfo.InvariantCulture))).ToArray();
            var deleted = refs.Select(r => r.Pid).Distinct().ToDictionary(pid => pid, pid => batch.StringGetAsync(Key("del", pid)));
            batch.Execute();
            for (var i = 0; i < refs.Length; i++)
            {
                var value = await values[i].ConfigureAwait(false);
                if (value.IsNull) continue;
                var row = DecodeRow(refs[i].Pid, refs[i].Seq, (byte[])value!, (long?)await deleted[refs[i].Pid].ConfigureAwait(false) ?? 0);
                if (row.Deleted && !includeDeleted) continue;
                list.Add(row);
            }
            after = (long)members[^1].Score;
            if (members.Length < want) break;
        }
        return list;
    }

    // Snapshot value: timestamp ticks (8), serializer id (4), length-prefixed manifest, payload.
    public Task SaveSnapshotAsync(SnapshotRow row, CancellationToken ct = default) => Gate(() =>
    {
        var manifest = Encoding.UTF8.GetBytes(row.Manifest);
        var value = new byte[12 + 4 + manifest.Length + row.Payload.Length];
        BinaryPrimitives.WriteInt64LittleEndian(value, row.TimestampTicks);
        BinaryPrimitives.WriteInt32LittleEndian(value.AsSpan(8), row.SerializerId);
        BinaryPrimitives.WriteInt32LittleEndian(value.AsSpan(12), manifest.Length);
        manifest.CopyTo(value, 16);
        row.Payload.CopyTo(value, 16 + manifest.Length);
        return Db.HashSetAsync(Key("snap", row.PersistenceId), row.SequenceNr.ToString(CultureInfo.InvariantCulture), value);
    }, ct);

    private async Task<List<SnapshotRow>> SnapshotsAsync(string pid, SnapshotBounds b)
    {
        var all = await Db.HashGetAllAsync(Key("snap", pid)).ConfigureAwait(false);
        var list = new List<SnapshotRow>(all.Length);
        foreach (var e in all)
        {
            var seq = long.Parse((string)e.Name!, CultureInfo.InvariantCulture);
            var v = (byte[])e.Value!;
            var ticks = BinaryPrimitives.ReadInt64LittleEndian(v);
            if (seq < b.MinSequenceNr || seq > b.MaxSequenceNr || ticks < b.MinTicks || ticks > b.MaxTicks) continue;
            var manifestLength = BinaryPrimitives.ReadInt32LittleEndian(v.AsSpan(12));
            list.Add(new SnapshotRow
            {
                PersistenceId = pid, SequenceNr = seq, TimestampTicks = ticks, SerializerId = BinaryPrimitives.ReadInt32LittleEndian(v.AsSpan(8)),
                Manifest = Encoding.UTF8.GetString(v, 16, manifestLength), Payload = v.AsSpan(16 + manifestLength).ToArray(),
            });
        }
        return list;
    }

    public Task<SnapshotRow?> LoadSnapshotAsync(string persistenceId, SnapshotBounds bounds, CancellationToken ct = default) =>
        Gate(async () => (await SnapshotsAsync(persistenceId, bounds).ConfigureAwait(false)).MaxBy(s => s.SequenceNr), ct);

    public Task DeleteSnapshotAsync(string persistenceId, long sequenceNr, long? timestampTicks, CancellationToken ct = default) => Gate(async () =>
    {
        var field = sequenceNr.ToString(CultureInfo.InvariantCulture);
        if (timestampTicks is { } ticks)
        {
            var v = (byte[]?)await Db.HashGetAsync(Key("snap", persistenceId), field).ConfigureAwait(false);
            if (v is null || BinaryPrimitives.ReadInt64LittleEndian(v) != ticks) return;
        }
        await Db.HashDeleteAsync(Key("snap", persistenceId), field).ConfigureAwait(false);
    }, ct);

    public Task DeleteSnapshotsAsync(string persistenceId, SnapshotBounds bounds, CancellationToken ct = default) => Gate(async () =>
    {
        var doomed = (await SnapshotsAsync(persistenceId, bounds).ConfigureAwait(false))
            .Select(s => (RedisValue)s.SequenceNr.ToString(CultureInfo.InvariantCulture)).ToArray();
        if (doomed.Length > 0) await Db.HashDeleteAsync(Key("snap", persistenceId), doomed).ConfigureAwait(false);
    }, ct);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _redis.Release();
        _gate.Dispose();
    }
}
