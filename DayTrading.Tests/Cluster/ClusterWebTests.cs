using System.Net;
using System.Xml.Linq;
using DayTrading.Audit;
using DayTrading.Loadgen.Client;
using DayTrading.Tests.Web;
using WebClient = DayTrading.Tests.Web.WebClient;
using Xunit;

namespace DayTrading.Tests.Cluster;

/// <summary>
/// Two nodes (separate processes) sharing one store, each with its web front end. node1 is the oldest member, so it
/// hosts the Auditor singleton; node2 does not.
/// </summary>
public abstract class WebClusterFixture(string store) : IAsyncLifetime
{
    public const string AdminPassword = "cluster-admin-password";
    public NodeCluster Cluster { get; } = new(autoTx: false, store) { ExtraArgs = ["--web", "true", "--web-port", "0", "--web-admin-password", AdminPassword] };
    public Uri AuditorNode { get; private set; } = null!;
    public Uri OtherNode { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        await Cluster.StartAsync(2);
        AuditorNode = await Cluster.Nodes[0].WebUri.WaitAsync(TimeSpan.FromSeconds(60));
        OtherNode = await Cluster.Nodes[1].WebUri.WaitAsync(TimeSpan.FromSeconds(60));
        await NodeCluster.WaitForMembers(Cluster.Nodes[1], r => r.Members.Count == 2 && r.Members.All(m => m.Status == "Up"), TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();

    public string DumpFolder(string node) => Path.Combine(Cluster.DataPath(node), "dumps", "web");
}

/// <summary>The two web nodes on one PostgreSQL database.</summary>
public sealed class PostgresWebClusterFixture() : WebClusterFixture("postgresql");

/// <summary>The two web nodes on one Redis server, under one key prefix.</summary>
public sealed class RedisWebClusterFixture() : WebClusterFixture("redis");

/// <summary>
/// Issue 13, item 13 (issue 17 on Redis): a web login made on one node works on the other (credentials and sessions
/// live in the cluster's store), and the same id signed up on both at once is won once.
/// </summary>
public abstract class ClusterWebLoginTests(WebClusterFixture fixture, ITestOutputHelper output)
{
    protected WebClusterFixture Fixture => fixture;
    protected ITestOutputHelper Output => output;

    protected static string NewUser() => "w" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Signed_up_on_one_node_the_user_logs_in_on_the_other_and_a_session_is_valid_on_both()
    {
        var user = NewUser();
        using var onA = new WebClient(fixture.AuditorNode);
        await onA.SignUp(user, "password-on-a");

        using var onB = new WebClient(fixture.OtherNode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await onB.Post("/api/login", new { userId = user, password = "wrong-password" })).Status);
        var (status, json) = await onB.Post("/api/login", new { userId = user, password = "password-on-a" });
        Assert.True(status == HttpStatusCode.OK, $"{status} {json}");
        (status, json) = await onB.Get("/api/me");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(user, json.GetProperty("userId").GetString());
        Assert.Equal(HttpStatusCode.OK, (await onB.Post($"/api/accounts/{user}/add", new { amount = "25.00" })).Status);

        // The cookie node A issued is accepted by node B (one key ring in the shared store), as behind a load balancer.
        using var carried = new WebClient(fixture.OtherNode);
        carried.Cookies.Add(onA.Cookies.GetAllCookies());
        (status, json) = await carried.Get("/api/me");
        Assert.True(status == HttpStatusCode.OK, $"A's session on B: {status} {json}");
        Assert.Equal(HttpStatusCode.OK, (await carried.Post($"/api/accounts/{user}/add", new { amount = "5.00" })).Status);
        (status, json) = await onA.Get($"/api/accounts/{user}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(30m, DayTrading.Accounts.AccountSummary.FromJson(json.GetRawText())!.Cash);

        // The same id cannot be signed up again on either node.
        using var again = new WebClient(fixture.OtherNode);
        Assert.Equal(HttpStatusCode.Conflict, (await again.Post("/api/signup", new { userId = user, password = "password-on-b" })).Status);
    }

    [Fact]
    public async Task The_same_id_signed_up_on_both_nodes_at_once_is_won_by_exactly_one()
    {
        for (var round = 0; round < 6; round++)
        {
            var user = NewUser();
            using var a = new WebClient(fixture.AuditorNode);
            using var b = new WebClient(fixture.OtherNode);
            await Task.WhenAll(a.RefreshCsrf(), b.RefreshCsrf());
            var both = await Task.WhenAll(
                a.Post("/api/signup", new { userId = user, password = "password-a" }),
                b.Post("/api/signup", new { userId = user, password = "password-b" }));
            output.WriteLine($"{user}: A {both[0].Status}, B {both[1].Status}");
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Conflict], both.Select(r => r.Status).Order());
            var winner = both[0].Status == HttpStatusCode.OK ? "password-a" : "password-b";
            var loser = winner == "password-a" ? "password-b" : "password-a";
            foreach (var node in new[] { fixture.AuditorNode, fixture.OtherNode })
            {
                using var c = new WebClient(node);
                Assert.Equal(HttpStatusCode.Unauthorized, (await c.Post("/api/login", new { userId = user, password = loser })).Status);
                Assert.Equal(HttpStatusCode.OK, (await c.Post("/api/login", new { userId = user, password = winner })).Status);
            }
        }
    }

}

