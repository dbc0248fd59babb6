using DayTrading.Loadgen.Metrics;
using ScottPlot;

namespace DayTrading.Loadgen.Reporting;

/// <summary>
/// The report's charts, drawn with ScottPlot 5 as SVG (inlined into the HTML report). Rates per second are taken
/// over the whole intervals of the trading phase only (<see cref="RunReport.CountsInRates"/>); the DUMPLOG is in
/// none of the trading charts and has its own.
/// </summary>
public static class Charts
{
    public const int Width = 900, Height = 320;

    private static TimelinePoint[] RatePoints(RunReport r) => r.Timeline.Where(r.CountsInRates).ToArray();

    /// <summary>Intervals of the trading phase (the partial last one included: its percentiles and in-flight count are not rates).</summary>
    private static TimelinePoint[] TradingPoints(RunReport r) => r.Timeline.Where(p => p.Second - p.IntervalSeconds < r.TradingSeconds).ToArray();

    private static void Line(Plot plot, double[] xs, double[] ys, string legend)
    {
        var s = plot.Add.Scatter(xs, ys);
        s.LegendText = legend;
    }

    private static string Finish(Plot plot, string title, string y, bool legend, Alignment where = Alignment.UpperRight)
    {
        if (legend) plot.ShowLegend(where);
        plot.Title(title);
        plot.XLabel("seconds since start");
        plot.YLabel(y);
        return plot.GetSvgXml(Width, Height);
    }

    public static string Throughput(RunReport r)
    {
        var plot = new Plot();
        var pts = RatePoints(r);
        if (pts.Length > 0)
        {
            var xs = pts.Select(p => p.Second).ToArray();
            Line(plot, xs, pts.Select(p => p.Ok / p.IntervalSeconds).ToArray(), "done/s");
            Line(plot, xs, pts.Select(p => p.Refused / p.IntervalSeconds).ToArray(), "refused/s");
            Line(plot, xs, pts.Select(p => p.Failed / p.IntervalSeconds).ToArray(), "failed/s");
        }
        return Finish(plot, "Throughput over time (whole seconds of the trading phase)", "answers per second", pts.Length > 0);
    }

    public static string LatencyOverTime(RunReport r)
    {
        var plot = new Plot();
        var pts = TradingPoints(r).Where(p => p.Answered > 0).ToArray();
        if (pts.Length > 0)
        {
            var xs = pts.Select(p => p.Second).ToArray();
            foreach (var (name, sel) in new (string, Func<TimelinePoint, double>)[]
                     { ("p50", p => p.P50Ms), ("p90", p => p.P90Ms), ("p99", p => p.P99Ms), ("max", p => p.MaxMs) })
                Line(plot, xs, pts.Select(sel).ToArray(), name);
        }
        return Finish(plot, "Trading latency percentiles over time (per interval)", "latency (ms)", pts.Length > 0, Alignment.UpperLeft);
    }

    public static string ErrorsOverTime(RunReport r)
    {
        var plot = new Plot();
        var pts = RatePoints(r);
        if (pts.Length > 0)
        {
            var xs = pts.Select(p => p.Second).ToArray();
            Line(plot, xs, pts.Select(p => p.Failed / p.IntervalSeconds).ToArray(), "failures/s");
            Line(plot, xs, pts.Select(p => p.Refused / p.IntervalSeconds).ToArray(), "refusals/s");
        }
        return Finish(plot, "Failures and refusals over time", "answers per second", pts.Length > 0);
    }

    public static string InFlight(RunReport r)
    {
        var plot = new Plot();
        var pts = TradingPoints(r);
        if (pts.Length > 0) Line(plot, pts.Select(p => p.Second).ToArray(), pts.Select(p => (double)p.InFlight).ToArray(), "in flight");
        return Finish(plot, "Requests in flight", "requests", false);
    }

    /// <summary>
    /// HdrHistogram-style percentile plot: x = −log10(1 − p) so the tail is spread out. The open model shows latency
    /// and service time; the closed model one curve, since there the two are the same measurement.
    /// </summary>
    public static string Distribution(RunReport r)
    {
        var plot = new Plot();
        var pts = r.Distribution.Where(p => p.Percentile < 100).ToArray();
        if (pts.Length > 0)
        {
            var xs = pts.Select(p => -Math.Log10(1 - p.Percentile / 100)).ToArray();
            if (r.ClosedModel)
            {
                Line(plot, xs, pts.Select(p => p.LatencyMs).ToArray(), "latency (= service time: closed model)");
            }
            else
            {
                Line(plot, xs, pts.Select(p => p.LatencyMs).ToArray(), "latency (from intended send)");
                Line(plot, xs, pts.Select(p => p.ServiceMs).ToArray(), "service time (from actual send)");
            }
            plot.Axes.Bottom.SetTicks([0, 1, 2, 3, 4, 5], ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
            plot.ShowLegend(Alignment.UpperLeft);
        }
        plot.Title("Trading latency distribution (percentile)");
        plot.XLabel("percentile");
        plot.YLabel("latency (ms)");
        return plot.GetSvgXml(Width, Height);
    }

    /// <summary>One bar per DUMPLOG at the second it was sent, as high as it took.</summary>
    public static string Dumps(RunReport r)
    {
        var plot = new Plot();
        var answers = r.Dumps?.Answers ?? [];
        if (answers.Count > 0)
        {
            var bars = plot.Add.Bars(answers.Select(a => a.SentSecond).ToArray(), answers.Select(a => a.LatencyMs).ToArray());
            bars.LegendText = "DUMPLOG duration";
        }
        return Finish(plot, "DUMPLOG duration", "duration (ms)", false);
    }
}
