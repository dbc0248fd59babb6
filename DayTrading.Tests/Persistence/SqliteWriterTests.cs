using Akka.Configuration;
using DayTrading.Persistence;
using Microsoft.Data.Sqlite;
using Xunit;

namespace DayTrading.Tests.Persistence;

/// <summary>The SQLite group-commit writer's raw (SQLitePCLRaw) insert path and its connection settings.</summary>
public class SqliteWriterTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(TestStore Store, DayTradingDbSettings Settings, IPersistenceDialect Dialect)> Open(Func<DayTradingDbSettings, DayTradingDbSettings>? tweak = null)
    {
        var store = new TestStore("sqlite");
        var settings = store.Settings();
        if (tweak is not null) settings = tweak(settings);
        await DayTradingPersistence.InitializeAsync(settings, Ct);
        return (store, settings, settings.CreateDialect());
    }

    private static JournalRow Row(string pid, long seq, string manifest = "", string tags = "", string writer = "w", string eventManifest = "", byte[]? payload = null) => new()
    {
        PersistenceId = pid, SequenceNr = seq, Timestamp = 1_700_000_000_000 + seq, Manifest = manifest, SerializerId = 42,
        Payload = payload ?? new[] { (byte)seq }, Tags = tags, WriterUuid = writer, EventManifest = eventManifest,
    };

    [Fact]
    public async Task Writer_connection_gets_the_configured_pragmas()
    {
        var (store, _, dialect) = await Open(s => s with { SqliteCacheSizeKiB = 12345, SqliteWalAutocheckpoint = 777, SqliteSynchronous = "NORMAL" });
        using (store)
        using (dialect)
        using (var w = (SqliteDialect.Writer)dialect.OpenWriter())
        {
            Assert.Equal(-12345, w.QueryPragma("cache_size"));
            Assert.Equal(4 * 777, w.QueryPragma("wal_autocheckpoint")); // SQLite's own checkpoint is only the bound
            Assert.Equal(1, w.QueryPragma("synchronous")); // NORMAL
        }
    }

    [Fact]
    public async Task The_WAL_is_checkpointed_beside_the_writer_and_stays_near_its_threshold()
    {
        const int pages = 500;
        var (store, settings, dialect) = await Open(s => s with { SqliteWalAutocheckpoint = pages });
        using (store)
        using (dialect)
        {
            var walPath = new SqliteConnectionStringBuilder(settings.ConnectionString).DataSource + "-wal";
            long largestWal = 0;
            using (var w = dialect.OpenWriter())
            {
                // 200 accounts, so nearly every row lands on its own index page: ~20,000 pages written in all.
                for (var batch = 0; batch < 200; batch++)
                {
                    w.WriteBatch(Enumerable.Range(0, 100).Select(i => Row("account-" + (i * 2 + batch % 2), batch / 2 + 1)).ToList());
                    largestWal = Math.Max(largestWal, new FileInfo(walPath).Length);
                    if (batch % 10 == 0) await Task.Delay(20, Ct); // let the checkpoint thread run on a loaded machine
                }
            }
            // Without the checkpoint thread the WAL would reach SQLite's own bound (4 × the threshold) before any reset.
            Assert.True(largestWal < 4L * pages * 4096, $"the WAL grew to {largestWal / 4096} pages (threshold {pages})");
            using var c = new SqliteConnection(settings.ConnectionString);
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"SELECT count(*) FROM \"{settings.JournalTable}\"";
            Assert.Equal(20_000L, (long)cmd.ExecuteScalar()!);
        }
    }

    [Fact]
    public async Task Writer_defaults_are_full_sync_64MiB_cache_and_10000_page_autocheckpoint()
    {
        var (store, settings, dialect) = await Open();
        using (store)
        using (dialect)
        using (var w = (SqliteDialect.Writer)dialect.OpenWriter())
        {
            Assert.Equal(-65536, w.QueryPragma("cache_size"));
            Assert.Equal(40000, w.QueryPragma("wal_autocheckpoint"));
            Assert.Equal(2, w.QueryPragma("synchronous")); // FULL
        }
        var fromConfig = DayTradingDbSettings.FromConfig(ConfigurationFactory.ParseString("connection-string = \"Data Source=x.db\""));
        Assert.Equal(settings.SqliteCacheSizeKiB, fromConfig.SqliteCacheSizeKiB);
        Assert.Equal(settings.SqliteWalAutocheckpoint, fromConfig.SqliteWalAutocheckpoint);
        var custom = DayTradingDbSettings.FromConfig(ConfigurationFactory.ParseString(
            "connection-string = \"Data Source=x.db\"\nsqlite-cache-size-kib = 1024\nsqlite-wal-autocheckpoint = 0"));
        Assert.Equal(1024, custom.SqliteCacheSizeKiB);
        Assert.Equal(0, custom.SqliteWalAutocheckpoint);
        Assert.Throws<ConfigurationException>(() => DayTradingDbSettings.FromConfig(ConfigurationFactory.ParseString(
            "connection-string = \"Data Source=x.db\"\nsqlite-cache-size-kib = -1")));
    }

    [Fact]
    public async Task Raw_insert_round_trips_empty_unicode_long_values_and_empty_payload()
    {
        var (store, _, dialect) = await Open();
        using (store)
        using (dialect)
        {
            var longText = string.Concat(Enumerable.Repeat("x€😀", 500)); // > the writer's initial 256-byte scratch buffer
            var rows = new List<JournalRow>
            {
                Row("plain", 1),
                Row("ünï-cødé-€-😀", 1, manifest: "M€", tags: "a;ß", writer: "wü", eventManifest: "ẽ"),
                Row("long", 1, manifest: longText, tags: longText, eventManifest: longText, payload: Array.Empty<byte>()),
                Row("plain", 2, payload: Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray()),
            };
            using (var w = dialect.OpenWriter()) w.WriteBatch(rows);
            var stored = await dialect.ReadAllAsync(0, 100, true, Ct);
            Assert.Equal(rows.Count, stored.Count);
            for (var i = 0; i < rows.Count; i++)
            {
                var (a, b) = (rows[i], stored[i]);
                Assert.Equal(a.PersistenceId, b.PersistenceId);
                Assert.Equal(a.SequenceNr, b.SequenceNr);
                Assert.Equal(a.Timestamp, b.Timestamp);
                Assert.Equal(a.Manifest, b.Manifest);
                Assert.Equal(a.SerializerId, b.SerializerId);
                Assert.Equal(a.Payload, b.Payload);
                Assert.Equal(a.Tags, b.Tags);
                Assert.Equal(a.WriterUuid, b.WriterUuid);
                Assert.Equal(a.EventManifest, b.EventManifest);
                Assert.False(b.Deleted);
                if (i > 0) Assert.True(b.Ordering > stored[i - 1].Ordering);
            }
            // empty strings are stored as '' (not NULL: the columns are NOT NULL)
            using var c = new SqliteConnection(store.ConnectionString);
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT typeof(manifest), typeof(tags), typeof(event_manifest), typeof(payload), length(payload) FROM event_journal WHERE persistence_id = 'long'";
            using var r = cmd.ExecuteReader();
            Assert.True(r.Read());
            Assert.Equal(new object[] { "text", "text", "text", "blob", 0L }, Enumerable.Range(0, 5).Select(r.GetValue).ToArray());
        }
    }

    [Fact]
    public async Task A_failing_row_rolls_back_the_whole_batch_and_the_writer_stays_usable()
    {
        var (store, _, dialect) = await Open();
        using (store)
        using (dialect)
        using (var w = dialect.OpenWriter())
        {
            w.WriteBatch(new[] { Row("a", 1) });
            // the third row violates UNIQUE(persistence_id, sequence_nr): nothing of this batch may stay
            var ex = Assert.Throws<SqliteException>(() => w.WriteBatch(new[] { Row("b", 1), Row("b", 2), Row("a", 1), Row("b", 3) }));
            Assert.Equal(19, ex.SqliteErrorCode); // SQLITE_CONSTRAINT
            Assert.Contains("a#1", ex.Message);
            Assert.Equal(new[] { ("a", 1L) }, (await dialect.ReadAllAsync(0, 100, true, Ct)).Select(r => (r.PersistenceId, r.SequenceNr)));

            // a failure in the hook before COMMIT rolls back too
            Assert.Throws<InvalidOperationException>(() => w.WriteBatch(new[] { Row("c", 1) }, () => throw new InvalidOperationException("hook")));
            Assert.Single(await dialect.ReadAllAsync(0, 100, true, Ct));

            // the same writer (no transaction left open) commits the next batch
            var hookRan = false;
            w.WriteBatch(new[] { Row("b", 1), Row("b", 2) }, () => hookRan = true);
            Assert.True(hookRan);
            Assert.Equal(new[] { ("a", 1L), ("b", 1L), ("b", 2L) },
                (await dialect.ReadAllAsync(0, 100, true, Ct)).Select(r => (r.PersistenceId, r.SequenceNr)));
        }
    }

    [Fact]
    public async Task Hook_sees_the_uncommitted_rows_inside_the_transaction()
    {
        var (store, _, dialect) = await Open();
        using (store)
        using (dialect)
        using (var w = dialect.OpenWriter())
        {
            IReadOnlyList<JournalRow>? seenByOtherConnection = null;
            w.WriteBatch(new[] { Row("x", 1), Row("x", 2) }, () =>
                seenByOtherConnection = dialect.ReadAllAsync(0, 100, true, Ct).GetAwaiter().GetResult());
            Assert.NotNull(seenByOtherConnection);
            Assert.Empty(seenByOtherConnection!); // not committed yet when the hook runs
            Assert.Equal(2, (await dialect.ReadAllAsync(0, 100, true, Ct)).Count);
        }
    }
}
