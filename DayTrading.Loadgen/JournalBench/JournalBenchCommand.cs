using System.CommandLine;
using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Serialization;
using DayTrading.Persistence;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace DayTrading.Loadgen.JournalBench;

/// <summary>
/// journal-bench: N persistent actors each persisting events one after another (Persist, waiting for each),
/// against the group-commit journal or Akka.Persistence.Sql, on SQLite or PostgreSQL; the group-commit journal on
/// Redis too (a fresh key prefix per run, its keys removed afterwards).
/// </summary>
public static class JournalBenchCommand
{
    public const string DefaultPg = "Host=127.0.0.1;Port=5432;Username=daytrading;Password=daytrading;Database=daytrading_test";

    /// <summary>The test Redis server (scripts/ensure-redis.sh).</summary>
    public const string DefaultRedis = "127.0.0.1:6390";

    public static Command Create()
    {
        var plugin = new Option<string>("--plugin") { Description = "groupcommit | sql | inmem (Akka in-memory journal: ceiling of the actor side)", DefaultValueFactory = _ => "groupcommit" };
        var db = new Option<string>("--db") { Description = "sqlite | postgres | redis (groupcommit only)", DefaultValueFactory = _ => "sqlite" };
        var redis = new Option<string>("--redis") { Description = $"with --db redis: the Redis server, host:port (a fresh key prefix per run, deleted afterwards)", DefaultValueFactory = _ => DefaultRedis };
        var actors = new Option<int>("--actors") { Description = "number of persistent actors", DefaultValueFactory = _ => 1200 };
        var events = new Option<int>("--events-per-actor") { Description = "events each actor persists", DefaultValueFactory = _ => 100 };
        var connection = new Option<string?>("--connection") { Description = "connection string (default: temp SQLite file / local daytrading_test PG)" };
        var tuned = new Option<bool>("--tuned") { Description = "sql plugin: apply the tuned settings instead of out-of-the-box" };
        var sqlBatch = new Option<int?>("--sql-batch-size") { Description = "sql plugin: batch-size override" };
        var sqlPar = new Option<int?>("--sql-parallelism") { Description = "sql plugin: parallelism override" };
        var maxBatch = new Option<int>("--max-batch-size") { Description = "groupcommit: max AtomicWrites per transaction", DefaultValueFactory = _ => 1000 };
        var sync = new Option<string>("--sqlite-synchronous") { Description = "groupcommit SQLite synchronous (FULL|NORMAL|OFF)", DefaultValueFactory = _ => "FULL" };
        var pgMode = new Option<string>("--pg-write-mode") { Description = "groupcommit PG: copy | unnest", DefaultValueFactory = _ => "copy" };
        var timeout = new Option<int>("--timeout-seconds") { Description = "give up after this many seconds", DefaultValueFactory = _ => 180 };

        var cmd = new Command("journal-bench", "Benchmark an Akka.Persistence journal: N actors persisting events one at a time");
        foreach (var o in new Option[] { plugin, db, redis, actors, events, connection, tuned, sqlBatch, sqlPar, maxBatch, sync, pgMode, timeout })
            cmd.Options.Add(o);

        cmd.SetAction(async (pr, ct) =>
        {
            var opts = new BenchOptions(
                pr.GetValue(plugin)!.ToLowerInvariant(), pr.GetValue(db)!.ToLowerInvariant(), pr.GetValue(actors), pr.GetValue(events),
                pr.GetValue(connection), pr.GetValue(tuned), pr.GetValue(sqlBatch), pr.GetValue(sqlPar), pr.GetValue(maxBatch),
                pr.GetValue(sync)!, pr.GetValue(pgMode)!, pr.GetValue(timeout), pr.GetValue(redis)!);
            return await RunAsync(opts, ct);
        });
        return cmd;
    }

    public sealed record BenchOptions(string Plugin, string Db, int Actors, int EventsPerActor, string? Connection, bool Tuned,
        int? SqlBatchSize, int? SqlParallelism, int MaxBatchSize, string SqliteSynchronous, string PgWriteMode, int TimeoutSeconds,
        string Redis = DefaultRedis);

