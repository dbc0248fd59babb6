using System.Globalization;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.Identity;
using StackExchange.Redis;

namespace DayTrading.Host.Web;

/// <summary>
/// A cluster's logins on its Redis server, under the journal's key prefix <c>{p}</c> (<c>--db-schema</c>, default
/// <c>dt</c>), so one prefix holds a cluster's whole state and nothing else's:
/// <list type="bullet">
/// <item><c>{p}:web:user:{id}</c> — hash: <c>password_hash</c>, <c>admin</c> (0/1), <c>created_ms</c>;</item>
/// <item><c>{p}:web:claim:{SHA-256 of the code}</c> — hash: <c>user_id</c>, <c>expires_ms</c>, <c>used_ms</c> once
/// used; the key itself expires with the code's lifetime (the store's clock still judges it, as the SQL stores do);</item>
/// <item><c>{p}:web:keys</c> — hash: friendly name → XML of the Data Protection key ring (<see cref="KeyRepository"/>);
/// <c>{p}:web:keys-lock</c> — who is creating the first key.</item>
/// </list>
/// Every race is one Lua script: Redis runs a script alone, so an id is created once, and a claim code is checked,
/// marked used and its login created in one step — two nodes claiming the same code at once create one login.
/// </summary>
public sealed class RedisWebUserStore : IWebUserStore, ISharedWebKeys, IAsyncDisposable
{
    private const string CreateUserScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], 'password_hash', ARGV[1], 'admin', ARGV[2], 'created_ms', ARGV[3])
        return 1
        """;

    // The administrator keeps the time it was first created, as the SQL stores' ON CONFLICT DO UPDATE does.
    private const string UpsertAdminScript = """
        redis.call('HSET', KEYS[1], 'password_hash', ARGV[1], 'admin', '1')
        redis.call('HSETNX', KEYS[1], 'created_ms', ARGV[2])
        return 1
        """;

    private const string IssueClaimCodeScript = """
        redis.call('HSET', KEYS[1], 'user_id', ARGV[1], 'expires_ms', ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 1
        """;

    // 0: claimed and the login created; 1: the code is wrong for this id, used or expired; 2: the id has a login
    // already (the code stays unused, as the SQL stores' rollback keeps it).
    private const string ClaimScript = """
        local code = redis.call('HMGET', KEYS[1], 'user_id', 'expires_ms', 'used_ms')
        if not code[1] or code[1] ~= ARGV[1] or code[3] or tonumber(code[2]) <= tonumber(ARGV[2]) then return 1 end
        if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
        redis.call('HSET', KEYS[1], 'used_ms', ARGV[2])
        redis.call('HSET', KEYS[2], 'password_hash', ARGV[3], 'admin', '0', 'created_ms', ARGV[2])
        return 0
        """;

    private const string ReleaseLockScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    // Long enough for any first key creation (milliseconds of work), short enough that a node killed while holding
    // it delays the others' start by no more than this.
    private static readonly TimeSpan KeyRingLockLease = TimeSpan.FromSeconds(30);

    private readonly ConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly TimeProvider _clock;
    private readonly IPasswordHasher<WebUser> _hasher;

    private RedisWebUserStore(ConnectionMultiplexer redis, string prefix, TimeProvider clock, IPasswordHasher<WebUser>? hasher)
    {
        _redis = redis;
        _prefix = prefix;
        _clock = clock;
        _hasher = hasher ?? new PasswordHasher<WebUser>();
        KeyRepository = new KeyRing(this);
    }

    /// <summary>Connects to the Redis server (<c>host:port</c> or a StackExchange.Redis configuration string).</summary>
    /// <param name="prefix">the journal's key prefix (<see cref="DayTrading.Persistence.DayTradingDbSettings.RedisKeyPrefix"/>)</param>
    public static async Task<RedisWebUserStore> OpenAsync(string configuration, string prefix, TimeProvider clock,
        IPasswordHasher<WebUser>? hasher = null, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(prefix)) throw new ArgumentException("the Redis key prefix is empty", nameof(prefix));
        var options = ConfigurationOptions.Parse(configuration);
        options.ConnectTimeout = Math.Min(options.ConnectTimeout, 5000);
        options.SyncTimeout = Math.Min(options.SyncTimeout, 5000);
        options.AsyncTimeout = Math.Min(options.AsyncTimeout, 5000);
        // A command whose connection dropped fails instead of being sent again later: a create sent twice would
        // answer "taken" for the login it made itself.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        ConnectionMultiplexer redis;
        try
        {
            redis = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(ct).ConfigureAwait(false);
        }
        catch (RedisConnectionException e)
        {
            throw new InvalidOperationException($"the web front end cannot reach the Redis server at {configuration} for its logins: {e.Message}", e);
        }
        return new RedisWebUserStore(redis, prefix, clock, hasher);
    }

    public IXmlRepository KeyRepository { get; }

    private IDatabase Db => _redis.GetDatabase();

    private RedisKey UserKey(string userId) => $"{_prefix}:web:user:{userId}";

    private RedisKey ClaimKey(string codeHash) => $"{_prefix}:web:claim:{codeHash}";

    private RedisKey KeysKey => $"{_prefix}:web:keys";

    private RedisKey KeysLockKey => $"{_prefix}:web:keys-lock";

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private static string Ms(long ms) => ms.ToString(CultureInfo.InvariantCulture);

    public async Task<WebUser?> FindAsync(string userId, CancellationToken ct = default)
    {
        var fields = await Db.HashGetAsync(UserKey(userId), ["password_hash", "admin", "created_ms"]).WaitAsync(ct).ConfigureAwait(false);
        if (fields[0].IsNull) return null;
        return new WebUser(userId, fields[0].ToString(), fields[1] == "1", (long)fields[2]);
    }

    public async Task<bool> TryCreateAsync(string userId, string password, bool admin, CancellationToken ct = default)
    {
        WebUserStore.CheckLength(password);
        var user = new WebUser(userId, "", admin, Now);
        var hash = _hasher.HashPassword(user, password);
        var created = await Db.ScriptEvaluateAsync(CreateUserScript, [UserKey(userId)], [hash, admin ? "1" : "0", Ms(user.CreatedMs)])
            .WaitAsync(ct).ConfigureAwait(false);
        return (int)created == 1;
    }

    public async Task UpsertAdminAsync(string userId, string password, CancellationToken ct = default)
    {
        WebUserStore.CheckLength(password);
        var now = Now;
        var hash = _hasher.HashPassword(new WebUser(userId, "", true, now), password);
        await Db.ScriptEvaluateAsync(UpsertAdminScript, [UserKey(userId)], [hash, Ms(now)]).WaitAsync(ct).ConfigureAwait(false);
    }

    public async Task<WebUser?> VerifyAsync(string userId, string password, CancellationToken ct = default)
    {
        if (password.Length > WebUserStore.MaxPasswordLength) return null;
        return WebUserStore.Verify(_hasher, await FindAsync(userId, ct).ConfigureAwait(false), password);
    }

    public async Task<string> IssueClaimCodeAsync(string userId, CancellationToken ct = default)
    {
        var code = WebUserStore.NewClaimCode();
        var lifetime = (long)WebUserStore.ClaimCodeLifetime.TotalMilliseconds;
        await Db.ScriptEvaluateAsync(IssueClaimCodeScript, [ClaimKey(WebUserStore.HashCode(code))], [userId, Ms(Now + lifetime), Ms(lifetime)])
            .WaitAsync(ct).ConfigureAwait(false);
        return code;
    }

    public async Task<string?> TryClaimAsync(string userId, string code, string password, CancellationToken ct = default)
    {
        WebUserStore.CheckLength(password);
        if (code.Length > WebUserStore.MaxClaimCodeLength) return WebUserStore.WrongCode;
        var now = Now;
        var hash = _hasher.HashPassword(new WebUser(userId, "", false, now), password);
        var result = (int)await Db.ScriptEvaluateAsync(ClaimScript,
                [ClaimKey(WebUserStore.HashCode(WebUserStore.NormalizeClaimCode(code))), UserKey(userId)], [userId, Ms(now), hash])
            .WaitAsync(ct).ConfigureAwait(false);
        return result switch
        {
            0 => null,
            1 => WebUserStore.WrongCode,
            _ => WebUserStore.AlreadyHasLogin,
        };
    }

    public async Task WithKeyRingLockAsync(Action action, CancellationToken ct)
    {
        var token = Guid.NewGuid().ToString("N");
        while (!await Db.StringSetAsync(KeysLockKey, token, KeyRingLockLease, When.NotExists).WaitAsync(ct).ConfigureAwait(false))
            await Task.Delay(50, ct).ConfigureAwait(false);
        try
        {
            action();
        }
        finally
        {
            // Only our own lease: had it run out and another node taken the lock, that node's stays.
            await Db.ScriptEvaluateAsync(ReleaseLockScript, [KeysLockKey], [token]).ConfigureAwait(false);
        }
    }

    private sealed class KeyRing(RedisWebUserStore store) : IXmlRepository
    {
        public IReadOnlyCollection<XElement> GetAllElements() =>
            store.Db.HashGetAll(store.KeysKey)
                .OrderBy(e => e.Name.ToString(), StringComparer.Ordinal)
                .Select(e => XElement.Parse(e.Value.ToString()))
                .ToList();

        public void StoreElement(XElement element, string friendlyName) =>
            store.Db.HashSet(store.KeysKey, friendlyName, element.ToString(SaveOptions.DisableFormatting));
    }

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync().ConfigureAwait(false);
}
