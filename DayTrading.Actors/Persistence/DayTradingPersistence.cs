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

    /// <summary>Creates tables if missing (same DDL the plugins run when auto-initialize = on).</summary>
    public static async Task InitializeAsync(DayTradingDbSettings settings, CancellationToken ct = default)
    {
        using var d = settings.CreateDialect();
        await d.InitializeAsync(ct).ConfigureAwait(false);
    }

}
