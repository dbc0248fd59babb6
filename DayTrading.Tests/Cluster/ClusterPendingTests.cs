using Akka.Actor;
using Akka.Configuration;
using DayTrading.Accounts;
using DayTrading.Cluster;
using DayTrading.Loadgen.Client;
using DayTrading.Persistence;
using DayTrading.Serialization;
using Xunit;

namespace DayTrading.Tests.Cluster;

/// <summary>
/// SPEC §2 across a crash: traders leave pending buys and never send another command; the oldest node — where the
/// expiry watcher singleton runs and where some of the accounts live — is SIGKILLed. Every reservation, on the dead
/// node or not, is released in the journal after its deadline, with no request to its account.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClusterPendingTests(ITestOutputHelper output)
{
    private const int Users = 24;

    [Fact]
    public async Task Pending_buys_of_accounts_on_a_killed_node_are_released_after_their_deadline_without_any_request()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = new NodeCluster(autoTx: false);
        await cluster.StartAsync(3);
        await NodeCluster.WaitForMembers(cluster.Nodes[0], r => r.Members.Count == 3 && r.Members.All(m => m.Status == "Up"), TimeSpan.FromSeconds(60));
        var oldest = cluster.Nodes[0];
        var survivor = cluster.Nodes[1];

        var users = Enumerable.Range(0, Users).Select(i => "pend" + i).ToArray();
        await using (var client = await EdgeClient.ConnectAsync("127.0.0.1", survivor.EdgePort, new EdgeClientOptions { RunId = "pending" }, ct))
        {
            var tx = 0L;
            foreach (var user in users)
            {
                Assert.True((await client.SendAsync($"[{++tx}] ADD,{user},100000.00", ct)).Ok);
                var buy = await client.SendAsync($"[{++tx}] BUY,{user},ABC,5000.00", ct);
                Assert.True(buy.Ok, buy.Raw);
            }
        }

        // Which accounts live on the node about to die (their timers die with it).
        var extractor = new AccountMessageExtractor(100);
        var shards = await NodeCluster.CliJson<ShardsReport>(survivor, "shards");
        var onOldest = shards.Regions.Single(r => r.Address == cluster.AddressOf(oldest)).Shards.Select(s => s.ShardId).ToHashSet();
        var doomed = users.Where(u => onOldest.Contains(extractor.ShardId(u))).ToHashSet();
        Assert.NotEmpty(doomed);
        output.WriteLine($"{doomed.Count} of {Users} accounts on the oldest node {cluster.AddressOf(oldest)}; killing it");
        oldest.Kill();

        var deadlines = new Dictionary<string, long>();
        var released = new Dictionary<string, long>();
        var until = DateTime.UtcNow.AddSeconds(150);
        while (released.Count < Users)
        {
            foreach (var (user, events) in await AccountJournals(cluster))
            {
                foreach (var e in events)
                {
                    if (e is CommandHandled { Ok: true } c && c.Changes.OfType<BuyReserved>().FirstOrDefault() is { } b) deadlines[user] = b.ExpiresMs;
                    if (e is ReservationsExpired x) released[user] = x.TimestampMs;
                }
            }
            Assert.True(DateTime.UtcNow < until, $"not released: {string.Join(", ", users.Except(released.Keys))}");
            if (released.Count < Users) await Task.Delay(2000, ct);
        }

        foreach (var user in users) Assert.True(released[user] >= deadlines[user], $"{user} released before its deadline");
        string Late(IEnumerable<string> who) => string.Join(", ", who.Select(u => released[u] - deadlines[u]).Order().Select(ms => $"{ms} ms"));
        output.WriteLine($"lateness after the deadline, accounts on the killed node: {Late(doomed)}");
        output.WriteLine($"lateness after the deadline, the others: {Late(users.Except(doomed))}");
    }

    private static async Task<Dictionary<string, List<AccountEvent>>> AccountJournals(NodeCluster cluster)
    {
        var system = ActorSystem.Create("journal-reader", cluster.Journal.ReaderConfig());
        try
        {
            using var reader = DayTradingPersistence.CreateEventLogReader(system);
            var journals = new Dictionary<string, List<AccountEvent>>();
            await foreach (var e in reader.ReadAllAsync(0, 1000, TestContext.Current.CancellationToken))
            {
                if (!e.PersistenceId.StartsWith("account-", StringComparison.Ordinal) || e.Payload is not AccountEvent a) continue;
                var user = e.PersistenceId["account-".Length..];
                if (!journals.TryGetValue(user, out var list)) journals[user] = list = [];
                list.Add(a);
            }
            return journals;
        }
        finally
        {
            await system.Terminate();
        }
    }
}
