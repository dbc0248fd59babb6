namespace DayTrading.Quotes;

/// <summary>
/// In-process quote simulator: the same answers <see cref="QuoteSimServer"/> gives, without TCP.
/// Delays go through <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/> with the injected
/// clock, so the <c>none</c> profile (or a fake <see cref="TimeProvider"/>) makes tests instant. The quote
/// timestamp is the clock's time when the delay ends (when the "server" answers).
/// </summary>
public sealed class SimulatedQuoteSource : IQuoteSource
{
    private readonly QuotePriceModel _model;
    private readonly LatencyProfile _latency;
    private readonly TimeProvider _clock;
    private readonly Random _random;
    private readonly Lock _randomLock = new();
    private long _hits;

    /// <param name="seed">Price seed (see <see cref="QuotePriceModel"/>).</param>
    /// <param name="latency">Defaults to <see cref="LatencyProfile.None"/>.</param>
    /// <param name="clock">Defaults to <see cref="TimeProvider.System"/>.</param>
    /// <param name="latencySeed">Seed of the latency sampler; defaults to <paramref name="seed"/>.</param>
    public SimulatedQuoteSource(int seed, LatencyProfile? latency = null, TimeProvider? clock = null, int? latencySeed = null)
    {
        _model = new QuotePriceModel(seed);
        _latency = latency ?? LatencyProfile.None;
        _clock = clock ?? TimeProvider.System;
        _random = new Random(latencySeed ?? seed);
    }

    public QuotePriceModel Model => _model;
    public LatencyProfile Latency => _latency;

    /// <summary>Number of <see cref="FetchAsync"/> calls that reached the simulated server (valid queries).</summary>
    public long Hits => Interlocked.Read(ref _hits);

    public async Task<Quote> FetchAsync(string symbol, string userId, CancellationToken cancellationToken = default)
    {
        var invalid = LegacyQuoteProtocol.ValidateField(symbol, "symbol") ?? LegacyQuoteProtocol.ValidateField(userId, "user id");
        if (invalid is not null) throw new QuoteUnavailableException($"simulated quote server rejected the query: {invalid}");
        cancellationToken.ThrowIfCancellationRequested();

        Interlocked.Increment(ref _hits);
        TimeSpan delay;
        lock (_randomLock) delay = _latency.NextDelay(_random);
        if (delay > TimeSpan.Zero)
            await Task.Delay(delay, _clock, cancellationToken).ConfigureAwait(false);

        long now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        return _model.QuoteAt(symbol, userId, now);
    }
}
