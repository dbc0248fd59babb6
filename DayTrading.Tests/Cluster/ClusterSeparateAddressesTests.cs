using DayTrading.Accounts;
using DayTrading.Cluster;
using DayTrading.Loadgen.Client;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Cluster;

/// <summary>
/// The "several machines" set-up of docs/CLUSTER.md, with loopback addresses standing in for machines: every node
/// binds and advertises its own address (<c>--cluster-host</c>) and uses the same ports as the others, the seed list
/// names two of them, and clients and the admin CLI reach each node at its own address.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterSeparateAddressesTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Nodes_on_their_own_addresses_with_the_same_ports_form_one_cluster_and_trade()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = new NodeCluster(autoTx: false);
        int clusterPort = NodeCluster.FreePort(), tcpPort = NodeCluster.FreePort(), adminPort = NodeCluster.FreePort();
        string Host(int i) => $"127.0.0.{i}";
        string[] Args(int i) =>
        [
            "--node-name", $"machine{i}", "--data-dir", cluster.DataPath($"machine{i}"),
            .. cluster.Journal.NodeArgs,
            "--cluster-host", Host(i), "--cluster-port", clusterPort.ToString(),
            "--seed-nodes", $"{Host(1)}:{clusterPort},{Host(2)}:{clusterPort}",
            "--tcp-host", Host(i), "--tcp-port", tcpPort.ToString(),
            "--admin-host", Host(i), "--admin-port", adminPort.ToString(), "--admin-secret-file", NodeCluster.AdminSecretFile,
            "--auto-tx", "false", "--sbr-stable-after-seconds", "3",
        ];

        // The first seed first (the very first time), then the others together.
        cluster.Add(await NodeProcess.StartAsync(Args(1)), clusterPort);
        foreach (var node in await Task.WhenAll(NodeProcess.StartAsync(Args(2)), NodeProcess.StartAsync(Args(3))))
            cluster.Add(node, clusterPort);
        Assert.All(cluster.Nodes, n => Assert.Equal(tcpPort, n.EdgePort));
        Assert.All(cluster.Nodes, n => Assert.Equal(adminPort, n.AdminPort));

        // Asked at machine 3's own admin address: three members, each at its own address, all on the same port.
        var members = await NodeCluster.WaitForMembers($"{Host(3)}:{adminPort}",
            r => r.Members.Count == 3 && r.Members.All(m => m.Status == "Up"), TimeSpan.FromSeconds(60));
        output.WriteLine(ClusterAdminProtocol.Format(members));
        Assert.Equal(Enumerable.Range(1, 3).Select(i => $"akka.tcp://daytrading@{Host(i)}:{clusterPort}"),
            members.Members.Select(m => m.Address).Order());
        Assert.Equal($"akka.tcp://daytrading@{Host(3)}:{clusterPort}", members.Self);

        // One trader's commands through three different machines' edges, one after the other.
        var run = "hosts-" + Guid.NewGuid().ToString("N")[..8];
        async Task<EdgeResponse> Send(int machine, string line)
        {
            await using var client = await EdgeClient.ConnectAsync(Host(machine), tcpPort, new EdgeClientOptions { RunId = run }, ct);
            var reply = await client.SendAsync(line, ct);
            Assert.True(reply.Ok, $"{line} on {Host(machine)}: {reply.Raw}");
            return reply;
        }
        await Send(1, "[1] ADD,trader,10000.00");
        await Send(2, "[2] BUY,trader,ABC,5000.00");
        await Send(3, "[3] COMMIT_BUY,trader");
        var summary = AccountSummary.FromJson((await Send(2, "[4] DISPLAY_SUMMARY,trader")).Body!)!;
        // Whole shares of ABC for at most $5,000, paid from the $10,000; nothing left reserved.
        var abc = Assert.Single(summary.Holdings);
        Assert.Equal("ABC", abc.Symbol);
        Assert.True(abc.Shares > 0);
        Assert.Equal(0m, summary.ReservedCash);
        Assert.InRange(summary.Cash, 5000m, 9999.99m);
    }
}
