using System.Diagnostics;
using DayTrading.Quotes;
using Xunit;

namespace DayTrading.Tests.Quotes;

public class SimulatedQuoteSourceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    [Fact]
    public async Task Answers_from_the_price_model_at_the_clock_time_and_counts_hits()
    {
        var source = new SimulatedQuoteSource(42, LatencyProfile.None, new FixedClock(Now));
        var q = await source.FetchAsync("ABC", "user1", Ct);
        Assert.Equal(new QuotePriceModel(42).QuoteAt("ABC", "user1", Now.ToUnixTimeMilliseconds()), q);
        await source.FetchAsync("XYZ", "user1", Ct);
        Assert.Equal(2, source.Hits);
    }

    [Fact]
    public async Task Fixed_latency_delays_the_answer()
    {
        var source = new SimulatedQuoteSource(1, LatencyProfile.Fixed(50));
        var sw = Stopwatch.StartNew();
        await source.FetchAsync("ABC", "u", Ct);
        Assert.True(sw.ElapsedMilliseconds >= 45, $"{sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Cancellation_is_honoured_during_the_delay()
    {
        var source = new SimulatedQuoteSource(1, LatencyProfile.Fixed(60_000));
        using var cts = new CancellationTokenSource(50);
        var sw = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => source.FetchAsync("ABC", "u", cts.Token));
        Assert.True(sw.ElapsedMilliseconds < 2_000);
    }

    [Fact]
    public async Task Invalid_query_is_unavailable()
    {
        var source = new SimulatedQuoteSource(1);
        var e = await Assert.ThrowsAsync<QuoteUnavailableException>(() => source.FetchAsync("A,B", "u", Ct));
        Assert.Contains("symbol", e.Message);
        Assert.Equal(0, source.Hits);
    }
}
