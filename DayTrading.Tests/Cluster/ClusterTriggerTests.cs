using DayTrading.Accounts;
using DayTrading.Loadgen.Client;
using Xunit;

namespace DayTrading.Tests.Cluster;

/// <summary>
/// Triggers on a 3-node cluster whose oldest node — where the AutoTxManager singleton runs — is killed right after
/// the triggers are armed: the singleton starts again on another node from the journal and every trigger fires
/// exactly once, with balanced books.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterTriggerTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(NodeCluster.Stores), MemberType = typeof(NodeCluster))]
    public async Task Triggers_fire_exactly_once_when_the_singletons_node_dies(string store)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = new NodeCluster(autoTx: true, store) { ExtraArgs = ["--trigger-refresh-seconds", "1"] };
        await cluster.StartAsync(3);
        await NodeCluster.WaitForMembers(cluster.Nodes[0], r => r.Members.Count == 3 && r.Members.All(m => m.Status == "Up"), TimeSpan.FromSeconds(60));
        var oldest = cluster.Nodes[0];
        var survivor = cluster.Nodes[2];

        const int users = 12;
        await using (var client = await EdgeClient.ConnectAsync("127.0.0.1", cluster.Nodes[1].EdgePort, new EdgeClientOptions { RunId = "triggers" }, ct))
        {
            var quote = await client.SendAsync("[1] ADD,t0,1000.00", ct);
            Assert.True(quote.Ok, quote.Raw);
            var price = decimal.Parse((await client.SendAsync("[2] QUOTE,t0,ABC", ct)).Body!.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
            var tx = 10L;
            for (var i = 0; i < users; i++)
            {
                if (i > 0) Assert.True((await client.SendAsync($"[{++tx}] ADD,t{i},1000.00", ct)).Ok);
                Assert.True((await client.SendAsync($"[{++tx}] SET_BUY_AMOUNT,t{i},ABC,{price * 2:0.00}", ct)).Ok);
                // Well above the current price (prices move at most ±10 % between 60 s windows): the next quote the
                // engine checks crosses it.
                var armed = await client.SendAsync($"[{++tx}] SET_BUY_TRIGGER,t{i},ABC,{price * 1.25m:0.00}", ct);
                Assert.True(armed.Ok, armed.Raw);
            }
        }
        output.WriteLine($"armed {users} triggers; killing the oldest node {cluster.AddressOf(oldest)}");
        oldest.Kill();

        await using var check = await EdgeClient.ConnectAsync("127.0.0.1", survivor.EdgePort, new EdgeClientOptions { RunId = "check" }, ct);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        var tx2 = 1_000L;
        for (var i = 0; i < users; i++)
        {
            AccountSummary s;
            while (true)
            {
                var reply = await check.SendAsync($"[{++tx2}] DISPLAY_SUMMARY,t{i}", ct);
                s = reply.Ok ? AccountSummary.FromJson(reply.Body!)! : null!;
                if (s is not null && s.BuyTriggers.Count == 0) break;
                Assert.True(DateTime.UtcNow < deadline, $"t{i}'s trigger did not fire: {reply.Raw}");
                await Task.Delay(250, ct);
            }
            var fired = Assert.Single(s.History, h => h.Kind == "AUTOBUY");
            var holding = Assert.Single(s.Holdings);
            Assert.Equal(fired.Shares, holding.Shares);
            Assert.Equal(0m, s.ReservedCash);
            Assert.Equal(1000m - fired.Amount, s.Cash); // the rest of the reserve came back; nothing was spent twice
        }

        var dump = await check.SendAsync($"[{++tx2}] DUMPLOG,./triggers.xml", ct);
        Assert.True(dump.Ok, dump.Raw);
        var path = System.Text.RegularExpressions.Regex.Match(dump.Body!, @" to (\S+) in ").Groups[1].Value;
        var fires = System.Xml.Linq.XDocument.Load(path).Root!.Elements("systemEvent")
            .Where(e => e.Element("command")!.Value == "SET_BUY_TRIGGER").ToList();
        Assert.Equal(users, fires.Count);
        Assert.Equal(users, fires.Select(e => e.Element("username")!.Value).Distinct().Count());
    }
}
