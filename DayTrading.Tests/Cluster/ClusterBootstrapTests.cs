using System.Net;
using System.Text.Json;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Cluster;

/// <summary>
/// A cluster formed by Akka.Management Cluster Bootstrap with config discovery, no <c>--seed-nodes</c> anywhere
/// (docs/CLUSTER.md#cluster-bootstrap): one node alone waits (not Up, <c>/ready</c> 503, the web API 503, no TCP
/// edge), and once every listed contact point answers, the three form one cluster and all turn ready.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterBootstrapTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record BootstrapNode(string Name, int ClusterPort, int ManagementPort, int WebPort);

    private static string[] Args(NodeCluster cluster, BootstrapNode node, IEnumerable<BootstrapNode> all) =>
    [
        "--node-name", node.Name, "--data-dir", cluster.DataPath(node.Name),
        .. cluster.Journal.NodeArgs,
        "--tcp-port", "0", "--cluster-port", node.ClusterPort.ToString(), "--admin-port", "0",
        "--discovery", "config", "--management-port", node.ManagementPort.ToString(),
        "--discovery-endpoints", string.Join(",", all.Select(n => $"127.0.0.1:{n.ManagementPort}")),
        "--web", "true", "--web-port", node.WebPort.ToString(), "--auto-tx", "false",
        "--sbr-stable-after-seconds", "3", "--admin-secret-file", NodeCluster.AdminSecretFile,
    ];

    private static async Task<(HttpStatusCode Status, string Body)> Get(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path, Ct);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
        }
        catch (HttpRequestException e)
        {
            return (0, e.Message); // the web port is not open yet
        }
    }

    private static async Task<string> RoundTrip(int edgePort, string line)
    {
        var tcp = new System.Net.Sockets.TcpClient { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", edgePort, Ct);
        using var edge = new EdgeConnectionForTests(tcp, Ct);
        await edge.SendAsync(line + "\n");
        return await edge.ReadLineAsync();
    }

    [Fact]
    public async Task Three_nodes_form_a_cluster_through_config_discovery_without_a_seed_list()
    {
        await using var cluster = new NodeCluster(autoTx: false);
        var nodes = Enumerable.Range(1, 3)
            .Select(i => new BootstrapNode($"boot{i}", NodeCluster.FreePort(), NodeCluster.FreePort(), NodeCluster.FreePort())).ToArray();
        var http = nodes.Select(n => new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{n.WebPort}"), Timeout = TimeSpan.FromSeconds(10) }).ToArray();
        try
        {
            var first = NodeProcess.Launch(Args(cluster, nodes[0], nodes));
            cluster.Add(first, nodes[0].ClusterPort);

            // Alone, the first node finds one contact point of the three it needs: it neither forms a cluster nor joins one.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            (HttpStatusCode Status, string Body) ready;
            while ((ready = await Get(http[0], "/ready")).Status == 0 && DateTime.UtcNow < until) await Task.Delay(200, Ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
            await Task.Delay(TimeSpan.FromSeconds(8), Ct); // well past the bootstrap's 3 s stable margin
            ready = await Get(http[0], "/ready");
            output.WriteLine("alone: " + ready.Body);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
            var member = JsonDocument.Parse(ready.Body).RootElement.GetProperty("checks").GetProperty("cluster-member");
            Assert.Equal("Unhealthy", member.GetProperty("status").GetString());
            var api = await Get(http[0], "/api/session");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, api.Status);
            Assert.Contains("not yet Up", api.Body);
            Assert.Equal(HttpStatusCode.OK, (await Get(http[0], "/healthz")).Status);
            Assert.False(first.HasExited, string.Join("\n", first.Output));

            foreach (var node in nodes.Skip(1)) cluster.Add(NodeProcess.Launch(Args(cluster, node, nodes)), node.ClusterPort);
            foreach (var node in cluster.Nodes) await node.WaitUntilReadyAsync(TimeSpan.FromSeconds(120));

            var members = await NodeCluster.WaitForMembers(cluster.Nodes[0], r => r.Members.Count(m => m.Status == "Up") == 3, TimeSpan.FromSeconds(60));
            Assert.Equal(nodes.Select(n => NodeCluster.Address(n.ClusterPort)).Order(), members.Members.Select(m => m.Address).Order());
            foreach (var client in http)
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                while ((ready = await Get(client, "/ready")).Status != HttpStatusCode.OK && DateTime.UtcNow < deadline) await Task.Delay(200, Ct);
                Assert.True(ready.Status == HttpStatusCode.OK, $"{client.BaseAddress}: {(int)ready.Status} {ready.Body}");
            }

            // One cluster, not three: a user's money added through one node is seen through another.
            Assert.Equal("[1] OK ADD", await RoundTrip(cluster.Nodes[1].EdgePort, "[1] ADD,bootuser,250.00"));
            Assert.Contains("250", await RoundTrip(cluster.Nodes[2].EdgePort, "[2] DISPLAY_SUMMARY,bootuser"));
        }
        finally
        {
            foreach (var client in http) client.Dispose();
        }
    }
}
