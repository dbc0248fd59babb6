using System.Globalization;
using System.Xml.Linq;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Host;
using DayTrading.Loadgen.Client;
using DayTrading.Persistence;
using DayTrading.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DayTrading.Tests.Accounts;

/// <summary>
/// Issue 13, item 6: requests for users that have no account (never ADDed) used to leave an entity alive for the
/// 2-minute idle window and a journal stream "account-&lt;id&gt;" per id (100,000 distinct ids: 119 MB → 1.1 GB).
/// Now the refusal is recorded once by the node's audit recorder and the entity passivates at once; and over the
/// node's limit of live accounts, existing accounts passivate as soon as they have answered.
/// </summary>
// Measures the process's managed heap: alone, so tests running beside it don't count.
[Collection(HeapMeasurementCollection.Name)]
public sealed class UnknownUserFloodTests(ITestOutputHelper output)
{
    private const int Flood = 20_000;
    private const int Window = 2_000;

    private static NodeOptions Options(string dataDir, int maxLiveAccounts = 20_000) => new()
    {
        AdminPort = -1,
        DataDirectory = dataDir,
        TcpPort = 0,
        ClusterPort = 0,
        AutoTx = false,
        WebEnabled = false,
        MaxLiveAccounts = maxLiveAccounts,
    };

    // Every kind of request an unknown user can send, each refused by its account ("unknown user"), none by the edge.
    private static string Line(long tx, int id) => (id % 8) switch
    {
        0 => $"[{tx}] QUOTE,ghost{id},ABC",
        1 => $"[{tx}] BUY,ghost{id},ABC,10.00",
        2 => $"[{tx}] SELL,ghost{id},ABC,10.00",
        3 => $"[{tx}] DISPLAY_SUMMARY,ghost{id}",
        4 => $"[{tx}] COMMIT_BUY,ghost{id}",
        5 => $"[{tx}] SET_BUY_TRIGGER,ghost{id},ABC,5.00",
        6 => $"[{tx}] CANCEL_SET_SELL,ghost{id},ABC",
        _ => $"[{tx}] DUMPLOG,ghost{id},./ghost.xml",
    };

    private static async Task SendAll(EdgeClient client, IEnumerable<(long Tx, int Id)> requests, CancellationToken ct)
    {
        foreach (var chunk in requests.Chunk(Window))
        {
            var replies = await Task.WhenAll(chunk.Select(r => client.SendAsync(Line(r.Tx, r.Id), ct)));
            for (var i = 0; i < chunk.Length; i++)
            {
                var (tx, id) = chunk[i];
                Assert.False(replies[i].Ok, replies[i].Raw);
                Assert.Equal(tx, replies[i].TxNum);
                Assert.Equal($"unknown user 'ghost{id}': the first command for a new user must be ADD", replies[i].Reason);
            }
        }
    }

    private static async Task<int> LiveEntities(IActorRef region)
    {
        var stats = await region.Ask<ShardRegionStats>(GetShardRegionStats.Instance, TimeSpan.FromSeconds(10));
        return stats.Stats.Values.Sum();
    }

    private static async Task<int> WaitForLiveEntitiesAtMost(IActorRef region, int bound)
    {
        var live = int.MaxValue;
        for (var i = 0; i < 200 && (live = await LiveEntities(region)) > bound; i++) await Task.Delay(50);
        return live;
    }

