using System.Net;
using System.Text.Json;
using Xunit;

namespace DayTrading.Tests.Web;

/// <summary>
/// The quote parts the web's charts and quote ages use: <c>GET /api/quotes/{symbol}/history</c> and the node's clock
/// and expiry in every quote. A node of its own: its clock is moved here and read back exactly.
/// </summary>
public sealed class WebQuoteHistoryTests(WebQuoteHistoryTests.Node fixture) : IClassFixture<WebQuoteHistoryTests.Node>
{
    /// <summary>A <see cref="WebNode"/> made here, so the fixture needs no constructor arguments from xUnit.</summary>
    public sealed class Node : IAsyncLifetime
    {
        public WebNode Web { get; } = new();

        public ValueTask InitializeAsync() => Web.InitializeAsync();

        public ValueTask DisposeAsync() => Web.DisposeAsync();
    }

    private readonly WebNode node = fixture.Web;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private long NodeNowMs => node.Clock.GetUtcNow().ToUnixTimeMilliseconds();

    private async Task<(WebClient Client, string User)> Trader()
    {
        var c = node.NewClient();
        var user = "h" + Guid.NewGuid().ToString("N")[..10];
        await c.SignUp(user);
        var (status, json) = await c.Post($"/api/accounts/{user}/add", new { amount = "100.00" });
        Assert.True(status == HttpStatusCode.OK, json.ToString());
        return (c, user);
    }

    private static async Task<JsonElement> Quote(WebClient c, string user, string symbol)
    {
        var (status, json) = await c.Post($"/api/accounts/{user}/quote", new { symbol });
        Assert.True(status == HttpStatusCode.OK, json.ToString());
        return json.GetProperty("result");
    }

