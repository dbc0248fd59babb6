using DayTrading.Accounts;
using DayTrading.Host;
using DayTrading.Loadgen.Client;
using DayTrading.Quotes;
using DayTrading.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DayTrading.Tests.Triggers;

/// <summary>Triggers end to end on a node: quotes cross them, they fire exactly once, and they survive a restart.</summary>
public sealed class TriggerExecutionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A clock the test moves, so quotes age past their 60 s without waiting.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _ms));

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ms, (long)by.TotalMilliseconds);
    }

    /// <summary>A quote server whose price the test sets.</summary>
    private sealed class SettableQuotes(TimeProvider clock) : IQuoteSource
    {
        public decimal Price { get; set; } = 12m;
        public int Hits;

        public Task<Quote> FetchAsync(string symbol, string userId, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Hits);
            return Task.FromResult(new Quote(symbol, Price, userId, clock.GetUtcNow().ToUnixTimeMilliseconds(), "k"));
        }
    }

    private static async Task<(IHost Host, EdgeClient Client)> Start(string dataDir, IQuoteSource quotes, TimeProvider clock, TimeSpan? refresh = null)
    {
        var host = NodeHost.Build(new NodeOptions { AdminPort = -1, DataDirectory = dataDir, TcpPort = 0, ClusterPort = 0, WebEnabled = false, TriggerRefresh = refresh ?? TimeSpan.FromSeconds(60) },
            TextWriter.Null, quotes, clock);
        await host.StartAsync();
        var edge = await host.Services.GetRequiredService<NodeReadiness>().Edge.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return (host, await EdgeClient.ConnectAsync("127.0.0.1", edge.Port));
    }

    private static async Task<AccountSummary> Summary(EdgeClient client, string user)
    {
        var r = await client.SendAsync($"DISPLAY_SUMMARY,{user}");
        Assert.True(r.Ok, r.Raw);
        return AccountSummary.FromJson(r.Body!)!;
    }

    private static async Task Ok(EdgeClient client, string line)
    {
        var r = await client.SendAsync(line);
        Assert.True(r.Ok, $"{line}: {r.Raw}");
    }

    private static async Task<AccountSummary> Eventually(EdgeClient client, string user, Func<AccountSummary, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var s = await Summary(client, user);
            if (condition(s)) return s;
            if (DateTime.UtcNow > deadline) Assert.Fail($"condition not reached; last summary {s.ToJson()}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_buy_trigger_fires_once_on_a_crossing_quote_and_refunds_the_rest_of_its_reserve()
    {
        using var data = new TempDirectory();
        var clock = new ManualClock();
        var quotes = new SettableQuotes(clock);
        var (host, client) = await Start(data.Path, quotes, clock);
        try
        {
            await Ok(client, "[1] ADD,ann,1000.00");
            await Ok(client, "[2] SET_BUY_AMOUNT,ann,ABC,100.00");
            await Ok(client, "[3] SET_BUY_TRIGGER,ann,ABC,10.00");
            await Ok(client, "[4] QUOTE,ann,ABC"); // 12.00: above the trigger
            await Task.Delay(500, Ct);
            Assert.Single((await Summary(client, "ann")).BuyTriggers);

            quotes.Price = 9.50m;
            clock.Advance(TimeSpan.FromSeconds(61));
            await Ok(client, "[5] QUOTE,ann,ABC"); // a fresh hit at 9.50 crosses
            var s = await Eventually(client, "ann", x => x.BuyTriggers.Count == 0);
            Assert.Equal(new HoldingView("ABC", 10, 0), Assert.Single(s.Holdings));
            Assert.Equal(1000m - 95m, s.Cash);
            Assert.Equal(0m, s.ReservedCash);
            Assert.Equal("AUTOBUY", s.History[0].Kind);
            Assert.Equal(3, s.History[0].TxNum); // audited under the arming command

            // More crossing quotes: it fired once and stays fired.
            clock.Advance(TimeSpan.FromSeconds(61));
            await Ok(client, "[6] QUOTE,ann,ABC");
            await Task.Delay(500, Ct);
            Assert.Equal(2, (await Summary(client, "ann")).HistoryTotal);
        }
        finally
        {
            await client.DisposeAsync();
            await host.StopAsync(Ct);
            host.Dispose();
        }
    }

    [Fact]
    public async Task A_trigger_armed_while_a_crossing_quote_is_cached_fires_at_once_not_at_the_next_refresh()
    {
        using var data = new TempDirectory();
        var clock = new ManualClock();
        var quotes = new SettableQuotes(clock) { Price = 9.50m };
        var (host, client) = await Start(data.Path, quotes, clock); // refresh every 60 s, and the clock stands still
        try
        {
            await Ok(client, "[1] ADD,cal,1000.00");
            await Ok(client, "[2] QUOTE,cal,ABC"); // 9.50 is cached before anything is armed
            await Ok(client, "[3] SET_BUY_AMOUNT,cal,ABC,100.00");
            await Ok(client, "[4] SET_BUY_TRIGGER,cal,ABC,10.00");
            var s = await Eventually(client, "cal", x => x.BuyTriggers.Count == 0);
            Assert.Equal(new HoldingView("ABC", 10, 0), Assert.Single(s.Holdings));
            Assert.Equal((4L, 9.50m), (s.History[0].TxNum, s.History[0].Price));
            Assert.Equal(1, quotes.Hits); // fired on the cached quote, no new hit
        }
        finally
        {
            await client.DisposeAsync();
            await host.StopAsync(TestContext.Current.CancellationToken);
            host.Dispose();
        }
    }

    [Fact]
    public async Task A_re_sized_trigger_fires_at_its_new_size_under_the_tx_of_its_SET_BUY_TRIGGER()
    {
        using var data = new TempDirectory();
        var clock = new ManualClock();
        var quotes = new SettableQuotes(clock) { Price = 12m };
        var (host, client) = await Start(data.Path, quotes, clock);
        try
        {
            await Ok(client, "[1] ADD,dee,1000.00");
            await Ok(client, "[2] QUOTE,dee,ABC");
            await Ok(client, "[3] SET_BUY_AMOUNT,dee,ABC,100.00");
            await Ok(client, "[4] SET_BUY_TRIGGER,dee,ABC,10.00");
            await Ok(client, "[5] SET_BUY_AMOUNT,dee,ABC,200.00"); // re-sized while armed
            quotes.Price = 9.50m;
            clock.Advance(TimeSpan.FromSeconds(61));
            await Ok(client, "[6] QUOTE,dee,ABC");
            var s = await Eventually(client, "dee", x => x.BuyTriggers.Count == 0);
            Assert.Equal(new HoldingView("ABC", 21, 0), Assert.Single(s.Holdings)); // floor(200 / 9.50)
            Assert.Equal(4, s.History[0].TxNum); // the SET_BUY_TRIGGER, not the re-size (docs/AUDIT.md)
        }
        finally
        {
            await client.DisposeAsync();
            await host.StopAsync(TestContext.Current.CancellationToken);
            host.Dispose();
        }
    }

    [Fact]
    public async Task Armed_triggers_survive_a_node_restart_and_fire_after_it()
    {
        using var data = new TempDirectory();
        var clock = new ManualClock();
        var quotes = new SettableQuotes(clock) { Price = 10m };
        var (host, client) = await Start(data.Path, quotes, clock);
        await Ok(client, "[1] ADD,bea,1000.00");
        await Ok(client, "[2] BUY,bea,XYZ,100.00");
        await Ok(client, "[3] COMMIT_BUY,bea");
        await Ok(client, "[4] SET_SELL_AMOUNT,bea,XYZ,60.00");
        await Ok(client, "[5] SET_SELL_TRIGGER,bea,XYZ,15.00"); // reserves 4 shares
        await client.DisposeAsync();
        await host.StopAsync(Ct);
        host.Dispose();

        quotes.Price = 16m;
        clock.Advance(TimeSpan.FromSeconds(61));
        (host, client) = await Start(data.Path, quotes, clock);
        try
        {
            Assert.Equal(new HoldingView("XYZ", 6, 4), (await Summary(client, "bea")).Holdings.Single());
            await Ok(client, "[6] QUOTE,bea,XYZ");
            var s = await Eventually(client, "bea", x => x.SellTriggers.Count == 0);
            Assert.Equal(new HoldingView("XYZ", 6, 0), Assert.Single(s.Holdings));
            Assert.Equal(900m + 4 * 16m, s.Cash);
        }
        finally
        {
            await client.DisposeAsync();
            await host.StopAsync(Ct);
            host.Dispose();
        }
    }

    [Fact]
    public async Task A_cancel_racing_a_fire_ends_in_exactly_one_outcome_with_balanced_books()
    {
        using var data = new TempDirectory();
        var clock = new ManualClock();
        var quotes = new SettableQuotes(clock) { Price = 12m };
        var (host, client) = await Start(data.Path, quotes, clock, refresh: TimeSpan.FromMilliseconds(100));
        try
        {
            const int users = 20;
            for (var i = 0; i < users; i++)
            {
                await Ok(client, $"ADD,r{i},1000.00");
                await Ok(client, $"SET_BUY_AMOUNT,r{i},ABC,100.00");
                await Ok(client, $"SET_BUY_TRIGGER,r{i},ABC,10.00");
            }
            quotes.Price = 9m;
            clock.Advance(TimeSpan.FromSeconds(61));
            // The periodic refresh fetches 9.00 and fires while the cancels arrive.
            var cancels = Enumerable.Range(0, users).Select(i => client.SendAsync($"CANCEL_SET_BUY,r{i},ABC")).ToArray();
            var outcomes = await Task.WhenAll(cancels);
            await Task.Delay(1000, Ct);
            var fired = 0;
            for (var i = 0; i < users; i++)
            {
                var s = await Summary(client, $"r{i}");
                Assert.Empty(s.BuyTriggers);
                Assert.Equal(0m, s.ReservedCash);
                var boughtShares = s.Holdings.SingleOrDefault()?.Shares ?? 0;
                // Either cancelled (all cash back, nothing bought) or fired (11 shares at 9, 1 refunded), never both.
                if (outcomes[i].Ok)
                {
                    Assert.Equal(0, boughtShares);
                    Assert.Equal(1000m, s.Cash);
                }
                else
                {
                    fired++;
                    Assert.Contains("no buy amount", outcomes[i].Reason);
                    Assert.Equal(11, boughtShares);
                    Assert.Equal(1000m - 99m, s.Cash);
                }
            }
            Assert.InRange(fired, 0, users);
        }
        finally
        {
            await client.DisposeAsync();
            await host.StopAsync(Ct);
            host.Dispose();
        }
    }
}
