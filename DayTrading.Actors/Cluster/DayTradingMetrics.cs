using System.Diagnostics.Metrics;

namespace DayTrading.Cluster;

/// <summary>
/// The node's metrics as .NET instruments (meter <c>DayTrading</c>), readable live with
/// <c>dotnet-counters monitor -n DayTrading.Host --counters DayTrading</c> or any OpenTelemetry exporter.
/// </summary>
public static class DayTradingMetrics
{
    public const string MeterName = "DayTrading";

    private static readonly Meter Meter = new(MeterName);
    private static long _quoteHits;
    private static long _requests;
    private static long _requestErrors;
    private static long _triggersFired;
    private static long _requestsResent;

    static DayTradingMetrics()
    {
        Meter.CreateObservableCounter("daytrading.quote.hits", () => Interlocked.Read(ref _quoteHits), "{hit}",
            "hits on the legacy quote server made by this node's QuoteManager");
        Meter.CreateObservableCounter("daytrading.quote.cost", () => (double)(Interlocked.Read(ref _quoteHits) * DayTrading.Quotes.Quote.CostPerHit), "USD",
            "what those hits cost at $0.05 each");
        Meter.CreateObservableCounter("daytrading.requests", () => Interlocked.Read(ref _requests), "{request}",
            "requests handled by the accounts on this node");
        Meter.CreateObservableCounter("daytrading.requests.failed", () => Interlocked.Read(ref _requestErrors), "{request}",
            "requests answered with an error by the accounts on this node");
        Meter.CreateObservableCounter("daytrading.triggers.fired", () => Interlocked.Read(ref _triggersFired), "{trigger}",
            "buy and sell triggers executed by the accounts on this node");
        Meter.CreateObservableCounter("daytrading.requests.resent", () => Interlocked.Read(ref _requestsResent), "{request}",
            "requests this node's edges sent to their account again after no answer in time (a shard moving, a node lost)");
    }

    public static long QuoteHits => Interlocked.Read(ref _quoteHits);

    public static void QuoteHit() => Interlocked.Increment(ref _quoteHits);

    public static void RequestHandled(bool ok)
    {
        Interlocked.Increment(ref _requests);
        if (!ok) Interlocked.Increment(ref _requestErrors);
    }

    public static void TriggerFired() => Interlocked.Increment(ref _triggersFired);

    public static void RequestResent() => Interlocked.Increment(ref _requestsResent);
}