    /// <summary>Quotes reach the web through the cluster's broadcast, a moment after the QUOTE is answered.</summary>
    private static async Task<JsonElement> Eventually(Func<Task<JsonElement>> get, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var json = await get();
            if (done(json) || DateTime.UtcNow > deadline) return json;
            await Task.Delay(50, Ct);
        }
    }

    [Fact]
    public async Task The_history_holds_every_quote_fetched_oldest_first()
    {
        var (c, u) = await Trader();
        using var owned = c;
        var first = await Quote(c, u, "HIS");
        node.Clock.Advance(TimeSpan.FromSeconds(61)); // the first has expired: the next QUOTE fetches a new one
        var second = await Quote(c, u, "HIS");
        Assert.True(second.GetProperty("quoteTimeMs").GetInt64() > first.GetProperty("quoteTimeMs").GetInt64());

        var history = await Eventually(async () =>
        {
            var (status, json) = await c.Get("/api/quotes/HIS/history");
            Assert.Equal(HttpStatusCode.OK, status);
            return json;
        }, j => j.GetProperty("points").GetArrayLength() == 2);
        Assert.Equal("HIS", history.GetProperty("symbol").GetString());
        Assert.Equal(NodeNowMs, history.GetProperty("serverNowMs").GetInt64());
        var points = history.GetProperty("points").EnumerateArray().ToArray();
        Assert.Equal(2, points.Length);
        foreach (var (point, quote) in points.Zip([first, second]))
        {
            Assert.Equal(quote.GetProperty("quoteTimeMs").GetInt64(), point.GetProperty("timestampMs").GetInt64());
            Assert.Equal(quote.GetProperty("price").GetDecimal(), point.GetProperty("price").GetDecimal());
        }

        // The cached quote again (no new fetch) adds nothing; a symbol never quoted has no points.
        await Quote(c, u, "HIS");
        await Task.Delay(300, Ct);
        Assert.Equal(2, (await c.Get("/api/quotes/HIS/history")).Json.GetProperty("points").GetArrayLength());
        var (s, none) = await c.Get("/api/quotes/NQ/history");
        Assert.Equal(HttpStatusCode.OK, s);
        Assert.Equal("NQ", none.GetProperty("symbol").GetString());
        Assert.Equal(0, none.GetProperty("points").GetArrayLength());
    }

    [Fact]
    public async Task The_history_refuses_an_invalid_symbol_and_anonymous_readers()
    {
        using (var anonymous = node.NewClient())
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.Get("/api/quotes/ABC/history")).Status);

        var (c, _) = await Trader();
        using var owned = c;
        foreach (var symbol in new[] { "abc1", "abc", "ABCD" })
        {
            var (status, json) = await c.Get($"/api/quotes/{symbol}/history");
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.False(json.GetProperty("ok").GetBoolean());
            Assert.Contains("not a stock symbol", json.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task Every_quote_carries_its_expiry_and_the_nodes_clock()
    {
        var (c, u) = await Trader();
        using var owned = c;
        var fetched = await Quote(c, u, "AGE");
        node.Clock.Advance(TimeSpan.FromSeconds(7)); // the clock the quote is judged by, not the machine's

        var quotes = await Eventually(async () =>
        {
            var (status, json) = await c.Get("/api/quotes");
            Assert.Equal(HttpStatusCode.OK, status);
            return json;
        }, j => j.EnumerateArray().Any(q => q.GetProperty("symbol").GetString() == "AGE"));
        var now = NodeNowMs;
        Assert.NotEmpty(quotes.EnumerateArray());
        foreach (var q in quotes.EnumerateArray())
        {
            Assert.Equal(q.GetProperty("timestampMs").GetInt64() + 60_000, q.GetProperty("expiresAtMs").GetInt64());
            Assert.Equal(now, q.GetProperty("serverNowMs").GetInt64());
        }
        var age = quotes.EnumerateArray().Single(q => q.GetProperty("symbol").GetString() == "AGE");
        Assert.Equal(fetched.GetProperty("quoteTimeMs").GetInt64(), age.GetProperty("timestampMs").GetInt64());
        Assert.Equal(fetched.GetProperty("price").GetDecimal(), age.GetProperty("price").GetDecimal());
        Assert.Equal(7_000, now - age.GetProperty("timestampMs").GetInt64());
    }
}

/// <summary>The feed's quote history without a node: bounded per symbol, oldest first, never backwards.</summary>
public sealed class LiveFeedHistoryTests
{
    private static DayTrading.Quotes.Quote Q(string symbol, long ts, decimal price) => new(symbol, price, "u", ts, "key");

    [Fact]
    public void A_symbol_keeps_its_last_240_quotes_oldest_first_as_the_ring_grows_and_wraps()
    {
        var feed = new DayTrading.Host.Web.LiveFeed();
        for (var i = 1; i <= 300; i++) feed.PublishQuote(Q("ABC", i * 1000L, i));
        var points = feed.History("ABC");
        Assert.Equal(DayTrading.Host.Web.LiveFeed.HistoryPoints, points.Length);
        Assert.Equal(61_000, points[0].TimestampMs);
        Assert.Equal(300m, points[^1].Price);
        for (var i = 1; i < points.Length; i++) Assert.Equal(points[i - 1].TimestampMs + 1000, points[i].TimestampMs);
    }

    [Fact]
    public void A_repeated_or_older_quote_adds_no_point_and_a_few_quotes_are_kept_as_they_came()
    {
        var feed = new DayTrading.Host.Web.LiveFeed();
        feed.PublishQuote(Q("XYZ", 5_000, 1.5m));
        feed.PublishQuote(Q("XYZ", 5_000, 1.5m));
        feed.PublishQuote(Q("XYZ", 4_000, 9m));
        feed.PublishQuote(Q("XYZ", 6_000, 2.5m));
        Assert.Equal(new DayTrading.Host.Web.PricePoint[] { new(5_000, 1.5m), new(6_000, 2.5m) }, feed.History("XYZ"));
        Assert.Empty(feed.History("NONE"));
    }
}
