using DayTrading.Host.Web;
using DayTrading.Tests.Persistence;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace DayTrading.Tests.Web;

/// <summary>
/// Issue 13, item 13: both login stores keep the same contract — unique user ids, one-time claim codes that expire,
/// the password rules — and two stores on one database (two nodes) decide every race exactly once.
/// </summary>
public sealed class WebUserStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Stores => ["sqlite", "postgresql"];

    private sealed class TwoNodes : IAsyncDisposable
    {
        private readonly TestStore _db;
        public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);
        public IWebUserStore A { get; private set; } = null!;
        public IWebUserStore B { get; private set; } = null!;

        private TwoNodes(string provider) => _db = new TestStore(provider);

        public static async Task<TwoNodes> OpenAsync(string provider)
        {
            var n = new TwoNodes(provider);
            if (provider == "sqlite")
            {
                var file = n._db.ConnectionString["Data Source=".Length..];
                n.A = new SqliteWebUserStore(file, n.Clock);
                n.B = new SqliteWebUserStore(file, n.Clock);
            }
            else
            {
                // Both create the tables at once, as two nodes starting together do.
                var a = PostgresWebUserStore.OpenAsync(n._db.ConnectionString, n._db.Schema, n.Clock);
                var b = PostgresWebUserStore.OpenAsync(n._db.ConnectionString, n._db.Schema, n.Clock);
                n.A = await a;
                n.B = await b;
            }
            return n;
        }

        public ValueTask DisposeAsync()
        {
            _db.Dispose();
            return ValueTask.CompletedTask;
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

    [Fact]
    public async Task Two_nodes_starting_at_once_share_one_cookie_key_from_the_database()
    {
        using var db = new TestStore("postgresql");
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var stores = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => PostgresWebUserStore.OpenAsync(db.ConnectionString, db.Schema, clock)));
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
            foreach (var s in stores) await s.DisposeAsync();
        }
    }
}
