namespace DayTrading.Edge;

/// <summary>
/// Transaction numbers for request lines that arrive without <c>[N] </c>.
/// <para>Numbers start at <c>unixTimeMs × 1000</c> (≈ 1.7 × 10^15 in 2025, far above any workload's N) and
/// count up by one. A restarted process starts from its new clock reading, so it cannot re-issue a number of an
/// earlier run unless that run assigned more than 1,000 numbers per millisecond of its lifetime on average
/// (1 M/s sustained). Long's range lasts until the year ~2262.</para>
/// <para>Numbers from different nodes may collide; that is harmless because assigned numbers never carry a run
/// id from the client's side that could make two requests look like one retry (a client that wants
/// idempotent retries sends its own N with a run id).</para>
/// </summary>
public sealed class TxNumberGenerator
{
    private long _last;

    public TxNumberGenerator(long startAfter) => _last = startAfter;

    /// <summary>The node-wide generator, seeded from the wall clock when first used.</summary>
    public static TxNumberGenerator Shared { get; } = FromClock();

    public static TxNumberGenerator FromClock() => new(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000);

    public long Next() => Interlocked.Increment(ref _last);
}
