using Akka.Configuration;

namespace DayTrading.Persistence;

public enum PersistenceProvider { Sqlite, PostgreSql, Redis }

/// <summary>Settings read from a plugin's HOCON section (journal or snapshot store).</summary>
public sealed record DayTradingDbSettings
{
    public PersistenceProvider Provider { get; init; } = PersistenceProvider.Sqlite;
    public string ConnectionString { get; init; } = "";
    /// <summary>PostgreSQL schema; empty = the connection's search_path.</summary>
    public string Schema { get; init; } = "";

    /// <summary>
    /// Redis only: the prefix of every key of this store (the schema, else <c>dt</c>). The web front end's logins and
    /// keys live under it too, so one prefix is one cluster's whole state on a shared server.
    /// </summary>
    public string RedisKeyPrefix => Schema.Length > 0 ? Schema : "dt";
    public string JournalTable { get; init; } = "event_journal";
    public string SnapshotTable { get; init; } = "snapshot_store";
    /// <summary>Maximum AtomicWrites per group-commit transaction.</summary>
    public int MaxBatchSize { get; init; } = 1000;
    public bool AutoInitialize { get; init; } = true;
    /// <summary>SQLite PRAGMA synchronous of the writer: FULL (durable default), NORMAL, OFF, EXTRA.</summary>
    public string SqliteSynchronous { get; init; } = "FULL";
    /// <summary>SQLite page cache of the writer connection in KiB (PRAGMA cache_size=-N). The UNIQUE(persistence_id,
    /// sequence_nr) index takes inserts all over it; with SQLite's default 2 MiB the writer re-reads its pages.
    /// 0 = leave SQLite's default.</summary>
    public int SqliteCacheSizeKiB { get; init; } = 65536;
    /// <summary>SQLite PRAGMA wal_autocheckpoint of the writer (pages; 0 = never automatically). SQLite's default 1000
    /// checkpoints about every other batch, copying index pages that the next batches dirty again; 10000 (a WAL of
    /// up to ~40 MB with 4 KiB pages) copies each page once per many batches and halves the writer's system time.</summary>
    public int SqliteWalAutocheckpoint { get; init; } = 10000;
    /// <summary>PostgreSQL batch insert method: copy (binary COPY) or unnest (one INSERT ... SELECT FROM unnest(arrays)).</summary>
    public string PostgresWriteMode { get; init; } = "copy";
    /// <summary>When a batch transaction fails, retry each call of that batch alone so only the culprit fails.</summary>
    public bool RetryFailedBatchIndividually { get; init; } = true;
    public int ReplayPageSize { get; init; } = 1000;
    /// <summary>Max concurrent reader/delete/snapshot DB operations of one plugin instance (bounds connections in use).</summary>
    public int MaxConcurrentReads { get; init; } = 8;
    /// <summary>Redis only: run against a server that does not fsync every write (benchmarks; an acknowledged event may be lost).</summary>
    public bool RedisUnsafe { get; init; }

    public static PersistenceProvider ParseProvider(string value) => value.Trim().ToLowerInvariant() switch
    {
        "sqlite" => PersistenceProvider.Sqlite,
        "postgresql" or "postgres" or "pg" or "npgsql" => PersistenceProvider.PostgreSql,
        "redis" => PersistenceProvider.Redis,
        _ => throw new ConfigurationException($"Unknown persistence provider '{value}' (use sqlite, postgresql or redis)"),
    };

