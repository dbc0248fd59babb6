using DayTrading.Host.Web;
using DayTrading.Tests.Persistence;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace DayTrading.Tests.Web;

/// <summary>
/// Issue 13, item 13 (and issue 17 for Redis): every login store keeps the same contract — unique user ids, one-time
/// claim codes that expire, the password rules — and two stores on one database or Redis server (two nodes) decide
/// every race exactly once.
/// </summary>
public sealed class WebUserStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Stores => ["sqlite", "postgresql", "redis"];

    /// <summary>The stores a cluster shares, with its cookie keys.</summary>
    public static TheoryData<string> SharedStores => ["postgresql", "redis"];

    /// <summary>A node's store on the cluster's PostgreSQL schema or Redis key prefix of <paramref name="db"/>.</summary>
    private static async Task<IWebUserStore> OpenShared(TestStore db, TimeProvider clock) => db.Provider == "redis"
        ? await RedisWebUserStore.OpenAsync(db.ConnectionString, db.Schema, clock)
        : await PostgresWebUserStore.OpenAsync(db.ConnectionString, db.Schema, clock);

    private sealed class TwoNodes : IAsyncDisposable
    {
        public TestStore Db { get; }
        public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);
        public IWebUserStore A { get; private set; } = null!;
        public IWebUserStore B { get; private set; } = null!;

        private TwoNodes(string provider) => Db = new TestStore(provider);

        public static async Task<TwoNodes> OpenAsync(string provider)
        {
            var n = new TwoNodes(provider);
            if (provider == "sqlite")
            {
                var file = n.Db.ConnectionString["Data Source=".Length..];
                n.A = new SqliteWebUserStore(file, n.Clock);
                n.B = new SqliteWebUserStore(file, n.Clock);
            }
            else
            {
                // Both open at once, as two nodes starting together do (on PostgreSQL both create the tables).
                var a = OpenShared(n.Db, n.Clock);
                var b = OpenShared(n.Db, n.Clock);
                n.A = await a;
                n.B = await b;
            }
            return n;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var store in new[] { A, B }.OfType<IAsyncDisposable>()) await store.DisposeAsync();
            Db.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_login_made_through_one_store_works_through_the_other_and_ids_are_unique_and_case_sensitive(string provider)
    {
        await using var nodes = await TwoNodes.OpenAsync(provider);
        Assert.True(await nodes.A.TryCreateAsync("alice", "password-1", admin: false, Ct));
        Assert.False(await nodes.B.TryCreateAsync("alice", "password-2", admin: false, Ct));
        Assert.True(await nodes.B.TryCreateAsync("Alice", "password-3", admin: false, Ct));

        var alice = await nodes.B.VerifyAsync("alice", "password-1", Ct);
        Assert.NotNull(alice);
        Assert.False(alice.Admin);
        Assert.Null(await nodes.B.VerifyAsync("alice", "password-2", Ct));
        Assert.Null(await nodes.A.VerifyAsync("nobody", "password-1", Ct));
        Assert.NotNull(await nodes.A.VerifyAsync("Alice", "password-3", Ct));

        // The administrator, set at each node's start: the last one wins, and it stays the admin.
        await nodes.A.UpsertAdminAsync("admin", "admin-pass-1", Ct);
        await nodes.B.UpsertAdminAsync("admin", "admin-pass-2", Ct);
        Assert.Null(await nodes.A.VerifyAsync("admin", "admin-pass-1", Ct));
        Assert.True((await nodes.A.VerifyAsync("admin", "admin-pass-2", Ct))!.Admin);

        Assert.Null(await nodes.A.VerifyAsync("alice", new string('p', WebUserStore.MaxPasswordLength + 1), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => nodes.A.TryCreateAsync("bob", new string('p', WebUserStore.MaxPasswordLength + 1), admin: false, Ct));
        Assert.Null(await nodes.B.FindAsync("bob", Ct));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_claim_code_issued_on_one_node_works_once_on_another_for_its_id_only_and_expires(string provider)
    {
        await using var nodes = await TwoNodes.OpenAsync(provider);
        var code = await nodes.A.IssueClaimCodeAsync("trader", Ct);
        Assert.Contains("wrong, used or expired", await nodes.B.TryClaimAsync("other", code, "password-1", Ct));
        // A code one character off (never the code itself: "00" + code[2..] was, whenever the code began with 00).
        var wrong = (code[0] == '0' ? '1' : '0') + code[1..];
        Assert.Contains("wrong, used or expired", await nodes.B.TryClaimAsync("trader", wrong, "password-1", Ct));
        Assert.Null(await nodes.B.TryClaimAsync("trader", " " + code.ToLowerInvariant() + " ", "password-1", Ct));
        Assert.NotNull(await nodes.A.VerifyAsync("trader", "password-1", Ct));
        Assert.Contains("wrong, used or expired", await nodes.A.TryClaimAsync("trader", code, "password-2", Ct));

        // A second code for an id that has a login by then: refused, and that code stays unused.
        var late = await nodes.A.IssueClaimCodeAsync("trader", Ct);
        Assert.Contains("already has a web login", await nodes.B.TryClaimAsync("trader", late, "password-3", Ct));
        Assert.NotNull(await nodes.A.VerifyAsync("trader", "password-1", Ct));

        var expiring = await nodes.A.IssueClaimCodeAsync("later", Ct);
        nodes.Clock.Advance(WebUserStore.ClaimCodeLifetime + TimeSpan.FromSeconds(1));
        Assert.Contains("wrong, used or expired", await nodes.B.TryClaimAsync("later", expiring, "password-1", Ct));
        Assert.Null(await nodes.B.FindAsync("later", Ct));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task The_same_id_signed_up_on_two_nodes_at_once_is_won_exactly_once(string provider)
    {
        await using var nodes = await TwoNodes.OpenAsync(provider);
        for (var round = 0; round < 6; round++)
        {
            var id = $"race{round}";
            var attempts = Enumerable.Range(0, 4).Select(i => Task.Run(() => (i % 2 == 0 ? nodes.A : nodes.B).TryCreateAsync(id, $"password-{i}", admin: false, Ct))).ToArray();
            var won = await Task.WhenAll(attempts);
            Assert.Equal(1, won.Count(w => w));
            var winner = Array.IndexOf(won, true);
            for (var i = 0; i < won.Length; i++)
            {
                var user = await (i % 2 == 0 ? nodes.B : nodes.A).VerifyAsync(id, $"password-{i}", Ct);
                Assert.Equal(i == winner, user is not null);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task One_claim_code_used_on_two_nodes_at_once_creates_one_login(string provider)
    {
        await using var nodes = await TwoNodes.OpenAsync(provider);
        for (var round = 0; round < 5; round++)
        {
            var id = $"claimed{round}";
            var code = await nodes.A.IssueClaimCodeAsync(id, Ct);
            var claims = Enumerable.Range(0, 4).Select(i => Task.Run(() => (i % 2 == 0 ? nodes.A : nodes.B).TryClaimAsync(id, code, $"password-{i}", Ct))).ToArray();
            var refusals = await Task.WhenAll(claims);
            Assert.Equal(1, refusals.Count(r => r is null));
            var winner = Array.IndexOf(refusals, null);
            Assert.NotNull(await nodes.B.VerifyAsync(id, $"password-{winner}", Ct));
        }
    }

    [Theory]
    [MemberData(nameof(SharedStores))]
    public async Task Two_nodes_starting_at_once_share_one_cookie_key_from_the_shared_store(string provider)
    {
        using var db = new TestStore(provider);
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var stores = (await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => OpenShared(db, clock)))).Cast<ISharedWebKeys>().ToArray();
        try
        {
            var providers = stores.Select(s => new ServiceCollection()
                .AddDataProtection().SetApplicationName("DayTrading").Services
                .Configure<KeyManagementOptions>(o => o.XmlRepository = s.KeyRepository)
                .BuildServiceProvider()).ToArray();
            var protectors = providers.Select(p => p.GetRequiredService<IDataProtectionProvider>().CreateProtector("test")).ToArray();

            // As WebFrontEnd starts: each node's first use of its key ring under the database lock, all at once.
            await Task.WhenAll(stores.Select((s, i) => Task.Run(() => s.WithKeyRingLockAsync(() => protectors[i].Protect([1]), TestContext.Current.CancellationToken))));

            Assert.Single(stores[0].KeyRepository.GetAllElements(), e => e.Name.LocalName == "key");
            for (var from = 0; from < protectors.Length; from++)
            for (var to = 0; to < protectors.Length; to++)
                Assert.Equal($"from {from}", protectors[to].Unprotect(protectors[from].Protect($"from {from}")));
            foreach (var p in providers) await p.DisposeAsync();
        }
        finally
        {
            foreach (var s in stores.OfType<IAsyncDisposable>()) await s.DisposeAsync();
        }
    }

    [Fact]
    public async Task On_Redis_everything_is_under_the_journal_prefix_and_a_claim_code_is_kept_only_as_its_hash_until_it_expires()
    {
        await using var nodes = await TwoNodes.OpenAsync("redis");
        Assert.True(await nodes.A.TryCreateAsync("alice", "password-1", admin: false, Ct));
        var code = await nodes.A.IssueClaimCodeAsync("trader", Ct);

        using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(nodes.Db.ConnectionString);
        var db = redis.GetDatabase();
        var server = redis.GetServers()[0];
        var keys = server.Keys(pattern: nodes.Db.Schema + ":*").Select(k => k.ToString()).Order().ToList();
        Assert.Equal(2, keys.Count);
        Assert.Equal($"{nodes.Db.Schema}:web:user:alice", keys[1]);
        var claimKey = keys[0];
        Assert.StartsWith($"{nodes.Db.Schema}:web:claim:", claimKey);
        Assert.DoesNotContain(code, claimKey, StringComparison.OrdinalIgnoreCase);
        var claim = await db.HashGetAllAsync(claimKey);
        Assert.Equal("trader", claim.Single(f => f.Name == "user_id").Value.ToString());
        Assert.DoesNotContain(claim, f => f.Value.ToString().Contains(code, StringComparison.OrdinalIgnoreCase));
        var ttl = await db.KeyTimeToLiveAsync(claimKey);
        Assert.InRange(ttl!.Value, WebUserStore.ClaimCodeLifetime - TimeSpan.FromMinutes(1), WebUserStore.ClaimCodeLifetime);
        Assert.DoesNotContain(await db.HashGetAllAsync(keys[1]), f => f.Value.ToString().Contains("password-1", StringComparison.Ordinal));

        // Used: marked so, still only until it would have expired.
        Assert.Null(await nodes.B.TryClaimAsync("trader", code, "password-2", Ct));
        Assert.True(await db.HashExistsAsync(claimKey, "used_ms"));
        Assert.NotNull(await db.KeyTimeToLiveAsync(claimKey));
    }
}