    public static async Task<int> RunAsync(BenchOptions o, CancellationToken ct)
    {
        if (o.Plugin is not ("groupcommit" or "sql" or "inmem")) { Console.Error.WriteLine("--plugin must be groupcommit, sql or inmem"); return 2; }
        if (o.Db is not ("sqlite" or "postgres" or "postgresql" or "redis")) { Console.Error.WriteLine("--db must be sqlite, postgres or redis"); return 2; }
        if (o.Db == "redis") return await RunOnRedisAsync(o, ct);
        var isPg = o.Db != "sqlite";
        var conn = o.Connection ?? (isPg ? DefaultPg : $"Data Source={Path.Combine(Path.GetTempPath(), $"journal-bench-{o.Plugin}.db")}");

        // fresh store
        if (isPg)
        {
            await using var c = new NpgsqlConnection(conn);
            await c.OpenAsync(ct);
            await using var cmd = new NpgsqlCommand("DROP TABLE IF EXISTS event_journal, snapshot_store, journal, tags, journal_metadata CASCADE", c);
            await cmd.ExecuteNonQueryAsync(ct);
        }
        else
        {
            var file = new SqliteConnectionStringBuilder(conn).DataSource;
            if (o.Connection is null)
                foreach (var f in new[] { file, file + "-wal", file + "-shm" }) if (File.Exists(f)) File.Delete(f);
            using var c = new SqliteConnection(conn);
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode=WAL;"; // persistent; both plugins then run on WAL
            cmd.ExecuteNonQuery();
        }

        var hocon = BuildHocon(o, isPg, conn, out var description);
        return await RunBenchAsync(o, hocon, description, isPg ? conn : null, afterRun: null, ct);
    }

    /// <summary>
    /// The group-commit journal on Redis: a key prefix of its own on the server (several runs and the tests share
    /// it), the rows written counted there afterwards, and every key under the prefix deleted (SCAN + DEL) however
    /// the run ended.
    /// </summary>
    private static async Task<int> RunOnRedisAsync(BenchOptions o, CancellationToken ct)
    {
        if (o.Plugin != "groupcommit") { Console.Error.WriteLine("--db redis runs the group-commit journal only: give --plugin groupcommit"); return 2; }
        var server = o.Connection ?? o.Redis;
        var prefix = "jb_" + Guid.NewGuid().ToString("N")[..12]; // letters, digits and _ only, as --db-schema
        var store = DayTradingPersistence.Store("redis", server, prefix);
        if (await DayTradingPersistence.PreflightProblemAsync(store) is { } problem) { Console.Error.WriteLine("error: " + problem); return 2; }
        using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(server + ",connectTimeout=5000,allowAdmin=true"); // INFO commandstats
        var db = redis.GetDatabase();
        long scriptsBefore = 0;
        try
        {
            var hocon = DayTradingPersistence.Hocon("redis", server, o.MaxBatchSize, schema: prefix);
            return await RunBenchAsync(o, hocon, $"max-batch-size={o.MaxBatchSize} redis={server}", null, async total =>
            {
                // What the server holds, not what the journal said: every event one entry of the log.
                var stored = await db.SortedSetLengthAsync(prefix + ":log");
                var scripts = await ScriptCalls(redis) - scriptsBefore;
                var counted = $" stored={stored} scripts={scripts} (eventsPerScript~{(scripts == 0 ? 0 : (double)total / scripts):F1})";
                return stored == total ? (true, counted) : (false, $"{counted}: {total - stored} events acknowledged but not in Redis");
            }, ct, beforeRun: async () => scriptsBefore = await ScriptCalls(redis));
        }
        finally
        {
            Console.WriteLine($"removed {await RedisDialect.DeleteKeysUnderAsync(redis, prefix)} keys under {prefix}:");
        }
    }

