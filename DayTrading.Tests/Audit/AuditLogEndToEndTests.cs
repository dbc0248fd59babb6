using System.Collections.Concurrent;
using System.Globalization;
using System.Xml.Linq;
using DayTrading.Accounts;
using DayTrading.Host;
using DayTrading.Loadgen.Client;
using DayTrading.Loadgen.Workloads;
using DayTrading.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>
/// The audit log of a real node: the course workload's dump is schema-valid and complete, and a node killed with
/// SIGKILL mid-workload still ends with a complete log without duplicates.
/// </summary>
public sealed class AuditLogEndToEndTests(ITestOutputHelper output)
{
    private static readonly XNamespace None = XNamespace.None;

    [SharedDataFact]
    public async Task The_10_user_workloads_dump_is_valid_and_accounts_for_every_request_hit_and_dollar()
    {
        var ct = TestContext.Current.CancellationToken;
        using var data = new TempDirectory();
        var quotes = new FixedQuoteSource();
        using var host = NodeHost.Build(new NodeOptions { AdminPort = -1, DataDirectory = data.Path, TcpPort = 0, ClusterPort = 0, AutoTx = false, WebEnabled = false }, TextWriter.Null, quotes);
        await host.StartAsync(ct);
        try
        {
            var edge = await host.Services.GetRequiredService<NodeReadiness>().Edge.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
            var commands = WorkloadReader.ReadFile(SharedData.Workload("10User_testWorkLoad"));
            var result = await WorkloadReplayer.ReplayAsync("127.0.0.1", edge.Port, commands, connections: 4, cancellationToken: ct);
            var dumpReply = result.Pairs.Single(p => p.Command.IsAdminDump).Response;
            Assert.True(dumpReply.Ok, dumpReply.Raw);
            var dump = Path.Combine(data.Path, "dumps", "testLOG");
            output.WriteLine(dumpReply.Raw);

            var (errors, _) = AuditSchema.Validate(dump, AuditSchema.Relaxed());
            Assert.Empty(errors);
            var log = XDocument.Load(dump).Root!.Elements().ToList();

            // Exactly one userCommand per request line, with the line's transaction number.
            var userCommands = log.Where(e => e.Name == "userCommand").Select(e => long.Parse(e.Element("transactionNum")!.Value)).ToList();
            Assert.Equal(commands.Select(c => c.TxNum!.Value).Order(), userCommands.Order());

            // One quoteServer entry per quote-server hit.
            Assert.Equal(quotes.Hits, log.Count(e => e.Name == "quoteServer"));

            // Every failed request has its errorEvent, and no successful one has one.
            var failed = result.Pairs.Where(p => !p.Response.Ok && !p.Command.IsAdminDump).Select(p => p.Command.TxNum!.Value).Order().ToList();
            var errorEvents = log.Where(e => e.Name == "errorEvent").Select(e => long.Parse(e.Element("transactionNum")!.Value)).Order().ToList();
            Assert.Equal(failed, errorEvents);

            // Replaying each user's accountTransactions gives that user's cash + reserved cash.
            var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, cancellationToken: ct);
            await using var _ = client;
            var byUser = log.Where(e => e.Name == "accountTransaction")
                .GroupBy(e => e.Element("username")!.Value)
                .ToDictionary(g => g.Key, g => g.Sum(e =>
                    (e.Element("action")!.Value == "add" ? 1 : -1) * decimal.Parse(e.Element("funds")!.Value, CultureInfo.InvariantCulture)));
            Assert.Equal(10, byUser.Count);
            foreach (var (user, total) in byUser)
            {
                var summary = AccountSummary.FromJson((await client.SendAsync($"DISPLAY_SUMMARY,{user}", ct)).Body!)!;
                Assert.Equal(summary.Cash + summary.ReservedCash, total);
            }

            // A user's own dump holds only that user's entries.
            var someUser = byUser.Keys.First();
            var userDump = await client.SendAsync($"DUMPLOG,{someUser},./user.xml", ct);
            Assert.True(userDump.Ok, userDump.Raw);
            var userLog = XDocument.Load(Path.Combine(data.Path, "dumps", "user.xml")).Root!.Elements().ToList();
            Assert.NotEmpty(userLog);
            Assert.All(userLog.Where(e => e.Element("username") is not null), e => Assert.Equal(someUser, e.Element("username")!.Value));
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    [Theory]
    [InlineData("DUMPLOG,alice,../escape.xml")]
    [InlineData("DUMPLOG,alice,/etc/passwd")]
    [InlineData("DUMPLOG,alice,a/../../escape.xml")]
    [InlineData("DUMPLOG,../escape.xml")]
    [InlineData("DUMPLOG,/tmp/escape.xml")]
    public async Task A_DUMPLOG_outside_the_dump_directory_is_refused_recorded_and_writes_nothing(string line)
    {
        var ct = TestContext.Current.CancellationToken;
        using var data = new TempDirectory();
        using var host = NodeHost.Build(new NodeOptions { AdminPort = -1, DataDirectory = data.Path, TcpPort = 0, ClusterPort = 0, AutoTx = false, WebEnabled = false }, TextWriter.Null, new FixedQuoteSource());
        await host.StartAsync(ct);
        try
        {
            var edge = await host.Services.GetRequiredService<NodeReadiness>().Edge.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
            await using var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, cancellationToken: ct);
            Assert.True((await client.SendAsync("[1] ADD,alice,10.00", ct)).Ok);
            var refused = await client.SendAsync($"[2] {line}", ct);
            Assert.False(refused.Ok, refused.Raw);
            Assert.False(File.Exists(Path.Combine(data.Path, "escape.xml")));
            Assert.False(File.Exists("/tmp/escape.xml") && File.GetLastWriteTimeUtc("/tmp/escape.xml") > DateTime.UtcNow.AddMinutes(-1));

            var all = await client.SendAsync("[3] DUMPLOG,./all.xml", ct);
            Assert.True(all.Ok, all.Raw);
            var log = XDocument.Load(Path.Combine(data.Path, "dumps", "all.xml")).Root!.Elements().ToList();
            var refusal = Assert.Single(log, e => e.Name == "errorEvent");
            Assert.Equal("2", refusal.Element("transactionNum")!.Value);
            Assert.Equal("DUMPLOG", refusal.Element("command")!.Value);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    [SharedDataFact]
    public async Task A_node_killed_mid_workload_still_ends_with_a_complete_log_without_duplicates()
    {
        var ct = TestContext.Current.CancellationToken;
        using var data = new TempDirectory();
        string[] Args() => ["--data-dir", data.Path, "--tcp-port", "0", "--cluster-port", "0", "--auto-tx", "false"];
        var commands = WorkloadReader.ReadFile(SharedData.Workload("10User_testWorkLoad")).Where(c => !c.IsAdminDump).ToList();
        var byUser = commands.GroupBy(c => c.UserId ?? "").Select(g => g.ToList()).ToList();
        var answered = new ConcurrentDictionary<int, EdgeResponse>();
        var options = new EdgeClientOptions { RunId = "audit-crash" };

        var node = await NodeProcess.StartAsync(Args());
        var killed = 0;
        await Task.WhenAll(byUser.Select(list => Task.Run(async () =>
        {
            try
            {
                await using var client = await EdgeClient.ConnectAsync("127.0.0.1", node.EdgePort, options, ct);
                foreach (var c in list)
                {
                    answered[c.LineNumber] = await client.SendAsync(c.Line, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
                    if (answered.Count >= commands.Count / 4 && Interlocked.Exchange(ref killed, 1) == 0) node.Kill();
                }
            }
            catch (Exception) when (Volatile.Read(ref killed) == 1)
            {
                // connection lost with the node
            }
        }, ct)));
        output.WriteLine($"killed after {answered.Count} acknowledged requests");

        node = await NodeProcess.StartAsync(Args());
        try
        {
            // Every user resumes: requests of unknown outcome are sent again under the same run id; some
            // acknowledged ones are repeated on purpose, which must not add entries either.
            await Task.WhenAll(byUser.Select(list => Task.Run(async () =>
            {
                await using var client = await EdgeClient.ConnectAsync("127.0.0.1", node.EdgePort, options, ct);
                foreach (var c in list.Where(c => !answered.ContainsKey(c.LineNumber) || c.LineNumber % 97 == 0))
                {
                    answered[c.LineNumber] = await client.SendAsync(c.Line, ct);
                }
            }, ct)));
            await using var admin = await EdgeClient.ConnectAsync("127.0.0.1", node.EdgePort, cancellationToken: ct);
            var dump = await admin.SendAsync("[99999] DUMPLOG,./final.xml", ct);
            Assert.True(dump.Ok, dump.Raw);

            var log = XDocument.Load(Path.Combine(data.Path, "dumps", "final.xml")).Root!.Elements().ToList();
            var perTx = log.Where(e => e.Name == "userCommand").GroupBy(e => long.Parse(e.Element("transactionNum")!.Value)).ToDictionary(g => g.Key, g => g.Count());
            foreach (var c in commands) Assert.True(perTx.GetValueOrDefault(c.TxNum!.Value) == 1, $"tx {c.TxNum}: {perTx.GetValueOrDefault(c.TxNum!.Value)} userCommand entries");
            Assert.Equal(commands.Count + 1, perTx.Values.Sum()); // + the final DUMPLOG
            var errorTx = log.Where(e => e.Name == "errorEvent").Select(e => long.Parse(e.Element("transactionNum")!.Value)).ToList();
            Assert.Equal(errorTx.Count, errorTx.Distinct().Count());
            Assert.Equal(commands.Where(c => !answered[c.LineNumber].Ok).Select(c => c.TxNum!.Value).Order(), errorTx.Order());
        }
        finally
        {
            await node.DisposeAsync();
        }
    }
}
