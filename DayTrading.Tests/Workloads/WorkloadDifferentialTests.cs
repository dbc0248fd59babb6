using DayTrading.Accounts;
using DayTrading.Host;
using DayTrading.Loadgen.Client;
using DayTrading.Loadgen.Workloads;
using DayTrading.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DayTrading.Tests.Workloads;

/// <summary>
/// The course workloads sent over TCP to a fresh single node: every line answered exactly once, every outcome and
/// every user's final books equal to what the pure domain computes from the same commands and quotes.
/// </summary>
public sealed class WorkloadDifferentialTests(ITestOutputHelper output)
{
    [SharedDataTheory]
    [InlineData("1userWorkLoad")]
    [InlineData("10User_testWorkLoad")]
    public async Task A_course_workload_over_TCP_matches_the_pure_domain(string workload)
    {
        using var data = new TempDirectory();
        var quotes = new FixedQuoteSource();
        using var host = NodeHost.Build(new NodeOptions { AdminPort = -1, DataDirectory = data.Path, TcpPort = 0, ClusterPort = 0, AutoTx = false, WebEnabled = false }, TextWriter.Null, quotes);
        await host.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var edge = await host.Services.GetRequiredService<NodeReadiness>().Edge.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
            var commands = WorkloadReader.ReadFile(SharedData.Workload(workload));

            var result = await WorkloadReplayer.ReplayAsync("127.0.0.1", edge.Port, commands, connections: 4,
                cancellationToken: TestContext.Current.CancellationToken);
            output.WriteLine($"{workload}: {commands.Count} lines in {result.WallTime.TotalMilliseconds:0} ms, {result.Errors} error responses, {quotes.Hits} quote hits");

            // Exactly one response per line, carrying the line's transaction number.
            Assert.Equal(commands.Count, result.Pairs.Count);
            Assert.All(result.Pairs, p => Assert.Equal(p.Command.TxNum, p.Response.TxNum));
            Assert.Equal(commands.Select(c => c.TxNum).Order(), result.Pairs.Select(p => p.Response.TxNum).Order());

            // Each user's outcomes, in the user's order, equal the model's.
            var model = new ReferenceModel();
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var byTx = result.Pairs.ToDictionary(p => p.Command.LineNumber, p => p.Response);
            foreach (var command in commands.Where(c => !c.IsAdminDump))
            {
                var response = byTx[command.LineNumber];
                var expected = model.Apply(command, r => new DayTrading.Quotes.Quote(r.Symbol!, FixedQuoteSource.PriceOf(r.Symbol!), r.UserId!, now, "fixed-" + r.Symbol), now);
                if (expected is null)
                {
                    Assert.False(response.Ok, $"line {command.LineNumber} '{command.Line}' should have been refused: {response.Raw}");
                    continue;
                }
                Assert.True(expected.Ok == response.Ok, $"line {command.LineNumber} '{command.Line}': model {(expected.Ok ? "OK" : expected.Error)}, node {response.Raw}");
            }

            // And the final books of every user equal the model's.
            await using var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, cancellationToken: TestContext.Current.CancellationToken);
            var tx = 1_000_000L;
            foreach (var (user, state) in model.Accounts.Where(a => a.Value.Exists))
            {
                var reply = await client.SendAsync($"[{++tx}] DISPLAY_SUMMARY,{user}", TestContext.Current.CancellationToken);
                Assert.True(reply.Ok, reply.Raw);
                ReferenceModel.AssertSameBooks(state, AccountSummary.FromJson(reply.Body!)!);
            }
            Assert.NotEmpty(model.Accounts);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }
}
