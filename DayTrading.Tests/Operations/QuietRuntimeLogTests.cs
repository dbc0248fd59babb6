using System.Net.Sockets;
using System.Text;
using DayTrading.Accounts;
using DayTrading.Cluster;
using DayTrading.Host;
using DayTrading.Tests.Support;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace DayTrading.Tests.Operations;

/// <summary>
/// A healthy node's runtime log says nothing alarming: started fresh, a workload of every command replayed, left idle
/// until its accounts passivate, then stopped — no WARNING and no ERROR line (each one would send an operator looking
/// for a problem that is not there; the account-stop NullReferenceException and the start-up warnings did).
/// </summary>
public sealed class QuietRuntimeLogTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static IEnumerable<string> Workload(int users)
    {
        var n = 0;
        string Line(string command) => $"[{++n}] {command}";
        for (var u = 0; u < users; u++)
        {
            var user = "quiet" + u;
            var symbol = "S" + (u % 4);
            yield return Line($"ADD,{user},10000.00");
            yield return Line($"QUOTE,{user},{symbol}");
            yield return Line($"BUY,{user},{symbol},500.00");
            yield return Line($"COMMIT_BUY,{user}");
            yield return Line($"BUY,{user},{symbol},100.00");
            yield return Line($"CANCEL_BUY,{user}");
            yield return Line($"SELL,{user},{symbol},50.00");
            yield return Line($"COMMIT_SELL,{user}");
            yield return Line($"COMMIT_SELL,{user}"); // a refusal by the domain is a normal answer, not a problem
            yield return Line($"SET_BUY_AMOUNT,{user},{symbol},200.00");
            yield return Line($"SET_BUY_TRIGGER,{user},{symbol},1.00");
            yield return Line($"CANCEL_SET_BUY,{user},{symbol}");
            yield return Line($"SET_SELL_AMOUNT,{user},{symbol},1.00");
            yield return Line($"CANCEL_SET_SELL,{user},{symbol}");
            yield return Line($"DISPLAY_SUMMARY,{user}");
            yield return Line($"DUMPLOG,{user},{user}.xml");
        }
        yield return Line("FROB,quiet0"); // refused at the edge: answered and audited, nothing to warn about
        yield return Line("DUMPLOG,all.xml");
    }

    [Fact]
    public async Task A_fresh_node_replaying_a_workload_then_idle_then_stopped_logs_no_warning_and_no_error()
    {
        string[] log;
        var node = new InProcessNode(o => o with { NodeName = "quiet", AdminPort = 0, WebEnabled = true, WebPort = 0, AutoTx = true });
        await using (node)
        {
            await node.StartAsync(Ct);
            var lines = Workload(users: 12).ToArray();
            using (var edge = await node.ConnectAsync(Ct))
            {
                await edge.SendAsync(string.Join('\n', lines) + "\n");
                for (var i = 0; i < lines.Length; i++) await edge.ReadLineAsync(TimeSpan.FromSeconds(60));
            }

            // Idle until every account has passivated (2 minutes without a request): stops are part of a healthy run.
            var region = node.Services.GetRequiredService<ActorRegistry>().Get<AccountRegionKey>();
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
            int alive;
            do
            {
                await Task.Delay(TimeSpan.FromSeconds(10), Ct);
                var shards = await ClusterView.ShardsAsync(region, AccountsSetup.TypeName, TimeSpan.FromSeconds(5));
                alive = shards.Regions.Sum(r => r.Shards.Sum(s => s.Entities));
            } while (alive > 0 && DateTime.UtcNow < deadline);
            Assert.Equal(0, alive);

            await node.StopAsync(); // flushes and closes the runtime log
            log = Directory.GetFiles(Path.Combine(node.DataDirectory, "logs"), "quiet-*.log").SelectMany(File.ReadAllLines).ToArray();
        }

        Assert.Contains(log, l => l.Contains("ready", StringComparison.Ordinal) || l.Contains("quote manager recovered", StringComparison.Ordinal));
        var alarming = log.Where(l => l.Contains(" WRN ", StringComparison.Ordinal) || l.Contains(" ERR ", StringComparison.Ordinal) || l.Contains(" FTL ", StringComparison.Ordinal))
            // Akka's notice that the machine ran the heartbeat timer late (the suite's other tests share two cores): a
            // fact about the machine, not a fault of this node.
            .Where(l => !l.Contains("Scheduled sending of heartbeat was delayed", StringComparison.Ordinal)).ToArray();
        foreach (var l in alarming) output.WriteLine(l);
        Assert.Empty(alarming);
    }
}
