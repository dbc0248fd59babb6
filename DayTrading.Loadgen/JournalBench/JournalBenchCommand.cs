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
/// against the group-commit journal or Akka.Persistence.Sql, on SQLite or PostgreSQL.
/// </summary>
public static class JournalBenchCommand
{
    public const string DefaultPg = "Host=127.0.0.1;Port=5432;Username=daytrading;Password=daytrading;Database=daytrading_test";

    public static Command Create()
    {
        var plugin = new Option<string>("--plugin") { Description = "groupcommit | sql | inmem (Akka in-memory journal: ceiling of the actor side)", DefaultValueFactory = _ => "groupcommit" };
        var db = new Option<string>("--db") { Description = "sqlite | postgres", DefaultValueFactory = _ => "sqlite" };
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
        foreach (var o in new Option[] { plugin, db, actors, events, connection, tuned, sqlBatch, sqlPar, maxBatch, sync, pgMode, timeout })
            cmd.Options.Add(o);

        cmd.SetAction(async (pr, ct) =>
        {
            var opts = new BenchOptions(
                pr.GetValue(plugin)!.ToLowerInvariant(), pr.GetValue(db)!.ToLowerInvariant(), pr.GetValue(actors), pr.GetValue(events),
                pr.GetValue(connection), pr.GetValue(tuned), pr.GetValue(sqlBatch), pr.GetValue(sqlPar), pr.GetValue(maxBatch),
                pr.GetValue(sync)!, pr.GetValue(pgMode)!, pr.GetValue(timeout));
            return await RunAsync(opts, ct);
        });
        return cmd;
    }

    public sealed record BenchOptions(string Plugin, string Db, int Actors, int EventsPerActor, string? Connection, bool Tuned,
        int? SqlBatchSize, int? SqlParallelism, int MaxBatchSize, string SqliteSynchronous, string PgWriteMode, int TimeoutSeconds);

    public static async Task<int> RunAsync(BenchOptions o, CancellationToken ct)
    {
        if (o.Plugin is not ("groupcommit" or "sql" or "inmem")) { Console.Error.WriteLine("--plugin must be groupcommit, sql or inmem"); return 2; }
        if (o.Db is not ("sqlite" or "postgres" or "postgresql")) { Console.Error.WriteLine("--db must be sqlite or postgres"); return 2; }
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
            Console.WriteLine($"journal-bench plugin={o.Plugin} db={o.Db} {description} actors={o.Actors} events/actor={o.EventsPerActor} " +
                              $"events={total} wall={sw.Elapsed.TotalSeconds:F2}s rate={total / sw.Elapsed.TotalSeconds:F0} events/s{extra}");
            return 0;
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
