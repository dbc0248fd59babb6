using System.Diagnostics;
using DayTrading.Cluster;
using DayTrading.Loadgen.Client;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Cluster;

/// <summary>Every verb of the <c>cluster</c> admin CLI against a live three-node cluster on PostgreSQL.</summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterAdminTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Every_admin_verb_against_a_live_three_node_cluster()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = new NodeCluster(autoTx: true);
        await cluster.StartAsync(3);
        var (n1, n2, n3) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        Assert.All(cluster.Nodes, n => Assert.NotEqual(0, n.AdminPort));

        // members: every node Up and reachable, one leader, the asked node flagged.
        var members = await NodeCluster.WaitForMembers(n2, r => r.Members.Count == 3 && r.Members.All(m => m.Status == "Up"), Settle);
        Assert.Equal(cluster.Nodes.Select(cluster.AddressOf).Order(), members.Members.Select(m => m.Address).Order());
        Assert.All(members.Members, m => Assert.True(m.Reachable));
        Assert.All(members.Members, m => Assert.Contains("trading", m.Roles));
        Assert.Equal(cluster.AddressOf(n2), Assert.Single(members.Members, m => m.Self).Address);
        Assert.Equal(members.Leader, Assert.Single(members.Members, m => m.Leader).Address);
        // Every node's own view, not only n2's: the verbs below ask n1 and n3, whose gossip may lag a moment.
        foreach (var n in new[] { n1, n3 }) await NodeCluster.WaitForMembers(n, r => r.Members.Count == 3 && r.Members.All(m => m.Status == "Up"), Settle);
        var (exit, table, _) = await NodeCluster.Cli(n1, "members");
        Assert.Equal(0, exit);
        output.WriteLine(table);
        Assert.Contains("(leader)", table);
        Assert.Contains("3 member(s), 0 unreachable", table);

        // shards: one entity per user created, wherever its shard lives; every node has a region.
        var users = Enumerable.Range(1, 12).Select(i => $"admin-user-{i}").ToArray();
        await using (var client = await EdgeClient.ConnectAsync("127.0.0.1", n3.EdgePort, new EdgeClientOptions { RunId = "admin-test" }, ct))
        {
            var tx = 0;
            foreach (var u in users) Assert.True((await client.SendAsync($"[{++tx}] ADD,{u},100.00", ct)).Ok);
        }
        var shards = await NodeCluster.CliJson<ShardsReport>(n1, "shards");
        Assert.Equal("account", shards.TypeName);
        Assert.Equal(3, shards.Regions.Count);
        Assert.Equal(users.Length, shards.Regions.Sum(r => r.Shards.Sum(s => s.Entities)));
        Assert.Empty(shards.Failed);
        (exit, table, _) = await NodeCluster.Cli(n2, "shards");
        Assert.Equal(0, exit);
        output.WriteLine(table);
        Assert.Contains($"{users.Length} entit(ies) on 3 node(s)", table);

        // singletons: every one runs on the oldest member, the seed node.
        var singletons = await NodeCluster.CliJson<SingletonsReport>(n3, "singletons");
        Assert.Equal(["quote-manager", "auditor", "expiry-watcher", "auto-tx-manager", "sharding coordinator (account)"], singletons.Singletons.Select(s => s.Name));
        Assert.All(singletons.Singletons, s => Assert.Equal(cluster.AddressOf(n1), s.RunningAt));
        Assert.All(singletons.Singletons, s => Assert.Equal(cluster.AddressOf(n1), s.Oldest));
        (exit, table, _) = await NodeCluster.Cli(n3, "singletons");
        output.WriteLine(table);
        Assert.Equal(0, exit);

        // Refusals and errors: clear message, exit codes 1 (refused / usage) and 3 (unreachable).
        var (code, _, err) = await NodeCluster.Cli(n1, "down 127.0.0.1:1");
        Assert.Equal(1, code);
        Assert.Contains("unknown address", err);
        (code, _, err) = await NodeCluster.Cli(n1, "leave not-an-address");
        Assert.Equal(1, code);
        Assert.Contains("not-an-address", err);
        (code, _, err) = await NodeCluster.Cli(n1, "frobnicate");
        Assert.Equal(1, code);
        Assert.Contains("unknown verb", err);
        (code, _, err) = await NodeCluster.Cli($"127.0.0.1:{NodeCluster.FreePort()}", "members");
        Assert.Equal(3, code);
        Assert.Contains("unreachable", err);
        (code, _, err) = await NodeCluster.Cli("no-port", "members");
        Assert.Equal(1, code);

        // join: a node started with a wrong seed never joins until told to.
        var adminPort = NodeCluster.FreePort();
        var n4Port = NodeCluster.FreePort();
        var n4 = NodeProcess.Launch(cluster.Args("node4", n4Port, adminPort, seeds: $"127.0.0.1:{NodeCluster.FreePort()}"));
        cluster.Add(n4, n4Port);
        var joined = await RetryCli($"127.0.0.1:{adminPort}", $"join {cluster.AddressOf(n1)}", TimeSpan.FromSeconds(60));
        Assert.Contains("asked to join", joined);
        await n4.WaitUntilReadyAsync();
        await NodeCluster.WaitForMembers(n1, r => r.Members.Count == 4 && r.Members.All(m => m.Status == "Up"), Settle);

        // leave: the member hands over and its process exits by itself; the others see it removed.
        (code, var left, err) = await NodeCluster.Cli(n1, $"leave 127.0.0.1:{cluster.ClusterPorts[n4]}");
        Assert.True(code == 0, err);
        Assert.Contains("is leaving", left);
        await n4.WaitForExitAsync(Settle);
        await NodeCluster.WaitForMembers(n2, r => r.Members.Count == 3 && r.Members.All(m => m.Address != cluster.AddressOf(n4)), Settle);

        // down: a SIGKILLed member is marked down by hand (before the split-brain resolver would) and removed.
        n3.Kill();
        await NodeCluster.WaitForMembers(n1, r => r.Members.Any(m => m.Address == cluster.AddressOf(n3) && !m.Reachable) || r.Members.Count == 2, Settle);
        (code, var downed, err) = await NodeCluster.Cli(n2, $"down {cluster.AddressOf(n3)}");
        if (code != 0) Assert.Contains("unknown address", err); // the resolver was quicker: already removed
        else Assert.Contains("marked down", downed);
        await NodeCluster.WaitForMembers(n1, r => r.Members.Count == 2 && r.Members.All(m => m.Reachable && m.Status == "Up"), Settle);
        // Right after a removal the stats may still be gathering; they settle on the two remaining regions.
        var until = DateTime.UtcNow + Settle;
        while ((shards = await NodeCluster.CliJson<ShardsReport>(n1, "shards")).Regions.Count != 2 && DateTime.UtcNow < until) await Task.Delay(500, ct);
        Assert.Equal(new[] { cluster.AddressOf(n1), cluster.AddressOf(n2) }.Order(), shards.Regions.Select(r => r.Address).Order());
    }

    [Fact]
    public async Task The_cli_process_reports_usage_errors_and_unreachable_nodes_with_exit_codes()
    {
        var (code, _, err) = await RunHost("cluster", "members", "--node", $"127.0.0.1:{NodeCluster.FreePort()}", "--secret-file", NodeCluster.AdminSecretFile);
        Assert.Equal(3, code);
        Assert.Contains("unreachable", err);
        (code, _, _) = await RunHost("cluster", "frobnicate");
        Assert.NotEqual(0, code);
        (code, _, _) = await RunHost("cluster", "leave");
        Assert.NotEqual(0, code);
        (code, var help, _) = await RunHost("cluster", "--help");
        Assert.Equal(0, code);
        foreach (var verb in ClusterAdminProtocol.Verbs) Assert.Contains(verb, help);
    }

    private static async Task<string> RetryCli(string target, string request, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var (exit, o, e) = await NodeCluster.Cli(target, request);
            if (exit == 0) return o;
            if (DateTime.UtcNow > until) Assert.Fail($"cluster {request} on {target}: exit {exit}: {e}");
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }
    }

    private static async Task<(int Exit, string Out, string Err)> RunHost(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "DayTrading.Host.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await o, await e);
    }
}
