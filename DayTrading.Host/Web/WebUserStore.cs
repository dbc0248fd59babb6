using System.Data;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.Identity;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace DayTrading.Host.Web;

public sealed record WebUser(string UserId, string PasswordHash, bool Admin, long CreatedMs);

/// <summary>
/// The web front end's users and claim codes. Passwords are stored as ASP.NET Core Identity
/// <see cref="PasswordHasher{TUser}"/> hashes (PBKDF2); claim codes only as SHA-256 hashes. A password longer than
/// <see cref="WebUserStore.MaxPasswordLength"/> is never hashed (<see cref="VerifyAsync"/> answers null, the others
/// throw <see cref="ArgumentException"/>): the endpoints refuse it before, this is the last guard. The store (the
/// database, or the Redis server) decides every race: a user id exists at most once, a claim code is used at most
/// once, whichever node asks.
/// </summary>
public interface IWebUserStore
{
    Task<WebUser?> FindAsync(string userId, CancellationToken ct = default);

    /// <summary>Creates the user; false when the id is taken (the primary key decides races, across nodes too).</summary>
    Task<bool> TryCreateAsync(string userId, string password, bool admin, CancellationToken ct = default);

    /// <summary>Creates or resets the administrator (from the node's options at start).</summary>
    Task UpsertAdminAsync(string userId, string password, CancellationToken ct = default);

    /// <summary>The user when the password is right, else null.</summary>
    Task<WebUser?> VerifyAsync(string userId, string password, CancellationToken ct = default);

    /// <summary>Issues a one-time claim code for <paramref name="userId"/>; only its hash is stored.</summary>
    Task<string> IssueClaimCodeAsync(string userId, CancellationToken ct = default);

    /// <summary>Consumes a claim code for <paramref name="userId"/> and creates the user in one transaction; the refusal, or null.</summary>
    Task<string?> TryClaimAsync(string userId, string code, string password, CancellationToken ct = default);
}

/// <summary>
/// A login store every node of a cluster shares (PostgreSQL, Redis), with the cluster's cookie and antiforgery keys:
/// a cookie issued by one node is accepted by every node.
/// </summary>
public interface ISharedWebKeys
{
    /// <summary>ASP.NET Core Data Protection's key ring in the shared store (instead of each node's <c>web-keys/</c>).</summary>
    IXmlRepository KeyRepository { get; }

    /// <summary>
    /// Runs <paramref name="action"/> (the node's first use of its key ring) while no other node does: the first node
    /// creates the key and every node after it finds that key, instead of each making one of its own at the same time.
    /// </summary>
    Task WithKeyRingLockAsync(Action action, CancellationToken ct);
}

/// <summary>
/// The store's logic over ADO.NET, the same SQL for both databases (<c>INSERT … ON CONFLICT</c>, <c>@</c>
/// parameters); the subclasses give the connection, the table names and how a claim's transaction starts.
/// </summary>
public abstract class WebUserStore : IWebUserStore
{
    public static readonly TimeSpan ClaimCodeLifetime = TimeSpan.FromHours(24);
    public const int MaxPasswordLength = 128;
    public const int MaxClaimCodeLength = 64;
    internal const string WrongCode = "the claim code is wrong, used or expired for this account";
    internal const string AlreadyHasLogin = "this account already has a web login";

    private readonly TimeProvider _clock;
    private readonly IPasswordHasher<WebUser> _hasher;

    protected WebUserStore(TimeProvider clock, IPasswordHasher<WebUser>? hasher)
    {
        _clock = clock;
        _hasher = hasher ?? new PasswordHasher<WebUser>();
    }

    /// <summary>The users' table, as SQL (qualified by schema where there is one).</summary>
    protected abstract string UsersTable { get; }

    /// <summary>The claim codes' table, as SQL.</summary>
    protected abstract string ClaimCodesTable { get; }

    protected abstract Task<DbConnection> OpenAsync(CancellationToken ct);

    /// <summary>The claim's transaction: both statements see and lock what the other node's claim does.</summary>
    protected abstract Task<DbTransaction> BeginClaimAsync(DbConnection c, CancellationToken ct);

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    internal static void CheckLength(string password)
    {
        if (password.Length > MaxPasswordLength) throw new ArgumentException($"the password has more than {MaxPasswordLength} characters", nameof(password));
    }

