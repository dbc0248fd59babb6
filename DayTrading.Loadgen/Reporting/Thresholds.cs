using System.Globalization;
using System.Text.RegularExpressions;

namespace DayTrading.Loadgen.Reporting;

/// <summary>
/// A pass/fail rule on the results: <c>[CMD:]metric&lt;value[unit]</c>, e.g. <c>p99&lt;50ms</c>, <c>BUY:p99&lt;20ms</c>,
/// <c>mean&lt;=5ms</c>. Metrics: p50 p75 p90 p95 p99 p999 max mean min; operators &lt; &lt;= &gt; &gt;=; units us, ms
/// (default), s. Applies to latency (from the intended send time, i.e. including lateness in the open model).
/// </summary>
public sealed partial record Threshold(string Text, string? Command, string Metric, string Operator, double LimitMs)
{
    public static readonly string[] Metrics = ["p50", "p75", "p90", "p95", "p99", "p999", "max", "mean", "min"];

    public static Threshold Parse(string text)
    {
        var m = Pattern().Match(text.Trim());
        if (!m.Success)
            throw new FormatException($"threshold '{text}' is not [CMD:]metric<value[us|ms|s] (metric: {string.Join(' ', Metrics)})");
        var metric = m.Groups["metric"].Value.ToLowerInvariant();
        if (!Metrics.Contains(metric)) throw new FormatException($"threshold '{text}': unknown metric '{metric}' (use {string.Join(' ', Metrics)})");
        var value = double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        var ms = m.Groups["unit"].Value.ToLowerInvariant() switch
        {
            "us" or "µs" => value / 1000,
            "s" => value * 1000,
            _ => value,
        };
        var cmd = m.Groups["cmd"].Success ? m.Groups["cmd"].Value.ToUpperInvariant() : null;
        return new Threshold(text.Trim(), cmd, metric, m.Groups["op"].Value, ms);
    }

    public bool Holds(double actualMs) => Operator switch
    {
        "<" => actualMs < LimitMs,
        "<=" => actualMs <= LimitMs,
        ">" => actualMs > LimitMs,
        ">=" => actualMs >= LimitMs,
        _ => false,
    };

    [GeneratedRegex(@"^(?:(?<cmd>[A-Za-z_]+)\s*:\s*)?(?<metric>[A-Za-z0-9]+)\s*(?<op><=|>=|<|>)\s*(?<value>\d+(?:\.\d+)?)\s*(?<unit>us|µs|ms|s)?$")]
    private static partial Regex Pattern();
}

/// <summary>The verdict of one threshold (or of the error-rate limit).</summary>
public sealed record ThresholdResult(string Rule, double? Actual, string ActualText, bool Passed, string? Note = null);
