using System.Diagnostics.Metrics;

namespace DayTrading.Telemetry;

/// <summary>
/// One node's metrics as .NET instruments (meter <c>DayTrading</c>), readable live with
/// <c>dotnet-counters monitor -n DayTrading.Host --counters DayTrading</c> or any OpenTelemetry exporter.
/// One instance per node, made by the host's <see cref="IMeterFactory"/> (a singleton in DI), so two nodes in one
/// process (the tests) count apart. Counting is an interlocked increment on the request path; the observable
/// instruments read the totals only when a listener collects.
/// </summary>
public sealed class NodeMetrics
{
    public const string MeterName = "DayTrading";

    private long _quoteHits;
    private long _requests;
    private long _requestErrors;
    private long _triggersFired;
    private long _requestsResent;

    public NodeMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        meter.CreateObservableCounter("daytrading.quote.hits", () => Interlocked.Read(ref _quoteHits), "{hit}",
            "hits on the legacy quote server made by this node's QuoteManager");
        meter.CreateObservableCounter("daytrading.quote.cost", () => Interlocked.Read(ref _quoteHits) * DayTrading.Quotes.Quote.CostPerHit, "USD",
            "what those hits cost at $0.05 each");
        meter.CreateObservableCounter("daytrading.requests", () => Interlocked.Read(ref _requests), "{request}",
            "requests handled by the accounts on this node");
        meter.CreateObservableCounter("daytrading.requests.failed", () => Interlocked.Read(ref _requestErrors), "{request}",
            "requests answered with an error by the accounts on this node");
        meter.CreateObservableCounter("daytrading.triggers.fired", () => Interlocked.Read(ref _triggersFired), "{trigger}",
            "buy and sell triggers executed by the accounts on this node");
        meter.CreateObservableCounter("daytrading.requests.resent", () => Interlocked.Read(ref _requestsResent), "{request}",
            "requests this node's edges sent to their account again after no answer in time (a shard moving, a node lost)");
    }

    public void QuoteHit() => Interlocked.Increment(ref _quoteHits);

    public void RequestHandled(bool ok)
    {
        Interlocked.Increment(ref _requests);
        if (!ok) Interlocked.Increment(ref _requestErrors);
    }

    public void TriggerFired() => Interlocked.Increment(ref _triggersFired);

    public void RequestResent() => Interlocked.Increment(ref _requestsResent);
}