    private static DbCommand Command(DbConnection c, string sql, DbTransaction? tx, params (string Name, object Value)[] parameters)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    public async Task<WebUser?> FindAsync(string userId, CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(c, $"SELECT user_id, password_hash, admin, created_ms FROM {UsersTable} WHERE user_id = @u", null, ("u", userId));
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false)) return null;
        return new WebUser(r.GetString(0), r.GetString(1), Convert.ToInt64(r.GetValue(2)) != 0, Convert.ToInt64(r.GetValue(3)));
    }

    public async Task<bool> TryCreateAsync(string userId, string password, bool admin, CancellationToken ct = default)
    {
        CheckLength(password);
        var user = new WebUser(userId, "", admin, Now);
        var hash = _hasher.HashPassword(user, password);
        await using var c = await OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(c,
            $"INSERT INTO {UsersTable} (user_id, password_hash, admin, created_ms) VALUES (@u, @h, @a, @t) ON CONFLICT (user_id) DO NOTHING", null,
            ("u", userId), ("h", hash), ("a", admin ? 1L : 0L), ("t", user.CreatedMs));
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    public async Task UpsertAdminAsync(string userId, string password, CancellationToken ct = default)
    {
        CheckLength(password);
        var hash = _hasher.HashPassword(new WebUser(userId, "", true, Now), password);
        await using var c = await OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(c, $"""
            INSERT INTO {UsersTable} (user_id, password_hash, admin, created_ms) VALUES (@u, @h, 1, @t)
            ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, admin = 1
            """, null, ("u", userId), ("h", hash), ("t", Now));
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<WebUser?> VerifyAsync(string userId, string password, CancellationToken ct = default)
    {
        if (password.Length > MaxPasswordLength) return null;
        return Verify(_hasher, await FindAsync(userId, ct).ConfigureAwait(false), password);
    }

    /// <summary><paramref name="user"/> when <paramref name="password"/> is its password, else null.</summary>
    internal static WebUser? Verify(IPasswordHasher<WebUser> hasher, WebUser? user, string password)
    {
        if (user is null)
        {
            // Same work for an unknown user as for a wrong password: no timing hint about which ids exist.
            hasher.VerifyHashedPassword(Dummy, DummyHash, password);
            return null;
        }
        return hasher.VerifyHashedPassword(user, user.PasswordHash, password) == PasswordVerificationResult.Failed ? null : user;
    }

    private static readonly WebUser Dummy = new("-", "", false, 0);
    private static readonly string DummyHash = new PasswordHasher<WebUser>().HashPassword(Dummy, "not a password");

    /// <summary>A fresh claim code: 96 random bits, as upper-case hex (what <see cref="NormalizeClaimCode"/> gives back).</summary>
    internal static string NewClaimCode() => Convert.ToHexString(RandomNumberGenerator.GetBytes(12));

    /// <summary>A claim code as typed (spaces around it, any case) in the form it was issued in.</summary>
    internal static string NormalizeClaimCode(string code) => code.Trim().ToUpperInvariant();

    public async Task<string> IssueClaimCodeAsync(string userId, CancellationToken ct = default)
    {
        var code = NewClaimCode();
        await using var c = await OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(c, $"INSERT INTO {ClaimCodesTable} (code_hash, user_id, expires_ms) VALUES (@c, @u, @e)", null,
            ("c", HashCode(code)), ("u", userId), ("e", Now + (long)ClaimCodeLifetime.TotalMilliseconds));
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return code;
    }

    public async Task<string?> TryClaimAsync(string userId, string code, string password, CancellationToken ct = default)
    {
        CheckLength(password);
        if (code.Length > MaxClaimCodeLength) return WrongCode;
        var hash = _hasher.HashPassword(new WebUser(userId, "", false, Now), password);
        await using var c = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = await BeginClaimAsync(c, ct).ConfigureAwait(false);
        var now = Now;
        // A claim running at the same time on another node waits at this row (or at the user id below) and then
        // sees it used (or the id taken): one claim wins, the other changes nothing (the rollback keeps its code).
        await using (var use = Command(c,
                         $"UPDATE {ClaimCodesTable} SET used_ms = @now WHERE code_hash = @c AND user_id = @u AND used_ms IS NULL AND expires_ms > @now", tx,
                         ("c", HashCode(NormalizeClaimCode(code))), ("u", userId), ("now", now)))
        {
            if (await use.ExecuteNonQueryAsync(ct).ConfigureAwait(false) != 1) return WrongCode;
        }
        await using (var ins = Command(c,
                         $"INSERT INTO {UsersTable} (user_id, password_hash, admin, created_ms) VALUES (@u, @h, 0, @t) ON CONFLICT (user_id) DO NOTHING", tx,
                         ("u", userId), ("h", hash), ("t", now)))
        {
            if (await ins.ExecuteNonQueryAsync(ct).ConfigureAwait(false) != 1) return AlreadyHasLogin;
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return null;
    }

    internal static string HashCode(string code) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(code)));

    /// <summary>
    /// The store a node uses: where the journal is when that is shared by a cluster — the PostgreSQL database with
    /// <c>--journal postgresql</c>, the Redis server under the journal's key prefix with <c>--journal redis</c> (every
    /// node sees every login) — else the node's own SQLite file <c>web-users.db</c> in its data directory (a single node).
    /// </summary>
    public static async Task<IWebUserStore> OpenForNodeAsync(NodeOptions options, TimeProvider clock, CancellationToken ct = default)
    {
        if (options.Journal == "postgresql")
            return await PostgresWebUserStore.OpenAsync(options.EffectiveConnectionString(), options.DbSchema, clock, ct: ct).ConfigureAwait(false);
        if (options.Journal == "redis")
            return await RedisWebUserStore.OpenAsync(options.EffectiveConnectionString(), options.JournalStore().RedisKeyPrefix, clock, ct: ct).ConfigureAwait(false);
        return new SqliteWebUserStore(Path.Combine(options.DataDirectory, "web-users.db"), clock);
    }
}

