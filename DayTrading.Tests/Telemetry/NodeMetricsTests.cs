using System.Diagnostics.Metrics;
using System.Net.Sockets;
using System.Text;
using DayTrading.Host;
using DayTrading.Telemetry;
using DayTrading.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DayTrading.Tests.Telemetry;

/// <summary>
/// The node's metrics come from an instance made by the host's <see cref="IMeterFactory"/>, not from static state:
/// each node counts its own requests and quote hits, and a listener sees them per node (its meter's scope).
/// </summary>
public sealed class NodeMetricsTests
{
    /// <summary>Collects the totals of the DayTrading instruments whose meter was made by <paramref name="factory"/>.</summary>
    private sealed class Totals : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, decimal> _values = [];

        public Totals(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == NodeMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory)) l.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((i, v, _, _) => { lock (_values) _values[i.Name] = v; });
            _listener.SetMeasurementEventCallback<decimal>((i, v, _, _) => { lock (_values) _values[i.Name] = v; });
            _listener.Start();
        }

        public decimal this[string name]
        {
            get
            {
                _listener.RecordObservableInstruments();
                lock (_values) return _values.GetValueOrDefault(name);
            }
        }

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public void Two_instances_count_apart()
    {
        using var one = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var two = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var a = new NodeMetrics(one.GetRequiredService<IMeterFactory>());
        var b = new NodeMetrics(two.GetRequiredService<IMeterFactory>());
        using var seenA = new Totals(one.GetRequiredService<IMeterFactory>());
        using var seenB = new Totals(two.GetRequiredService<IMeterFactory>());

        a.RequestHandled(ok: true);
        a.RequestHandled(ok: false);
        a.QuoteHit();
        a.QuoteHit();
        a.QuoteHit();
        a.TriggerFired();
        b.RequestHandled(ok: true);
        b.RequestResent();

        Assert.Equal(2, seenA["daytrading.requests"]);
        Assert.Equal(1, seenA["daytrading.requests.errors"]);
        Assert.Equal(3, seenA["daytrading.quote.hits"]);
        Assert.Equal(15, seenA["daytrading.quote.cost.cents"]);
        Assert.Equal(1, seenA["daytrading.triggers.fired"]);
        Assert.Equal(0, seenA["daytrading.requests.resent"]);
        Assert.Equal(1, seenB["daytrading.requests"]);
        Assert.Equal(0, seenB["daytrading.requests.errors"]);
        Assert.Equal(0, seenB["daytrading.quote.hits"]);
        Assert.Equal(1, seenB["daytrading.requests.resent"]);
    }

    [Fact]
    public async Task A_node_counts_its_requests_and_quote_hits_through_its_own_meter()
    {
        await using var node = new InProcessNode();
        using var totals = new Totals(node.Services.GetRequiredService<IMeterFactory>());
        await node.StartAsync(TestContext.Current.CancellationToken);
        using (var edge = await node.ConnectAsync(TestContext.Current.CancellationToken))
        {
            await edge.SendAsync("[1] ADD,alice,1000\n[2] QUOTE,alice,ABC\n[3] COMMIT_BUY,alice\n");
            var lines = new List<string>();
            for (var i = 0; i < 3; i++) lines.Add(await edge.ReadLineAsync());
            Assert.Contains("[1] OK ADD", lines);
            Assert.Contains(lines, l => l.StartsWith("[3] ERR COMMIT_BUY", StringComparison.Ordinal));

            Assert.Equal(3, totals["daytrading.requests"]);
            Assert.Equal(1, totals["daytrading.requests.errors"]);
            Assert.Equal(1, totals["daytrading.quote.hits"]);
            Assert.Equal(5, totals["daytrading.quote.cost.cents"]);
        }
    }
}
