using System.Text;
using Akka.Actor;
using Akka.Configuration;

namespace DayTrading.Persistence;

/// <summary>Static wiring for the DayTrading journal + snapshot store.</summary>
public static class DayTradingPersistence
{
    public const string JournalPluginId = "akka.persistence.journal.daytrading";
    public const string SnapshotPluginId = "akka.persistence.snapshot-store.daytrading";
    public const string DispatcherId = "akka.persistence.daytrading-dispatcher";

    /// <summary>
    /// HOCON for both plugins (what <see cref="DayTradingJournalOptions"/> and <see cref="DayTradingSnapshotOptions"/>
    /// give Akka.Hosting, for systems built from a config). <paramref name="provider"/>: sqlite | postgresql. With
    /// <paramref name="makeDefault"/> the plugins become akka.persistence.journal.plugin / snapshot-store.plugin.
    /// </summary>
    public static string Hocon(
        string provider,
        string connectionString,
        int? maxBatchSize = null,
        string? sqliteSynchronous = null,
        bool autoInitialize = true,
        string schema = "",
        string? journalTable = null,
        string? snapshotTable = null,
        string? postgresWriteMode = null,
        bool makeDefault = true)
    {
        var store = Store(provider, connectionString, schema);
        var d = new DayTradingDbSettings();
        store = store with
        {
            MaxBatchSize = maxBatchSize ?? d.MaxBatchSize,
            SqliteSynchronous = sqliteSynchronous ?? d.SqliteSynchronous,
            AutoInitialize = autoInitialize,
            JournalTable = journalTable ?? d.JournalTable,
            SnapshotTable = snapshotTable ?? d.SnapshotTable,
            PostgresWriteMode = postgresWriteMode ?? d.PostgresWriteMode,
        };
        return new DayTradingJournalOptions(store, makeDefault) + Environment.NewLine + new DayTradingSnapshotOptions(store, makeDefault);
    }

    /// <summary>The database of <paramref name="provider"/> (sqlite | postgresql) at <paramref name="connectionString"/>, with every other setting at its default.</summary>
    public static DayTradingDbSettings Store(string provider, string connectionString, string schema = "") =>
        new() { Provider = DayTradingDbSettings.ParseProvider(provider), ConnectionString = connectionString, Schema = schema };

    // Plugin actors on a dispatcher of their own that runs on the .NET thread pool: a PinnedDispatcher's dedicated
    // thread spins while idle (a tenth of the node's CPU under load). Database writes run on the group-commit writer
    // thread; reads on the .NET pool (SQLite) or async I/O (Npgsql).
    internal static StringBuilder AppendDispatcher(StringBuilder sb) => sb.AppendLine($$"""
        {{DispatcherId}} {
          type = Dispatcher
          executor = "default-executor"
          throughput = 100
        }
        """);

    public static Config Config(string provider, string connectionString, int? maxBatchSize = null, string? sqliteSynchronous = null,
        bool autoInitialize = true, string schema = "", string? journalTable = null, string? snapshotTable = null,
        string? postgresWriteMode = null, bool makeDefault = true) =>
        ConfigurationFactory.ParseString(Hocon(provider, connectionString, maxBatchSize, sqliteSynchronous, autoInitialize, schema,
            journalTable, snapshotTable, postgresWriteMode, makeDefault));

    /// <summary>Settings of a configured plugin (journal section by default).</summary>
    public static DayTradingDbSettings Settings(ActorSystem system, string pluginId = JournalPluginId) =>
        DayTradingDbSettings.FromConfig(system.Settings.Config.GetConfig(pluginId));

    /// <summary>Reader of all events in global order, on the journal configured under <paramref name="pluginId"/>.</summary>
    public static IEventLogReader CreateEventLogReader(ActorSystem system, string pluginId = JournalPluginId, bool includeDeleted = true) =>
        new EventLogReader(system, Settings(system, pluginId), includeDeleted);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ActorSystem, IPersistenceDialect> Probes = new();

    /// <summary>
    /// Why the journal of <paramref name="system"/> cannot take writes now, or null when it can. A batch committed in
    /// the last 2 s answers without touching the database; a batch failed since the last commit (within 30 s) answers
    /// with its error; otherwise a probe takes the write lock and lets it go (<see cref="IPersistenceDialect.ProbeWriteAsync"/>).
    /// </summary>
    public static async Task<string?> JournalWriteProblemAsync(ActorSystem system, TimeSpan timeout, CancellationToken ct = default)
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(JournalPluginId);
        string? lastFailure = null;
        if (JournalWriters.Get(journal) is { } writer)
        {
            var (committed, failed, error) = writer.LastOutcome;
            var now = Environment.TickCount64;
            if (committed > failed && now - committed < 2_000) return null;
            // A failed batch alone does not say the database is still refusing: the probe decides, so the node is
            // ready again as soon as the database is, without waiting for traffic to succeed first.
            if (failed > committed && now - failed < 30_000) lastFailure = error;
        }
        var probe = Probes.GetValue(system, s =>
        {
            var dialect = Settings(s).CreateDialect();
            s.WhenTerminated.ContinueWith(_ => dialect.Dispose(), TaskScheduler.Default);
            return dialect;
        });
        try
        {
            // Bounded here too: a probe stuck in a driver must not hold the caller's health report for longer.
            await probe.ProbeWriteAsync(timeout, ct).WaitAsync(timeout + TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return lastFailure is null
                ? $"the journal cannot be written: {e.Message}"
                : $"the last journal write failed ({lastFailure}) and a probe write fails too: {e.Message}";
        }
    }

    /// <summary>
    /// Why a node must not start on <paramref name="store"/>, or null: a Redis server that does not fsync every write
    /// (unless <see cref="DayTradingDbSettings.RedisUnsafe"/>), or one that cannot be reached. The SQL stores are
    /// checked by their first write instead.
    /// </summary>
    public static async Task<string?> PreflightProblemAsync(DayTradingDbSettings store)
    {
        if (store.Provider != PersistenceProvider.Redis || store.RedisUnsafe) return null;
        using var dialect = new RedisDialect(store);
        try
        {
            return await dialect.DurabilityProblemAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException or InvalidOperationException)
        {
            return $"the Redis server at {store.ConnectionString} cannot be asked for its settings: {e.Message}";
        }
    }

    /// <summary>Creates tables if missing (same DDL the plugins run when auto-initialize = on).</summary>
    public static async Task InitializeAsync(DayTradingDbSettings settings, CancellationToken ct = default)
    {
        using var d = settings.CreateDialect();
        await d.InitializeAsync(ct).ConfigureAwait(false);
    }

}
