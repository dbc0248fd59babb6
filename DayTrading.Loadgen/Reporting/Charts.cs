using ScottPlot;

namespace DayTrading.Loadgen.Reporting;

/// <summary>The report's three charts, drawn with ScottPlot 5 as SVG (inlined into the HTML report).</summary>
public static class Charts
{
    public const int Width = 900, Height = 360;

    public static string Throughput(RunReport r)
    {
        var plot = new Plot();
        var xs = r.Timeline.Select(p => p.Second).ToArray();
        if (xs.Length > 0)
        {
            var ok = plot.Add.Scatter(xs, r.Timeline.Select(p => (double)p.Ok).ToArray());
            ok.LegendText = "ok/s";
            var fail = plot.Add.Scatter(xs, r.Timeline.Select(p => (double)p.Fail).ToArray());
            fail.LegendText = "errors/s";
            plot.ShowLegend(Alignment.UpperRight);
        }
        plot.Title("Throughput over time");
        plot.XLabel("seconds since start");
        plot.YLabel("responses per second");
        return plot.GetSvgXml(Width, Height);
    }

    public static string LatencyOverTime(RunReport r)
    {
        var plot = new Plot();
        var xs = r.Timeline.Select(p => p.Second).ToArray();
        if (xs.Length > 0)
        {
            foreach (var (name, sel) in new (string, Func<Metrics.TimelinePoint, double>)[]
                     { ("p50", p => p.P50Ms), ("p90", p => p.P90Ms), ("p99", p => p.P99Ms), ("max", p => p.MaxMs) })
            {
                var s = plot.Add.Scatter(xs, r.Timeline.Select(sel).ToArray());
                s.LegendText = name;
            }
            plot.ShowLegend(Alignment.UpperLeft);
        }
        plot.Title("Latency percentiles over time (per second)");
        plot.XLabel("seconds since start");
        plot.YLabel("latency (ms)");
        return plot.GetSvgXml(Width, Height);
    }

    /// <summary>HdrHistogram-style percentile plot: x = −log10(1 − p) so the tail is spread out.</summary>
    public static string Distribution(RunReport r)
    {
        var plot = new Plot();
        var pts = r.Distribution.Where(p => p.Percentile < 100).ToArray();
        if (pts.Length > 0)
        {
            var xs = pts.Select(p => -Math.Log10(1 - p.Percentile / 100)).ToArray();
            var s = plot.Add.Scatter(xs, pts.Select(p => p.LatencyMs).ToArray());
            s.LegendText = "latency (from intended send)";
            var svc = plot.Add.Scatter(xs, pts.Select(p => p.ServiceMs).ToArray());
            svc.LegendText = "service time (from actual send)";
            plot.ShowLegend(Alignment.UpperLeft);
            plot.Axes.Bottom.SetTicks([0, 1, 2, 3, 4, 5], ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
        }
        plot.Title("Latency distribution (percentile)");
        plot.XLabel("percentile");
        plot.YLabel("latency (ms)");
        return plot.GetSvgXml(Width, Height);
    }
}
