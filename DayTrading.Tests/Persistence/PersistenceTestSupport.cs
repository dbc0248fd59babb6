using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using DayTrading.Persistence;
using Npgsql;

namespace DayTrading.Tests.Persistence;

/// <summary>
/// One isolated store per test: a temp SQLite file, a fresh PostgreSQL schema (dropped on dispose), or a fresh key
/// prefix on the test Redis server (scripts/ensure-redis.sh; its keys deleted on dispose).
/// </summary>
public sealed class TestStore : IDisposable
{
    public const string DefaultPg = DayTrading.Loadgen.JournalBench.JournalBenchCommand.DefaultPg;

    /// <summary>The test Redis server (scripts/ensure-redis.sh), or DAYTRADING_REDIS.</summary>
    public static string DefaultRedis => Environment.GetEnvironmentVariable("DAYTRADING_REDIS") is { Length: > 0 } env ? env : DayTrading.Loadgen.JournalBench.JournalBenchCommand.DefaultRedis;

    public string Provider { get; }
    public string ConnectionString { get; }
    public string Schema { get; } = "";
    private readonly string? _dir;

    public TestStore(string provider)
    {
        Provider = provider;
        if (provider == "sqlite")
        {
            _dir = Path.Combine(Path.GetTempPath(), "dt-journal-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_dir);
            ConnectionString = $"Data Source={Path.Combine(_dir, "journal.db")}";
        }
        else if (provider == "redis")
        {
            ConnectionString = DefaultRedis;
            Schema = "t_" + Guid.NewGuid().ToString("N")[..12];
            CheckRedis(ConnectionString);
        }
        else
        {
            ConnectionString = Environment.GetEnvironmentVariable("DAYTRADING_PG") is { Length: > 0 } env ? env : DefaultPg;
            Schema = "t_" + Guid.NewGuid().ToString("N")[..12];
            try
            {
                using var c = new NpgsqlConnection(ConnectionString);
                c.Open();
            }
            catch (Exception e)
            {
                throw new InvalidOperationException(
                    $"PostgreSQL is unreachable ({new NpgsqlConnectionStringBuilder(ConnectionString) { Password = "***" }}). " +
                    "Run scripts/ensure-postgres.sh (as root) or set DAYTRADING_PG. Cause: " + e.Message, e);
            }
        }
    }

    /// <summary>Fails with what to do when the Redis server at <paramref name="connectionString"/> does not answer.</summary>
    public static void CheckRedis(string connectionString)
    {
        try
        {
            using var redis = StackExchange.Redis.ConnectionMultiplexer.Connect(connectionString + ",connectTimeout=3000");
            redis.GetDatabase().Ping();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"Redis is unreachable at {connectionString}: run scripts/ensure-redis.sh (as root) or set DAYTRADING_REDIS. Cause: " + e.Message, e);
        }
    }

    /// <summary>
    /// Deletes every key under <paramref name="prefix"/> (found with SCAN; the server is shared, so never FLUSHALL).
    /// Best effort: a test's clean-up must not hide its result.
    /// </summary>
    public static void DeleteRedisKeys(string connectionString, string prefix)
    {
        try
        {
            using var redis = StackExchange.Redis.ConnectionMultiplexer.Connect(connectionString);
            RedisDialect.DeleteKeysUnderAsync(redis, prefix).GetAwaiter().GetResult();
        }
        catch { /* best effort */ }
    }

    public DayTradingDbSettings Settings(int maxBatchSize = 1000) => new()
    {
        Provider = DayTradingDbSettings.ParseProvider(Provider),
        ConnectionString = ConnectionString,
        Schema = Schema,
        MaxBatchSize = maxBatchSize,
    };

    public Config Config(int maxBatchSize = 1000) =>
        DayTradingPersistence.Config(Provider, ConnectionString, maxBatchSize: maxBatchSize, schema: Schema)
            .WithFallback(ConfigurationFactory.ParseString($$"""
                akka.loglevel = WARNING
                akka.actor.serializers {
                  test-event = "{{typeof(TestEventSerializer).AssemblyQualifiedName}}"
                  always-fails = "{{typeof(FailingSerializer).AssemblyQualifiedName}}"
                }
                akka.actor.serialization-bindings {
                  "{{typeof(TestEvent).AssemblyQualifiedName}}" = test-event
                  "{{typeof(Unserializable).AssemblyQualifiedName}}" = always-fails
                }
                """));

    public void Dispose()
    {
        if (_dir is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(_dir, true); } catch { /* best effort */ }
        }
        else if (Provider == "redis") DeleteRedisKeys(ConnectionString, Schema);
        else
        {
            try
            {
                NpgsqlConnection.ClearAllPools();
                using var c = new NpgsqlConnection(ConnectionString);
                c.Open();
                using var cmd = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{Schema}\" CASCADE", c);
                cmd.ExecuteNonQuery();
            }
            catch { /* best effort */ }
        }
    }
}

/// <summary>Event with a custom string-manifest serializer.</summary>
public sealed record TestEvent(string Text);

/// <summary>Its serializer always throws: persisting it must be a rejection.</summary>
public sealed record Unserializable(string Text);

public sealed class TestEventSerializer : SerializerWithStringManifest
{
    public TestEventSerializer(ExtendedActorSystem system) : base(system) { }
    public override int Identifier => 9401;
    public override string Manifest(object o) => "TE1";
    public override byte[] ToBinary(object obj) => Encoding.UTF8.GetBytes(((TestEvent)obj).Text);
    public override object FromBinary(byte[] bytes, string manifest) =>
        manifest == "TE1" ? new TestEvent(Encoding.UTF8.GetString(bytes)) : throw new ArgumentException("unknown manifest " + manifest);
}

public sealed class FailingSerializer : Serializer
{
    public FailingSerializer(ExtendedActorSystem system) : base(system) { }
    public override int Identifier => 9402;
    public override bool IncludeManifest => false;
    public override byte[] ToBinary(object obj) => throw new InvalidOperationException("cannot serialize " + obj);
    public override object FromBinary(byte[] bytes, Type? type) => throw new NotSupportedException();
}
