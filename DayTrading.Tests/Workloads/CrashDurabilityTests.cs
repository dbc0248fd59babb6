using System.Collections.Concurrent;
using DayTrading.Accounts;
using DayTrading.Loadgen.Client;
using DayTrading.Loadgen.Workloads;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Workloads;

/// <summary>
/// A node killed with SIGKILL part-way through the 10-user workload and started again on the same data: every
/// acknowledged change is there, nothing unacknowledged is half-applied, retries are answered as the first time,
/// the rest of the workload completes to the books the pure domain computes from the outcomes, and the audit log
/// (a DUMPLOG, valid against ../shared/logfile.xsd) holds every request exactly once.
/// </summary>
[Collection(Cluster.ClusterProcessCollection.Name)] // node processes killed and restarted: run alone, as the cluster tests
public sealed class CrashDurabilityTests(ITestOutputHelper output)
{
    private const string RunId = "crash-test";

    [SharedDataTheory]
    [InlineData("sqlite")]
    [InlineData("redis")]
    public async Task A_node_killed_mid_workload_loses_nothing_it_acknowledged(string journal)
    {
        var ct = TestContext.Current.CancellationToken;
        using var data = new TempDirectory();
        // On Redis the test's own key prefix on the test server (scripts/ensure-redis.sh), its keys deleted after.
        using var redisStore = journal == "redis" ? new Persistence.TestStore("redis") : null;
        string[] store = redisStore is null ? [] : ["--journal", "redis", "--redis", redisStore.ConnectionString, "--db-schema", redisStore.Schema];
        string[] Args() => ["--data-dir", data.Path, "--tcp-port", "0", "--cluster-port", "0", "--node-name", "crash-node", "--auto-tx", "false", .. store];
        var commands = WorkloadReader.ReadFile(SharedData.Workload("10User_testWorkLoad")).Where(c => !c.IsAdminDump).ToList();
        var byUser = commands.GroupBy(c => c.UserId ?? "").ToDictionary(g => g.Key, g => g.ToList());
        var answers = new ConcurrentDictionary<int, EdgeResponse>(); // by line number

        // Phase 1: replay until ~30 % is acknowledged, then SIGKILL the node with requests in flight.
        var node = await NodeProcess.StartAsync(Args());
        var killAt = commands.Count * 3 / 10;
        await using (var first = await Clients(node.EdgePort, 4, ct))
        {
            var killed = new TaskCompletionSource();
            var users = byUser.Values.Select((list, i) => Task.Run(async () =>
            {
                foreach (var c in list)
                {
                    if (killed.Task.IsCompleted) return;
                    try
                    {
                        answers[c.LineNumber] = await first.Clients[i % first.Clients.Count].SendAsync(c.Line, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
                    }
                    catch (Exception) when (killed.Task.IsCompleted)
                    {
                        return; // the connection died with the node: this request's outcome is unknown
                    }
                    if (answers.Count >= killAt && killed.TrySetResult())
                    {
                        node.Kill();
                        return;
                    }
                }
            }, ct)).ToArray();
            await Task.WhenAll(users);
        }
        var acknowledgedBeforeCrash = answers.Count;
        output.WriteLine($"killed after {acknowledgedBeforeCrash} of {commands.Count} requests were acknowledged");
        Assert.InRange(acknowledgedBeforeCrash, killAt, commands.Count - 1);

        // Phase 2: a new process on the same data directory; each user resumes at its first unanswered request,
        // resending it with the same run id and transaction number (its outcome before the crash is unknown).
        node = await NodeProcess.StartAsync(Args());
        try
        {
            await using var second = await Clients(node.EdgePort, 4, ct);
            var retried = new ConcurrentBag<(WorkloadCommand Command, EdgeResponse Before, EdgeResponse After)>();
            await Task.WhenAll(byUser.Values.Select((list, i) => Task.Run(async () =>
            {
                var client = second.Clients[i % second.Clients.Count];
                var lastAcked = list.LastOrDefault(c => answers.ContainsKey(c.LineNumber));
                if (lastAcked is not null && lastAcked.Kind != CommandKind.DisplaySummary)
                {
                    // An acknowledged request sent again after the crash: answered as the first time, not re-applied.
                    retried.Add((lastAcked, answers[lastAcked.LineNumber], await client.SendAsync(lastAcked.Line, ct)));
                }
                foreach (var c in list.Where(c => !answers.ContainsKey(c.LineNumber)))
                {
                    answers[c.LineNumber] = await client.SendAsync(c.Line, ct);
                }
            }, ct)));

            Assert.Equal(commands.Count, answers.Count);
            Assert.NotEmpty(retried);
            foreach (var (command, before, after) in retried)
            {
                Assert.True(before.Ok == after.Ok && before.Text == after.Text, $"retry of '{command.Line}': before {before.Raw}, after {after.Raw}");
            }

            await WorkloadChecks.AssertBooksEqualTheModel(second.Clients[0], commands, answers, ct);
            // The audit log too: every request once, the ones answered before the crash and sent again after it too.
            await WorkloadChecks.AssertAuditLogHasEveryRequestOnce(second.Clients[1], commands, answers, ct);
        }
        finally
        {
            await node.DisposeAsync();
        }
    }

    private static Task<WorkloadChecks.ClientSet> Clients(int port, int count, CancellationToken ct) => WorkloadChecks.Clients(port, count, RunId, ct);
}
