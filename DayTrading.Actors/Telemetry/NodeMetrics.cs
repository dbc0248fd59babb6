using System.Diagnostics;
using System.Diagnostics.Metrics;
using DayTrading.Accounts;

namespace DayTrading.Telemetry;

/// <summary>What a request's answer means for an operator (docs/OPERATIONS.md).</summary>
public enum RequestOutcome : byte
{
    /// <summary>Done as asked.</summary>
    Ok = 0,
    /// <summary>Refused by the domain or the edge's checks (no funds, nothing pending, bad input): a correct answer.</summary>
    Refused = 1,
    /// <summary>Not done, or its outcome unknown: no answer in time, a write refused, the quote server failing, a dump that failed.</summary>
    Failed = 2,
}

/// <summary>
/// One node's metrics as .NET instruments (meter <c>DayTrading</c>), exported by the node's <c>/metrics</c>
/// (Prometheus, OpenTelemetry) and readable live with <c>dotnet-counters monitor -n DayTrading.Host --counters DayTrading</c>.
/// One instance per node, made by the host's <see cref="IMeterFactory"/> (a singleton in DI), so two nodes in one
/// process (the tests) count apart. Counting on the request path is an interlocked increment and, for the latency
/// histogram, one <see cref="Histogram{T}.Record(T, KeyValuePair{string, object?})"/> with a cached tag: no allocation.
/// </summary>
public sealed class NodeMetrics
{
    public const string MeterName = "DayTrading";

    private const int Outcomes = 3;
    private static readonly string[] OutcomeNames = ["ok", "refused", "failed"];
    private static readonly KeyValuePair<string, object?>[] CommandTags = Enumerable.Range(0, 32)
        .Select(k => new KeyValuePair<string, object?>("command", k is >= 1 and <= 16 ? ((CommandKind)k).Name() : "unknown")).ToArray();

    private static readonly long CentsPerHit = (long)(DayTrading.Quotes.Quote.CostPerHit * 100);

    private long _quoteHits;
    private long _requests;
    private long _requestErrors;
    private long _triggersFired;
    private long _requestsResent;
    private long _ordersExpired;
    private long _quoteLookups;
    private long _quoteCacheHits;
    private readonly long[] _completed = new long[CommandTags.Length * Outcomes];
    private readonly Histogram<double> _requestDuration;
    private readonly Histogram<double> _dumpDuration;

    public NodeMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        var meter = Meter;
        meter.CreateObservableCounter("daytrading.quote.hits", () => Interlocked.Read(ref _quoteHits), "{hit}",
            "hits on the legacy quote server made by this node's QuoteManager");
        // In whole cents: money is never a double, and a decimal instrument is exported by nothing (OpenTelemetry drops it).
        meter.CreateObservableCounter("daytrading.quote.cost.cents", () => Interlocked.Read(ref _quoteHits) * CentsPerHit, "{cent}",
            "what those hits cost, in US cents ($0.05 each)");
        meter.CreateObservableCounter("daytrading.quote.lookups", () => Interlocked.Read(ref _quoteLookups), "{lookup}",
            "quotes the accounts on this node needed (QUOTE, BUY, SELL)");
        meter.CreateObservableCounter("daytrading.quote.cache.hits", () => Interlocked.Read(ref _quoteCacheHits), "{lookup}",
            "of those, served from the node's cache of valid quotes without asking the QuoteManager");
        meter.CreateObservableGauge("daytrading.quote.cache.hit_ratio", CacheHitRatio, "1",
            "quote cache hits / quote lookups since the node started (0 before the first lookup)");
        meter.CreateObservableCounter("daytrading.requests", () => Interlocked.Read(ref _requests), "{request}",
            "requests handled by the accounts on this node");
        meter.CreateObservableCounter("daytrading.requests.errors", () => Interlocked.Read(ref _requestErrors), "{request}",
            "requests the accounts on this node answered with ERR: refusals by the domain and failures together (daytrading.gateway.requests tells them apart)");
        meter.CreateObservableCounter("daytrading.triggers.fired", () => Interlocked.Read(ref _triggersFired), "{trigger}",
            "buy and sell triggers executed by the accounts on this node");
        meter.CreateObservableCounter("daytrading.orders.expired", () => Interlocked.Read(ref _ordersExpired), "{order}",
            "pending buys and sells released after their 60 s by the accounts on this node");
        meter.CreateObservableCounter("daytrading.requests.resent", () => Interlocked.Read(ref _requestsResent), "{request}",
            "requests this node's edges sent to their account again after no answer in time (a shard moving, a node lost)");
        meter.CreateObservableCounter("daytrading.gateway.requests", Completed, "{request}",
            "requests this node's edges (TCP, web) had answered, by command and outcome (ok; refused: a correct refusal; failed: not done or unknown)");
        _requestDuration = meter.CreateHistogram<double>("daytrading.gateway.request.duration", "s",
            "from a request entering this node's gateway to its answer, by command",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _dumpDuration = meter.CreateHistogram<double>("daytrading.dumplog.duration", "s",
            "DUMPLOG requests from receipt to the file written (or refused)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600] });
    }

    /// <summary>The node's meter, for the instruments that read the actor system (cluster, shards).</summary>
    public Meter Meter { get; }

    public void QuoteHit() => Interlocked.Increment(ref _quoteHits);

    public void QuoteLookup(bool fromCache)
    {
        Interlocked.Increment(ref _quoteLookups);
        if (fromCache) Interlocked.Increment(ref _quoteCacheHits);
    }

    public void RequestHandled(bool ok)
    {
        Interlocked.Increment(ref _requests);
        if (!ok) Interlocked.Increment(ref _requestErrors);
    }

    /// <summary>A request of an edge answered (or timed out) <paramref name="startTimestamp"/> (a <see cref="Stopwatch"/> timestamp) after it came.</summary>
    public void RequestCompleted(CommandKind kind, RequestOutcome outcome, long startTimestamp)
    {
        var k = (int)kind & 31;
        Interlocked.Increment(ref _completed[k * Outcomes + (int)outcome]);
        var seconds = Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
        if (kind == CommandKind.DumpLog) _dumpDuration.Record(seconds);
        else _requestDuration.Record(seconds, CommandTags[k]);
    }

    public void TriggerFired() => Interlocked.Increment(ref _triggersFired);

    public void OrdersExpired(int count) => Interlocked.Add(ref _ordersExpired, count);

    public void RequestResent() => Interlocked.Increment(ref _requestsResent);

    private double CacheHitRatio()
    {
        var lookups = Interlocked.Read(ref _quoteLookups);
        return lookups == 0 ? 0 : (double)Interlocked.Read(ref _quoteCacheHits) / lookups;
    }

    private IEnumerable<Measurement<long>> Completed()
    {
        for (var i = 0; i < _completed.Length; i++)
        {
            var n = Interlocked.Read(ref _completed[i]);
            if (n == 0) continue;
            yield return new Measurement<long>(n, CommandTags[i / Outcomes], new KeyValuePair<string, object?>("outcome", OutcomeNames[i % Outcomes]));
        }
    }
}