/// <summary>
/// On PostgreSQL the logins as above, and a dump downloaded from the node that does not host the Auditor is the very
/// file the Auditor wrote (remoting between the nodes, whatever the store).
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterWebTests(PostgresWebClusterFixture fixture, ITestOutputHelper output)
    : ClusterWebLoginTests(fixture, output), IClassFixture<PostgresWebClusterFixture>
{
    private static async Task<(string Name, byte[] Bytes, long? Length)> Download(WebClient c, string path)
    {
        using var resp = await c.Http.GetAsync(path, TestContext.Current.CancellationToken);
        var bytes = await resp.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        Assert.True(resp.StatusCode == HttpStatusCode.OK, $"{path}: {resp.StatusCode} {System.Text.Encoding.UTF8.GetString(bytes)}");
        Assert.Equal("application/xml", resp.Content.Headers.ContentType?.MediaType);
        var name = resp.Content.Headers.ContentDisposition?.FileName?.Trim('"');
        Assert.False(string.IsNullOrEmpty(name), "no file name in Content-Disposition");
        return (name, bytes, resp.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task A_dump_downloaded_from_the_node_without_the_Auditor_is_the_Auditors_file_byte_for_byte()
    {
        var ct = TestContext.Current.CancellationToken;
        var user = NewUser();
        using var web = new WebClient(Fixture.OtherNode);
        await web.SignUp(user);

        // Enough history for a dump of several 64 KiB chunks, through node B's TCP edge.
        const int adds = 500;
        await using (var tcp = await EdgeClient.ConnectAsync("127.0.0.1", Fixture.Cluster.Nodes[1].EdgePort, new EdgeClientOptions { RunId = "web-" + user }, ct))
        {
            var replies = await Task.WhenAll(Enumerable.Range(1, adds).Select(i => tcp.SendAsync($"[{i}] ADD,{user},1.00", ct)));
            Assert.All(replies, r => Assert.True(r.Ok, r.Raw));
        }

        var (name, bytes, length) = await Download(web, $"/api/accounts/{user}/dumplog");
        Output.WriteLine($"{name}: {bytes.Length} bytes");
        Assert.Equal(bytes.Length, length);
        Assert.True(bytes.Length > 3 * DumpDownloads.MaxChunkBytes, $"the dump has only {bytes.Length} bytes");
        Assert.False(File.Exists(Path.Combine(Fixture.DumpFolder("node2"), name)), "node B wrote the dump itself");
        var written = await File.ReadAllBytesAsync(Path.Combine(Fixture.DumpFolder("node1"), name), ct);
        Assert.Equal(written, bytes);

        var log = XDocument.Parse(System.Text.Encoding.UTF8.GetString(bytes)).Root!;
        var commands = log.Elements("userCommand").ToList();
        Assert.All(log.Elements().SelectMany(e => e.Elements("username")), u => Assert.Equal(user, u.Value));
        Assert.Equal(adds, commands.Count(e => e.Element("command")?.Value == "ADD"));
        Assert.Single(commands, e => e.Element("command")?.Value == "DUMPLOG");

        // Another user on the same node cannot download it.
        using var other = new WebClient(Fixture.OtherNode);
        await other.SignUp(NewUser());
        Assert.Equal(HttpStatusCode.Forbidden, (await other.Get($"/api/accounts/{user}/dumplog")).Status);

        // The administrator's system-wide dump from node B: also the Auditor's file, byte for byte.
        using var admin = new WebClient(Fixture.OtherNode);
        Assert.Equal(HttpStatusCode.OK, (await admin.Post("/api/login", new { userId = "admin", password = WebClusterFixture.AdminPassword })).Status);
        var (adminName, adminBytes, adminLength) = await Download(admin, "/api/admin/dumplog");
        Assert.Equal(adminBytes.Length, adminLength);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Fixture.DumpFolder("node1"), adminName), ct), adminBytes);
        Assert.Contains(user, System.Text.Encoding.UTF8.GetString(adminBytes));

        // And from the Auditor's own node, the same way.
        using var onA = new WebClient(Fixture.AuditorNode);
        Assert.Equal(HttpStatusCode.OK, (await onA.Post("/api/login", new { userId = user, password = "password-123" })).Status);
        var (nameA, bytesA, _) = await Download(onA, $"/api/accounts/{user}/dumplog");
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(Fixture.DumpFolder("node1"), nameA), ct), bytesA);
        Assert.NotEqual(name, nameA);
    }
}

/// <summary>The logins of <see cref="ClusterWebLoginTests"/> on a Redis cluster: users, claim codes and the key ring in Redis.</summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterWebRedisTests(RedisWebClusterFixture fixture, ITestOutputHelper output)
    : ClusterWebLoginTests(fixture, output), IClassFixture<RedisWebClusterFixture>;