    /// <summary>Lua scripts the server has run (EVAL and EVALSHA): one per group-commit batch, as a SQL store's commits.</summary>
    private static async Task<long> ScriptCalls(StackExchange.Redis.ConnectionMultiplexer redis)
    {
        var stats = await redis.GetServers().First().InfoAsync("commandstats");
        long calls = 0;
        foreach (var (key, value) in stats.SelectMany(g => g))
        {
            if (key is not ("cmdstat_eval" or "cmdstat_evalsha")) continue;
            var field = value.Split(',').First(f => f.StartsWith("calls=", StringComparison.Ordinal));
            calls += long.Parse(field["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        }
        return calls;
    }

    private static async Task<int> RunBenchAsync(BenchOptions o, string hocon, string description, string? pgConnection,
        Func<long, Task<(bool Ok, string Figures)>>? afterRun, CancellationToken ct, Func<Task>? beforeRun = null)
    {
        var isPg = pgConnection is not null;
        var conn = pgConnection ?? "";
        var config = ConfigurationFactory.ParseString(hocon).WithFallback(ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.actor.serializers.bench = "{{typeof(BenchEventSerializer).AssemblyQualifiedName}}"
            akka.actor.serialization-bindings { "{{typeof(BenchEvent).AssemblyQualifiedName}}" = bench }
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            """));
        if (o.Plugin == "sql") config = config.WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);

        var system = ActorSystem.Create("journal-bench", config);
        try
        {
            var runId = Guid.NewGuid().ToString("N")[..8];
            var ready = new CountdownEvent(o.Actors);
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var remaining = o.Actors;
            var failures = 0;
            var refs = new IActorRef[o.Actors];
            Action onDone = () => { if (Interlocked.Decrement(ref remaining) == 0) done.TrySetResult(); };
            Action onFailure = () => { Interlocked.Increment(ref failures); done.TrySetResult(); };
            for (var i = 0; i < o.Actors; i++)
                refs[i] = system.ActorOf(Props.Create(typeof(BenchActor), $"bench-{runId}-{i}", o.EventsPerActor, ready, onDone, onFailure));
            if (!ready.Wait(TimeSpan.FromSeconds(60), ct)) { Console.Error.WriteLine("actors did not recover within 60 s"); return 1; }

            long pgCommitsBefore = isPg ? await PgCommits(conn, ct) : 0; // after recovery: count only the write phase
            if (beforeRun is not null) await beforeRun();
            var sw = Stopwatch.StartNew();
            foreach (var r in refs) r.Tell(BenchActor.Start.Instance);
            var finished = await Task.WhenAny(done.Task, Task.Delay(TimeSpan.FromSeconds(o.TimeoutSeconds), ct));
            sw.Stop();
            var total = (long)o.Actors * o.EventsPerActor;
            if (finished != done.Task || failures > 0)
            {
                Console.Error.WriteLine($"FAILED: timeout={(finished != done.Task)} failures={failures} after {sw.Elapsed.TotalSeconds:F1}s");
                return 1;
            }
            var pgCommits = isPg ? await PgCommits(conn, ct) - pgCommitsBefore : 0;
            var extra = "";
            if (o.Plugin == "groupcommit")
            {
                var m = await Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null).Ask<JournalMetrics>(GetJournalMetrics.Instance, TimeSpan.FromSeconds(5));
                extra = $" batches={m.Batches} avgAtomicWritesPerBatch={m.AverageAtomicWritesPerBatch:F1} maxBatch={m.MaxBatchAtomicWrites}";
            }
            if (isPg) extra += $" pgCommits={pgCommits} (eventsPerCommit~{(pgCommits == 0 ? 0 : (double)total / pgCommits):F1})";
            var counted = true;
            if (afterRun is not null)
            {
                var (ok, figures) = await afterRun(total);
                counted = ok;
                extra += figures;
            }
            Console.WriteLine($"journal-bench plugin={o.Plugin} db={o.Db} {description} actors={o.Actors} events/actor={o.EventsPerActor} " +
                              $"events={total} wall={sw.Elapsed.TotalSeconds:F2}s rate={total / sw.Elapsed.TotalSeconds:F0} events/s{extra}");
            if (!counted) Console.Error.WriteLine("FAILED: the store holds fewer events than were acknowledged");
            return counted ? 0 : 1;
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static async Task<long> PgCommits(string conn, CancellationToken ct)
    {
        await using var c = new NpgsqlConnection(conn);
        await c.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand("SELECT pg_stat_clear_snapshot(); SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", c);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        await r.NextResultAsync(ct);
        await r.ReadAsync(ct);
        return r.GetInt64(0);
    }

    private static string BuildHocon(BenchOptions o, bool isPg, string conn, out string description)
    {
        if (o.Plugin == "inmem")
        {
            description = "in-memory (no database)";
            return "akka.persistence.journal.plugin = \"akka.persistence.journal.inmem\"";
        }
        if (o.Plugin == "groupcommit")
        {
            description = $"max-batch-size={o.MaxBatchSize}" + (isPg ? $" pg-write-mode={o.PgWriteMode}" : $" sqlite-synchronous={o.SqliteSynchronous}");
            var extraHocon = Environment.GetEnvironmentVariable("JOURNAL_BENCH_HOCON") ?? ""; // ad-hoc experiments
            if (extraHocon.Length > 0) description += $" extra=[{extraHocon}]";
            return DayTradingPersistence.Hocon(isPg ? "postgresql" : "sqlite", conn, o.MaxBatchSize, o.SqliteSynchronous,
                postgresWriteMode: o.PgWriteMode) + "\n" + extraHocon; // later keys override
        }
        // Akka.Persistence.Sql 1.5.73. Out of the box: batch-size 100, parallelism 3, buffer-size 5000, TagTable.
        var tuning = "";
        var batch = o.SqlBatchSize ?? (o.Tuned ? 1000 : (int?)null);
        var par = o.SqlParallelism ?? (o.Tuned ? (isPg ? 2 : 1) : (int?)null);
        if (batch is not null) tuning += $"batch-size = {batch}\ndb-round-trip-max-batch-size = {Math.Max(batch.Value, 1000)}\n";
        if (par is not null) tuning += $"parallelism = {par}\n";
        if (o.Tuned) tuning += "buffer-size = 20000\ntag-write-mode = Csv\n";
        description = o.Tuned || batch is not null || par is not null
            ? $"tuned(batch-size={batch?.ToString() ?? "100"}, parallelism={par?.ToString() ?? "3"}{(o.Tuned ? ", buffer-size=20000, tag-write-mode=Csv" : "")})"
            : "out-of-the-box";
        return $$"""
            akka.persistence.journal.plugin = "akka.persistence.journal.sql"
            akka.persistence.journal.sql {
              connection-string = "{{conn.Replace("\\", "\\\\").Replace("\"", "\\\"")}}"
              provider-name = "{{(isPg ? "PostgreSQL.15" : "SQLite.MS")}}"
              auto-initialize = true
              {{tuning}}
            }
            """;
    }
}

public sealed record BenchEvent(long Value);

/// <summary>8-byte little-endian serializer for <see cref="BenchEvent"/>.</summary>
public sealed class BenchEventSerializer : Serializer
{
    public BenchEventSerializer(ExtendedActorSystem system) : base(system) { }
    public override int Identifier => 9301;
    public override bool IncludeManifest => false;
    public override byte[] ToBinary(object obj) => BitConverter.GetBytes(((BenchEvent)obj).Value);
    public override object FromBinary(byte[] bytes, Type? type) => new BenchEvent(BitConverter.ToInt64(bytes));
}

internal sealed class BenchActor : ReceivePersistentActor
{
    public sealed class Start { public static readonly Start Instance = new(); }

    private readonly int _events;
    private long _persisted;

    public BenchActor(string persistenceId, int events, CountdownEvent ready, Action onDone, Action onFailure)
    {
        PersistenceId = persistenceId;
        _events = events;
        Recover<RecoveryCompleted>(_ => ready.Signal());
        Recover<BenchEvent>(e => _persisted = e.Value);
        Command<Start>(_ => Next(onDone));
        _onFailure = onFailure;
    }

    private readonly Action _onFailure;
    public override string PersistenceId { get; }

    private void Next(Action onDone)
    {
        if (_persisted >= _events) { onDone(); return; }
        Persist(new BenchEvent(_persisted + 1), e =>
        {
            _persisted = e.Value;
            Next(onDone);
        });
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        Console.Error.WriteLine($"persist failure {PersistenceId}#{sequenceNr}: {cause.Message}");
        _onFailure();
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        Console.Error.WriteLine($"persist rejected {PersistenceId}#{sequenceNr}: {cause.Message}");
        _onFailure();
        base.OnPersistRejected(cause, @event, sequenceNr);
    }
}