    [Fact]
    public async Task A_flood_of_unknown_ids_is_refused_audited_once_each_and_leaves_no_entity_and_no_journal_stream()
    {
        var ct = TestContext.Current.CancellationToken;
        using var data = new TempDirectory();
        using var host = NodeHost.Build(Options(data.Path), TextWriter.Null, new FixedQuoteSource());
        await host.StartAsync(ct);
        try
        {
            var edge = await host.Services.GetRequiredService<NodeReadiness>().Edge.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
            var system = host.Services.GetRequiredService<ActorSystem>();
            var region = await host.Services.GetRequiredService<ActorRegistry>().GetAsync<AccountRegionKey>(ct);
            await using var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, new EdgeClientOptions { RunId = "flood" }, ct);

            // A real user alongside: ADD still creates an account, and it trades.
            Assert.True((await client.SendAsync("[1] ADD,real,1000.00", ct)).Ok);
            var buy = await client.SendAsync("[2] BUY,real,ABC,500.00", ct);
            Assert.True(buy.Ok, buy.Raw);

            // Warm-up (JIT, pools, the recorder's first batches), then the flood.
            const int warmUp = 1_000;
            await SendAll(client, Enumerable.Range(0, warmUp).Select(i => (10L + i, i)), ct);
            Assert.True(await WaitForLiveEntitiesAtMost(region, 1) <= 1);
            var heapBefore = ManagedHeap.AfterFullGc();

            var started = System.Diagnostics.Stopwatch.StartNew();
            var flood = Enumerable.Range(warmUp, Flood).Select(i => (10L + i, i)).ToList();
            await SendAll(client, flood, ct);
            var elapsed = started.Elapsed;
            var live = await WaitForLiveEntitiesAtMost(region, 1);
            var heapAfter = ManagedHeap.AfterFullGc();
            output.WriteLine($"{Flood} unknown ids answered in {elapsed.TotalSeconds:0.0} s; live entities after: {live}; " +
                             $"managed heap after full GC: {heapBefore / 1024 / 1024} MiB before, {heapAfter / 1024 / 1024} MiB after");
            Assert.Equal(1, live); // only "real" (pending buy) is left
            // An entity per id kept for the idle window was ~10 KB each (200 MB here); the recorder's memory of
            // 21,000 (run id, N) keys is ~2 MB. What else is left right after the flood is transient: stopped entities
            // still referenced by cancelled scheduler registrations (Akka.Persistence's recovery timer) until the
            // timer wheel next passes their slot (~0.5 KB an id measured, 11 MiB). An entity that armed its own idle
            // timer used to hold ~1.4 KB an id this way (28 MiB).
            Assert.True(heapAfter - heapBefore < 24 * 1024 * 1024, $"managed heap grew by {(heapAfter - heapBefore) / 1024} KiB over {Flood} unknown ids");

            // Resends under the same run id and N: answered the same, recorded nothing more.
            var resent = flood.Where(r => r.Item2 % 97 == 0).ToList();
            await SendAll(client, resent, ct);

            // The journal: one RequestRejected per request in the recorder's stream, not a single account-ghost* row.
            var rejectedTx = new List<long>();
            using (var reader = DayTradingPersistence.CreateEventLogReader(system))
            {
                await foreach (var e in reader.ReadAllAsync(0, 1000, ct))
                {
                    Assert.False(e.PersistenceId.StartsWith("account-ghost", StringComparison.Ordinal), $"journal row under {e.PersistenceId}");
                    if (e.Payload is RequestRejected r)
                    {
                        Assert.Equal(AuditRecorderActor.PersistenceIdFor("node1"), e.PersistenceId);
                        rejectedTx.Add(r.TxNum);
                    }
                }
            }
            Assert.Equal(Enumerable.Range(0, warmUp + Flood).Select(i => 10L + i), rejectedTx.Order());

            // The audit log: one userCommand and one errorEvent per request, with the account's reason.
            var dump = await client.SendAsync("[999999] DUMPLOG,./flood.xml", ct);
            Assert.True(dump.Ok, dump.Raw);
            var log = XDocument.Load(Path.Combine(data.Path, "dumps", "flood.xml")).Root!.Elements()
                .Where(e => e.Element("username")?.Value.StartsWith("ghost", StringComparison.Ordinal) == true).ToList();
            var errors = log.Where(e => e.Name == "errorEvent").ToList();
            Assert.Equal(warmUp + Flood, errors.Count);
            Assert.Equal(warmUp + Flood, errors.Select(e => long.Parse(e.Element("transactionNum")!.Value, CultureInfo.InvariantCulture)).Distinct().Count());
            Assert.All(errors, e => Assert.StartsWith("unknown user 'ghost", e.Element("errorMessage")!.Value));
            Assert.Equal(warmUp + Flood, log.Count(e => e.Name == "userCommand"));
            var sample = errors.Single(e => e.Element("transactionNum")!.Value == (10 + warmUp + 1).ToString(CultureInfo.InvariantCulture));
            Assert.Equal("BUY", sample.Element("command")!.Value);
            Assert.Equal("ABC", sample.Element("stockSymbol")!.Value);
            Assert.Equal("10.00", sample.Element("funds")!.Value);

            // The real account is untouched by all this and an unknown id can still become an account.
            Assert.True((await client.SendAsync("[1000001] ADD,ghost5,50.00", ct)).Ok);
            var summary = await client.SendAsync("[1000002] DISPLAY_SUMMARY,ghost5", ct);
            Assert.True(summary.Ok, summary.Raw);
            Assert.Equal(50m, AccountSummary.FromJson(summary.Body!)!.Cash);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Over_the_live_account_limit_existing_accounts_passivate_as_soon_as_they_have_answered()
    {
        var ct = TestContext.Current.CancellationToken;
        using var data = new TempDirectory();
        const int limit = 50;
        using var host = NodeHost.Build(Options(data.Path, maxLiveAccounts: limit), TextWriter.Null, new FixedQuoteSource());
        await host.StartAsync(ct);
        try
        {
            var edge = await host.Services.GetRequiredService<NodeReadiness>().Edge.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
            var region = await host.Services.GetRequiredService<ActorRegistry>().GetAsync<AccountRegionKey>(ct);
            await using var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, new EdgeClientOptions { RunId = "many" }, ct);

            // One account with a pending buy must stay (its expiry timer), whatever the pressure.
            Assert.True((await client.SendAsync("[1] ADD,keeper,1000.00", ct)).Ok);
            Assert.True((await client.SendAsync("[2] BUY,keeper,ABC,500.00", ct)).Ok);

            // 2,000 distinct real accounts, well within their 2-minute idle window.
            const int accounts = 2_000;
            foreach (var chunk in Enumerable.Range(0, accounts).Chunk(500))
            {
                var replies = await Task.WhenAll(chunk.Select(i => client.SendAsync($"[{10 + i}] ADD,user{i},10.00", ct)));
                Assert.All(replies, r => Assert.True(r.Ok, r.Raw));
            }
            var live = await WaitForLiveEntitiesAtMost(region, limit + 1);
            output.WriteLine($"{accounts} accounts added; live entities after: {live} (limit {limit})");
            Assert.InRange(live, 1, limit + 1);

            // Passivated, not lost: each recovers its books on its next request; the keeper's buy is still pending.
            var back = await client.SendAsync("[5000] DISPLAY_SUMMARY,user7", ct);
            Assert.Equal(10m, AccountSummary.FromJson(back.Body!)!.Cash);
            var keeper = AccountSummary.FromJson((await client.SendAsync("[5001] DISPLAY_SUMMARY,keeper", ct)).Body!)!;
            Assert.Single(keeper.PendingBuys);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }
}
