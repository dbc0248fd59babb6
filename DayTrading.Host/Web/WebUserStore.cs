using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Identity;
using Microsoft.Data.Sqlite;

namespace DayTrading.Host.Web;

public sealed record WebUser(string UserId, string PasswordHash, bool Admin, long CreatedMs);

/// <summary>
/// The web front end's users and claim codes, in a small SQLite file of their own in the node's data directory
/// (<c>web-users.db</c>): durable across restarts, independent of the journal. Passwords are stored as
/// ASP.NET Core Identity <see cref="PasswordHasher{TUser}"/> hashes (PBKDF2); claim codes only as SHA-256 hashes.
/// A password longer than <see cref="MaxPasswordLength"/> is never hashed (<see cref="Verify"/> answers null,
/// the others throw <see cref="ArgumentException"/>): the endpoints refuse it before, this is the last guard.
/// </summary>
public sealed class WebUserStore
{
    public static readonly TimeSpan ClaimCodeLifetime = TimeSpan.FromHours(24);
    public const int MaxPasswordLength = 128;
    public const int MaxClaimCodeLength = 64;

    private readonly string _connectionString;
    private readonly TimeProvider _clock;
    private readonly IPasswordHasher<WebUser> _hasher;

    public WebUserStore(string path, TimeProvider clock, IPasswordHasher<WebUser>? hasher = null)
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        _clock = clock;
        _hasher = hasher ?? new PasswordHasher<WebUser>();
        using var c = Open();
        Exec(c, """
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS web_users (user_id TEXT PRIMARY KEY, password_hash TEXT NOT NULL, admin INTEGER NOT NULL, created_ms INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS claim_codes (code_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_ms INTEGER NOT NULL, used_ms INTEGER);
            """);
    }

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private static void CheckLength(string password)
    {
        if (password.Length > MaxPasswordLength) throw new ArgumentException($"the password has more than {MaxPasswordLength} characters", nameof(password));
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Exec(c, "PRAGMA busy_timeout=5000;");
        return c;
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public WebUser? Find(string userId)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT user_id, password_hash, admin, created_ms FROM web_users WHERE user_id = $u";
        cmd.Parameters.AddWithValue("$u", userId);
        using var r = cmd.ExecuteReader();
        return r.Read() ? new WebUser(r.GetString(0), r.GetString(1), r.GetInt64(2) != 0, r.GetInt64(3)) : null;
    }

    /// <summary>Creates the user; false when the id is taken (the primary key decides races).</summary>
    public bool TryCreate(string userId, string password, bool admin)
    {
        CheckLength(password);
        var user = new WebUser(userId, "", admin, Now);
        var hash = _hasher.HashPassword(user, password);
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT OR IGNORE INTO web_users (user_id, password_hash, admin, created_ms) VALUES ($u, $h, $a, $t)";
        cmd.Parameters.AddWithValue("$u", userId);
        cmd.Parameters.AddWithValue("$h", hash);
        cmd.Parameters.AddWithValue("$a", admin ? 1 : 0);
        cmd.Parameters.AddWithValue("$t", user.CreatedMs);
        return cmd.ExecuteNonQuery() == 1;
    }

    /// <summary>Creates or resets the administrator (from the node's options at start).</summary>
    public void UpsertAdmin(string userId, string password)
    {
        CheckLength(password);
        var hash = _hasher.HashPassword(new WebUser(userId, "", true, Now), password);
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            INSERT INTO web_users (user_id, password_hash, admin, created_ms) VALUES ($u, $h, 1, $t)
            ON CONFLICT(user_id) DO UPDATE SET password_hash = excluded.password_hash, admin = 1
            """;
        cmd.Parameters.AddWithValue("$u", userId);
        cmd.Parameters.AddWithValue("$h", hash);
        cmd.Parameters.AddWithValue("$t", Now);
        cmd.ExecuteNonQuery();
    }

    /// <summary>The user when the password is right, else null.</summary>
    public WebUser? Verify(string userId, string password)
    {
        if (password.Length > MaxPasswordLength) return null;
        var user = Find(userId);
        if (user is null)
        {
            // Same work for an unknown user as for a wrong password: no timing hint about which ids exist.
            _hasher.VerifyHashedPassword(Dummy, DummyHash, password);
            return null;
        }
        return _hasher.VerifyHashedPassword(user, user.PasswordHash, password) == PasswordVerificationResult.Failed ? null : user;
    }

    private static readonly WebUser Dummy = new("-", "", false, 0);
    private static readonly string DummyHash = new PasswordHasher<WebUser>().HashPassword(Dummy, "not a password");

    /// <summary>Issues a one-time claim code for <paramref name="userId"/>; only its hash is stored.</summary>
    public string IssueClaimCode(string userId)
    {
        var code = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO claim_codes (code_hash, user_id, expires_ms) VALUES ($c, $u, $e)";
        cmd.Parameters.AddWithValue("$c", HashCode(code));
        cmd.Parameters.AddWithValue("$u", userId);
        cmd.Parameters.AddWithValue("$e", Now + (long)ClaimCodeLifetime.TotalMilliseconds);
        cmd.ExecuteNonQuery();
        return code;
    }

    /// <summary>Consumes a claim code for <paramref name="userId"/> and creates the user in one transaction.</summary>
    public string? TryClaim(string userId, string code, string password)
    {
        CheckLength(password);
        if (code.Length > MaxClaimCodeLength) return "the claim code is wrong, used or expired for this account";
        var hash = _hasher.HashPassword(new WebUser(userId, "", false, Now), password);
        using var c = Open();
        using var tx = c.BeginTransaction(System.Data.IsolationLevel.Serializable);
        using (var use = c.CreateCommand())
        {
            use.Transaction = tx;
            use.CommandText = "UPDATE claim_codes SET used_ms = $now WHERE code_hash = $c AND user_id = $u AND used_ms IS NULL AND expires_ms > $now";
            use.Parameters.AddWithValue("$c", HashCode(code.Trim().ToUpperInvariant()));
            use.Parameters.AddWithValue("$u", userId);
            use.Parameters.AddWithValue("$now", Now);
            if (use.ExecuteNonQuery() != 1) return "the claim code is wrong, used or expired for this account";
        }
        using (var ins = c.CreateCommand())
        {
            ins.Transaction = tx;
            ins.CommandText = "INSERT OR IGNORE INTO web_users (user_id, password_hash, admin, created_ms) VALUES ($u, $h, 0, $t)";
            ins.Parameters.AddWithValue("$u", userId);
            ins.Parameters.AddWithValue("$h", hash);
            ins.Parameters.AddWithValue("$t", Now);
            if (ins.ExecuteNonQuery() != 1) return "this account already has a web login";
        }
        tx.Commit();
        return null;
    }

    private static string HashCode(string code) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(code)));
}
