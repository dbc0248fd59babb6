using Akka.Actor;
using DayTrading.Accounts;
using DayTrading.Host;
using DayTrading.Loadgen.Client;
using DayTrading.Persistence;
using DayTrading.Quotes;
using DayTrading.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DayTrading.Tests.Expiry;

/// <summary>
/// SPEC §2: expiry returns a reservation "even if the user never sends another command" — also when the account's
/// own timer died with its node or its entity. A node on SQLite with a clock the test moves: after a restart (past
/// the deadline or before it) and after the entity is stopped, the journal shows the release without any request
/// for that user.
/// </summary>
public sealed class PendingAfterRestartTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed class ManualClock : TimeProvider
    {
        private long _ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _ms));

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ms, (long)by.TotalMilliseconds);
    }

    private sealed class FixedQuotes(TimeProvider clock) : IQuoteSource
    {
        public Task<Quote> FetchAsync(string symbol, string userId, CancellationToken cancellationToken = default) =>
            Task.FromResult(new Quote(symbol, 10m, userId, clock.GetUtcNow().ToUnixTimeMilliseconds(), "k"));
    }

    private sealed class Node : IAsyncDisposable
    {
        public required IHost Host { get; init; }
        public required EdgeClient Client { get; init; }

        public ActorSystem System => Host.Services.GetRequiredService<ActorSystem>();

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Host.StopAsync();
            Host.Dispose();
        }
    }

    private static async Task<Node> Start(string dataDir, TimeProvider clock)
    {
        var host = NodeHost.Build(new NodeOptions { AdminPort = -1, DataDirectory = dataDir, TcpPort = 0, ClusterPort = 0, WebEnabled = false, AutoTx = false },
            TextWriter.Null, new FixedQuotes(clock), clock);
        await host.StartAsync();
        var edge = await host.Services.GetRequiredService<NodeReadiness>().Edge.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return new Node { Host = host, Client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port) };
    }

    private static async Task Ok(EdgeClient client, string line)
    {
        var r = await client.SendAsync(line);
        Assert.True(r.Ok, $"{line}: {r.Raw}");
    }

    /// <summary>The account's expiries as the journal holds them (read beside the account, not through it).</summary>
    private static async Task<List<ReservationsExpired>> Expiries(ActorSystem system, string user)
    {
        using var reader = DayTradingPersistence.CreateEventLogReader(system);
        var found = new List<ReservationsExpired>();
        await foreach (var e in reader.ReadAllAsync())
        {
            if (e.PersistenceId == AccountActor.PersistenceIdFor(user) && e.Payload is ReservationsExpired x) found.Add(x);
        }
        return found;
    }

    private static async Task<ReservationsExpired> EventuallyExpired(ActorSystem system, string user)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var found = await Expiries(system, user);
            if (found.Count > 0) return Assert.Single(found);
            Assert.True(DateTime.UtcNow < until, $"{user}'s pending buy was never released");
            await Task.Delay(100);
        }
    }

    private static async Task AssertReleased(EdgeClient client, string user, decimal cash)
    {
        var r = await client.SendAsync($"DISPLAY_SUMMARY,{user}");
        Assert.True(r.Ok, r.Raw);
        var s = AccountSummary.FromJson(r.Body!)!;
        Assert.Empty(s.PendingBuys);
        Assert.Equal((cash, 0m), (s.Cash, s.ReservedCash));
    }

    [Fact]
    public async Task A_pending_buy_of_a_node_that_stopped_is_released_after_its_restart_without_any_request()
    {
        using var data = new TempDirectory();
        var clock = new ManualClock();
        var node = await Start(data.Path, clock);
        await Ok(node.Client, "[1] ADD,ann,1000.00");
        await Ok(node.Client, "[2] BUY,ann,ABC,100.00");
        await node.DisposeAsync(); // the account's timer goes with the node

        clock.Advance(TimeSpan.FromSeconds(61));
        await using var again = await Start(data.Path, clock);
        var released = await EventuallyExpired(again.System, "ann");
        Assert.Equal(new BuyReleased(1, "ABC", 100m, ReleaseReason.Expired, 2), Assert.Single(released.Changes));
        await AssertReleased(again.Client, "ann", 1000m);
    }

    [Fact]
    public async Task A_pending_buy_restarted_before_its_deadline_is_released_when_the_deadline_passes_without_any_request()
    {
        using var data = new TempDirectory();
        var clock = new ManualClock();
        var node = await Start(data.Path, clock);
        await Ok(node.Client, "[1] ADD,bea,1000.00");
        await Ok(node.Client, "[2] BUY,bea,ABC,100.00");
        await node.DisposeAsync();

        clock.Advance(TimeSpan.FromSeconds(30));
        await using var again = await Start(data.Path, clock);
        await Task.Delay(1500, Ct);
        Assert.Empty(await Expiries(again.System, "bea")); // not due yet: nothing is released early

        clock.Advance(TimeSpan.FromSeconds(31));
        await EventuallyExpired(again.System, "bea");
        await AssertReleased(again.Client, "bea", 1000m);
    }

    [Fact]
    public async Task A_pending_sell_whose_entity_was_stopped_is_released_after_its_deadline_without_any_request()
    {
        using var data = new TempDirectory();
        var clock = new ManualClock();
        await using var node = await Start(data.Path, clock);
        await Ok(node.Client, "[1] ADD,cid,1000.00");
        await Ok(node.Client, "[2] BUY,cid,ABC,100.00");
        await Ok(node.Client, "[3] COMMIT_BUY,cid");
        await Ok(node.Client, "[4] SELL,cid,ABC,50.00");

        // The entity stops (as if it crashed): the shard does not restart it, and its timer is gone.
        var entity = await node.System.ActorSelection("/system/sharding/account/*/cid").ResolveOne(TimeSpan.FromSeconds(5), Ct);
        var watcher = node.System.ActorOf(Props.Create(() => new DeathWatch(entity)));
        entity.Tell(PoisonPill.Instance);
        await watcher.Ask<Terminated>("wait", TimeSpan.FromSeconds(5), Ct);

        clock.Advance(TimeSpan.FromSeconds(61));
        var released = await EventuallyExpired(node.System, "cid");
        Assert.Equal(new SellReleased(2, "ABC", 5, ReleaseReason.Expired, 4), Assert.Single(released.Changes));
    }

    /// <summary>Answers "wait" with the Terminated of <paramref name="target"/>.</summary>
    private sealed class DeathWatch : ReceiveActor
    {
        public DeathWatch(IActorRef target)
        {
            IActorRef? asker = null;
            Terminated? dead = null;
            Context.Watch(target);
            Receive<Terminated>(t =>
            {
                dead = t;
                asker?.Tell(t);
            });
            Receive<string>(_ =>
            {
                asker = Sender;
                if (dead is not null) asker.Tell(dead);
            });
        }
    }
}