/// <summary>A single node's logins: a small SQLite file of their own (<c>web-users.db</c>), independent of the journal.</summary>
public sealed class SqliteWebUserStore : WebUserStore
{
    private readonly string _connectionString;

    public SqliteWebUserStore(string path, TimeProvider clock, IPasswordHasher<WebUser>? hasher = null) : base(clock, hasher)
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        using var c = new SqliteConnection(_connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS web_users (user_id TEXT PRIMARY KEY, password_hash TEXT NOT NULL, admin INTEGER NOT NULL, created_ms INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS claim_codes (code_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_ms INTEGER NOT NULL, used_ms INTEGER);
            """;
        cmd.ExecuteNonQuery();
    }

    protected override string UsersTable => "web_users";
    protected override string ClaimCodesTable => "claim_codes";

    protected override async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var c = new SqliteConnection(_connectionString);
        await c.OpenAsync(ct).ConfigureAwait(false);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout=5000;";
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return c;
    }

    protected override async Task<DbTransaction> BeginClaimAsync(DbConnection c, CancellationToken ct) =>
        await c.BeginTransactionAsync(IsolationLevel.Serializable, ct).ConfigureAwait(false);
}

/// <summary>
/// A cluster's logins, in its PostgreSQL database (the journal's, in the same <c>--db-schema</c>): tables
/// <c>web_users</c> and <c>web_claim_codes</c>, created if missing. Every node reads and writes the same rows, so a
/// login made on one node works on all; races between nodes are decided by the primary keys and row locks.
/// The web's cookie and antiforgery keys live there too (<see cref="KeyRepository"/>, table <c>web_keys</c>), so
/// a session started on one node is valid on every node.
/// </summary>
public sealed class PostgresWebUserStore : WebUserStore, ISharedWebKeys, IAsyncDisposable
{
    private readonly NpgsqlDataSource _ds;
    private readonly string _schema;

    private PostgresWebUserStore(NpgsqlDataSource ds, string schema, TimeProvider clock, IPasswordHasher<WebUser>? hasher) : base(clock, hasher)
    {
        _ds = ds;
        _schema = schema;
        var prefix = schema.Length > 0 ? Quote(schema) + "." : "";
        UsersTable = prefix + "web_users";
        ClaimCodesTable = prefix + "web_claim_codes";
        KeysTable = prefix + "web_keys";
        KeyRepository = new KeyRing(this);
    }

    private string KeysTable { get; }

    public IXmlRepository KeyRepository { get; }

    private const long KeyLock = 7240135520987413762;

    public async Task WithKeyRingLockAsync(Action action, CancellationToken ct)
    {
        await using var c = await _ds.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using (var lk = new NpgsqlCommand($"SELECT pg_advisory_lock({KeyLock})", c)) await lk.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        try
        {
            action();
        }
        finally
        {
            await using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({KeyLock})", c);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private sealed class KeyRing(PostgresWebUserStore store) : IXmlRepository
    {
        public IReadOnlyCollection<XElement> GetAllElements()
        {
            using var c = store._ds.OpenConnection();
            using var cmd = new NpgsqlCommand($"SELECT xml FROM {store.KeysTable} ORDER BY name", c);
            using var r = cmd.ExecuteReader();
            var result = new List<XElement>();
            while (r.Read()) result.Add(XElement.Parse(r.GetString(0)));
            return result;
        }

        public void StoreElement(XElement element, string friendlyName)
        {
            using var c = store._ds.OpenConnection();
            using var cmd = new NpgsqlCommand(
                $"INSERT INTO {store.KeysTable} (name, xml) VALUES (@n, @x) ON CONFLICT (name) DO UPDATE SET xml = excluded.xml", c);
            cmd.Parameters.AddWithValue("n", friendlyName);
            cmd.Parameters.AddWithValue("x", element.ToString(SaveOptions.DisableFormatting));
            cmd.ExecuteNonQuery();
        }
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    protected override string UsersTable { get; }
    protected override string ClaimCodesTable { get; }

    /// <summary>Connects and creates the schema and tables if missing (nodes starting together take turns).</summary>
    public static async Task<PostgresWebUserStore> OpenAsync(string connectionString, string schema, TimeProvider clock,
        IPasswordHasher<WebUser>? hasher = null, CancellationToken ct = default)
    {
        var csb = new NpgsqlConnectionStringBuilder(connectionString);
        // Log-ins are few and short; keep the web's share of the server's max_connections small.
        if (!connectionString.Contains("Maximum Pool Size", StringComparison.OrdinalIgnoreCase) &&
            !connectionString.Contains("Max Pool Size", StringComparison.OrdinalIgnoreCase))
            csb.MaxPoolSize = 8;
        var store = new PostgresWebUserStore(NpgsqlDataSource.Create(csb.ConnectionString), schema, clock, hasher);
        await store.CreateTablesAsync(ct).ConfigureAwait(false);
        return store;
    }

    private async Task CreateTablesAsync(CancellationToken ct)
    {
        var createSchema = _schema.Length > 0 ? $"CREATE SCHEMA IF NOT EXISTS {Quote(_schema)};" : "";
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var c = await _ds.OpenConnectionAsync(ct).ConfigureAwait(false);
                await using var tx = await c.BeginTransactionAsync(ct).ConfigureAwait(false);
                // CREATE … IF NOT EXISTS is not safe against itself on PostgreSQL: nodes starting together take turns.
                await using (var lk = new NpgsqlCommand("SELECT pg_advisory_xact_lock(7240135520987413761)", c, tx))
                    await lk.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                await using (var cmd = new NpgsqlCommand($"""
                    {createSchema}
                    CREATE TABLE IF NOT EXISTS {UsersTable} (user_id TEXT PRIMARY KEY, password_hash TEXT NOT NULL, admin BIGINT NOT NULL, created_ms BIGINT NOT NULL);
                    CREATE TABLE IF NOT EXISTS {ClaimCodesTable} (code_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_ms BIGINT NOT NULL, used_ms BIGINT);
                    CREATE TABLE IF NOT EXISTS {KeysTable} (name TEXT PRIMARY KEY, xml TEXT NOT NULL);
                    """, c, tx))
                    await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
                return;
            }
            catch (PostgresException e) when (e.SqlState is "23505" or "42P07" or "42P06" && attempt < 3)
            {
                // the journal's own CREATE SCHEMA ran at the same moment (it does not take this lock): try again
            }
        }
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken ct) => await _ds.OpenConnectionAsync(ct).ConfigureAwait(false);

    public ValueTask DisposeAsync() => _ds.DisposeAsync();

    // Read committed is enough: the UPDATE waits for a concurrent claim's lock on the code row and re-checks
    // "used_ms IS NULL"; the INSERT waits for a concurrent insert of the same id and then does nothing.
    protected override async Task<DbTransaction> BeginClaimAsync(DbConnection c, CancellationToken ct) =>
        await c.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct).ConfigureAwait(false);
}