    public static DayTradingDbSettings FromConfig(Config config)
    {
        var d = new DayTradingDbSettings(); // the defaults are the record's, stated once
        var s = new DayTradingDbSettings
        {
            Provider = ParseProvider(config.GetString("provider", "sqlite")),
            ConnectionString = config.GetString("connection-string", d.ConnectionString),
            Schema = config.GetString("schema", d.Schema) ?? "",
            JournalTable = config.GetString("journal-table", d.JournalTable),
            SnapshotTable = config.GetString("snapshot-table", d.SnapshotTable),
            MaxBatchSize = config.GetInt("max-batch-size", d.MaxBatchSize),
            AutoInitialize = config.GetBoolean("auto-initialize", d.AutoInitialize),
            SqliteSynchronous = config.GetString("sqlite-synchronous", d.SqliteSynchronous),
            SqliteCacheSizeKiB = config.GetInt("sqlite-cache-size-kib", d.SqliteCacheSizeKiB),
            SqliteWalAutocheckpoint = config.GetInt("sqlite-wal-autocheckpoint", d.SqliteWalAutocheckpoint),
            PostgresWriteMode = config.GetString("postgres-write-mode", d.PostgresWriteMode),
            RetryFailedBatchIndividually = config.GetBoolean("retry-failed-batch-individually", d.RetryFailedBatchIndividually),
            ReplayPageSize = config.GetInt("replay-page-size", d.ReplayPageSize),
            MaxConcurrentReads = Math.Max(1, config.GetInt("max-concurrent-reads", d.MaxConcurrentReads)),
            RedisUnsafe = config.GetBoolean("redis-unsafe", d.RedisUnsafe),
        };
        if (string.IsNullOrWhiteSpace(s.ConnectionString))
            throw new ConfigurationException("DayTrading persistence: connection-string is required");
        if (s.MaxBatchSize < 1) throw new ConfigurationException("max-batch-size must be >= 1");
        ValidateIdentifier(s.JournalTable);
        ValidateIdentifier(s.SnapshotTable);
        if (s.Schema.Length > 0) ValidateIdentifier(s.Schema); // also the Redis key prefix
        if (s.SqliteSynchronous.ToUpperInvariant() is not ("FULL" or "NORMAL" or "OFF" or "EXTRA"))
            throw new ConfigurationException($"sqlite-synchronous must be FULL, NORMAL, OFF or EXTRA, got {s.SqliteSynchronous}");
        if (s.SqliteCacheSizeKiB < 0) throw new ConfigurationException($"sqlite-cache-size-kib must be >= 0, got {s.SqliteCacheSizeKiB}");
        if (s.SqliteWalAutocheckpoint < 0) throw new ConfigurationException($"sqlite-wal-autocheckpoint must be >= 0, got {s.SqliteWalAutocheckpoint}");
        if (s.PostgresWriteMode.ToLowerInvariant() is not ("copy" or "unnest"))
            throw new ConfigurationException($"postgres-write-mode must be copy or unnest, got {s.PostgresWriteMode}");
        return s;
    }

    internal static void ValidateIdentifier(string name)
    {
        if (name.Length == 0 || name.Length > 63 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') || char.IsAsciiDigit(name[0]))
            throw new ConfigurationException($"Invalid SQL identifier '{name}' (letters, digits, _)");
    }

    /// <summary>
    /// These settings as the keys of a plugin section (the inverse of <see cref="FromConfig"/>), written by the
    /// Akka.Hosting options (<see cref="DayTradingJournalOptions"/>); auto-initialize is the options' own.
    /// </summary>
    internal void AppendHocon(System.Text.StringBuilder sb)
    {
        static string Q(string v) => Akka.Hosting.HoconExtensions.ToHocon(v);
        static string B(bool v) => v ? "on" : "off";
        static string I(int v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
        sb.AppendLine($"provider = {ProviderName}")
            .AppendLine($"connection-string = {Q(ConnectionString)}")
            .AppendLine($"schema = {Q(Schema)}")
            .AppendLine($"journal-table = {Q(JournalTable)}")
            .AppendLine($"snapshot-table = {Q(SnapshotTable)}")
            .AppendLine($"max-batch-size = {I(MaxBatchSize)}")
            .AppendLine($"sqlite-synchronous = {Q(SqliteSynchronous)}")
            .AppendLine($"sqlite-cache-size-kib = {I(SqliteCacheSizeKiB)}")
            .AppendLine($"sqlite-wal-autocheckpoint = {I(SqliteWalAutocheckpoint)}")
            .AppendLine($"postgres-write-mode = {Q(PostgresWriteMode)}")
            .AppendLine($"retry-failed-batch-individually = {B(RetryFailedBatchIndividually)}")
            .AppendLine($"replay-page-size = {I(ReplayPageSize)}")
            .AppendLine($"max-concurrent-reads = {I(MaxConcurrentReads)}")
            .AppendLine($"redis-unsafe = {B(RedisUnsafe)}");
    }

    public IPersistenceDialect CreateDialect() => Provider switch
    {
        PersistenceProvider.Sqlite => new SqliteDialect(this),
        PersistenceProvider.PostgreSql => new PostgresDialect(this),
        PersistenceProvider.Redis => new RedisDialect(this),
        _ => throw new ArgumentOutOfRangeException(),
    };

    public string ProviderName => Provider switch
    {
        PersistenceProvider.Sqlite => "sqlite",
        PersistenceProvider.PostgreSql => "postgresql",
        _ => "redis",
    };
}
