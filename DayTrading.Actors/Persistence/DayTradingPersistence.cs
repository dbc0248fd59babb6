using System.Globalization;
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
    /// HOCON for both plugins. <paramref name="provider"/>: sqlite | postgresql.
    /// With <paramref name="makeDefault"/> the plugins become akka.persistence.journal.plugin / snapshot-store.plugin.
    /// </summary>
    public static string Hocon(
        string provider,
        string connectionString,
        int maxBatchSize = 1000,
        string sqliteSynchronous = "FULL",
        bool autoInitialize = true,
        string schema = "",
        string journalTable = "event_journal",
        string snapshotTable = "snapshot_store",
        string postgresWriteMode = "copy",
        bool makeDefault = true)
    {
        var p = DayTradingDbSettings.ParseProvider(provider) == PersistenceProvider.Sqlite ? "sqlite" : "postgresql";
        var common = $"""
                provider = {p}
                connection-string = {Quote(connectionString)}
                schema = {Quote(schema)}
                journal-table = {Quote(journalTable)}
                snapshot-table = {Quote(snapshotTable)}
                auto-initialize = {(autoInitialize ? "on" : "off")}
                sqlite-synchronous = {Quote(sqliteSynchronous)}
                postgres-write-mode = {Quote(postgresWriteMode)}
                max-batch-size = {maxBatchSize.ToString(CultureInfo.InvariantCulture)}
                max-concurrent-reads = 8
        """;
        var defaults = makeDefault
            ? $"""
              akka.persistence.journal.plugin = "{JournalPluginId}"
              akka.persistence.snapshot-store.plugin = "{SnapshotPluginId}"
              """
            : "";
        return $$"""
            {{defaults}}
            # Plugin actors on a dispatcher of their own that runs on the .NET thread pool: a PinnedDispatcher's
            # dedicated thread spins while idle (a tenth of the node's CPU under load). Database writes run on the
            # group-commit writer thread; reads on the .NET pool (SQLite) or async I/O (Npgsql).
            akka.persistence.daytrading-dispatcher {
              type = Dispatcher
              executor = "default-executor"
              throughput = 100
            }
            akka.persistence.journal.daytrading {
              class = "DayTrading.Persistence.DayTradingJournal, DayTrading.Actors"
              plugin-dispatcher = "{{DispatcherId}}"
              retry-failed-batch-individually = on
              replay-page-size = 1000
            {{common}}
            }
            akka.persistence.snapshot-store.daytrading {
              class = "DayTrading.Persistence.DayTradingSnapshotStore, DayTrading.Actors"
              plugin-dispatcher = "{{DispatcherId}}"
            {{common}}
            }
            """;
    }

    public static Config Config(string provider, string connectionString, int maxBatchSize = 1000, string sqliteSynchronous = "FULL",
        bool autoInitialize = true, string schema = "", string journalTable = "event_journal", string snapshotTable = "snapshot_store",
        string postgresWriteMode = "copy", bool makeDefault = true) =>
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

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
