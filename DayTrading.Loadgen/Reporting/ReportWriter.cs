using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DayTrading.Loadgen.Reporting;

/// <summary>
/// Writes a run's report as report.txt, report.md, report.csv (one row per command type plus ALL),
/// timeline.csv (one row per second), report.json and one self-contained report.html (charts inline as SVG).
/// </summary>
public static class ReportWriter
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public const string CsvHeader = "command,count,ok,fail,throughput_per_s,min_ms,mean_ms,p50_ms,p75_ms,p90_ms,p95_ms,p99_ms,p999_ms,max_ms,service_p50_ms,service_p99_ms";

    /// <summary>Writes every format into <paramref name="dir"/>; returns the paths.</summary>
    public static IReadOnlyList<string> WriteAll(RunReport r, string dir)
    {
        Directory.CreateDirectory(dir);
        var files = new List<string>();
        void Put(string name, string text)
        {
            var path = Path.Combine(dir, name);
            File.WriteAllText(path, text, new UTF8Encoding(false));
            files.Add(path);
        }
        Put("report.txt", Text(r));
        Put("report.md", Markdown(r));
        Put("report.csv", Csv(r));
        Put("timeline.csv", TimelineCsv(r));
        Put("report.json", JsonSerializer.Serialize(r, Json));
        Put("report.html", Html(r));
        return files;
    }

    private static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    private static IEnumerable<(string Name, long Count, long Ok, long Fail, double Tput, LatencySummary L, LatencySummary S)> Rows(RunReport r) =>
        r.Commands.Select(c => (c.Command, c.Count, c.Ok, c.Fail, c.ThroughputPerSec, c.Latency, c.Service))
            .Append(("ALL", r.Ok + r.Fail, r.Ok, r.Fail, r.ThroughputPerSec, r.Latency, r.Service));

    private static string[] LatencyCells(LatencySummary l) =>
        [F(l.MinMs), F(l.MeanMs), F(l.P50Ms), F(l.P75Ms), F(l.P95Ms), F(l.P99Ms), F(l.P999Ms), F(l.MaxMs)];

    private static readonly string[] TableHeader = ["command", "count", "ok", "fail", "req/s", "min", "mean", "p50", "p75", "p95", "p99", "p99.9", "max"];

    private static List<string[]> TableRows(RunReport r) =>
        Rows(r).Select(x => new[] { x.Name, x.Count.ToString(CultureInfo.InvariantCulture), x.Ok.ToString(CultureInfo.InvariantCulture),
            x.Fail.ToString(CultureInfo.InvariantCulture), F(x.Tput) }.Concat(LatencyCells(x.L)).ToArray()).ToList();

    private static IEnumerable<string> HeadlineLines(RunReport r)
    {
        yield return $"run {r.RunId}: {r.Workload} -> {string.Join(", ", r.Targets)}; {r.Model}; {r.Settings}";
        yield return $"started {r.StartedUtc:u}; wall time {F(r.WallTimeSeconds)} s; answered {r.Answered}/{r.Planned}; ok {r.Ok}, failed {r.Fail} " +
                     $"(error rate {r.ErrorRate:P2}); throughput {F(r.ThroughputPerSec)} req/s";
        yield return $"latency ms (from intended send): p50 {F(r.Latency.P50Ms)}, p99 {F(r.Latency.P99Ms)}, max {F(r.Latency.MaxMs)}; " +
                     $"service time ms (from actual send): p50 {F(r.Service.P50Ms)}, p99 {F(r.Service.P99Ms)}, max {F(r.Service.MaxMs)}";
        if (r.LateRequests > 0)
            yield return $"lateness (sent after the intended time, because the user's previous answer came late): {r.LateRequests} requests; " +
                         $"p50 {F(r.Lateness.P50Ms)} ms, p99 {F(r.Lateness.P99Ms)} ms, max {F(r.Lateness.MaxMs)} ms";
        if (r.SchedulerLagRequests > 0 && r.SchedulerLag is { } lag)
            yield return $"generator lag (sent late with nothing blocking: timer/CPU of the load generator): {r.SchedulerLagRequests} requests; " +
                         $"p50 {F(lag.P50Ms)} ms, p99 {F(lag.P99Ms)} ms, max {F(lag.MaxMs)} ms";
        yield return $"warm-up results excluded: {r.WarmupExcluded}; resends (broken connection or 'outcome unknown'): {r.Retries}; reconnects: {r.Reconnects}" +
                     (r.StoppedEarly ? "; stopped early" : "");
        yield return $"loadgen's own cost: {F(r.LoadgenCpuMicrosPerRequest)} µs CPU and {F(r.LoadgenAllocatedBytesPerRequest)} bytes allocated per request";
        if (r.FatalError is { } fe) yield return $"RUN FAILED: {fe}";
    }

    public static string Text(RunReport r)
    {
        var sb = new StringBuilder();
        foreach (var l in HeadlineLines(r)) sb.AppendLine(l);
        sb.AppendLine();
        sb.AppendLine("Per command (latency in ms, from the intended send time):");
        var rows = TableRows(r);
        var widths = TableHeader.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(x => x[i].Length))).ToArray();
        sb.AppendLine(string.Join("  ", TableHeader.Select((h, i) => i == 0 ? h.PadRight(widths[i]) : h.PadLeft(widths[i]))));
        foreach (var row in rows) sb.AppendLine(string.Join("  ", row.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))));
        sb.AppendLine();
        if (r.Errors.Count == 0) sb.AppendLine("Errors: none");
        else
        {
            sb.AppendLine("Errors by reason:");
            foreach (var e in r.Errors) sb.AppendLine($"  {e.Count,8}  {e.Reason}");
        }
        if (r.Thresholds.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Thresholds:");
            foreach (var t in r.Thresholds) sb.AppendLine($"  {(t.Passed ? "PASS  " : "BREACH")}  {t.Rule}  (actual {t.ActualText})");
        }
        return sb.ToString();
    }

    public static string Markdown(RunReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Load run `{r.RunId}`").AppendLine();
        foreach (var l in HeadlineLines(r)) sb.AppendLine($"- {l}");
        sb.AppendLine().AppendLine("## Per command (latency in ms, from the intended send time)").AppendLine();
        sb.AppendLine("| " + string.Join(" | ", TableHeader) + " |");
        sb.AppendLine("|" + string.Concat(TableHeader.Select((_, i) => i == 0 ? "---|" : "---:|")));
        foreach (var row in TableRows(r)) sb.AppendLine("| " + string.Join(" | ", row) + " |");
        sb.AppendLine().AppendLine("## Errors by reason").AppendLine();
        if (r.Errors.Count == 0) sb.AppendLine("None.");
        else
        {
            sb.AppendLine("| count | reason |").AppendLine("|---:|---|");
            foreach (var e in r.Errors) sb.AppendLine($"| {e.Count} | {e.Reason.Replace("|", "\\|")} |");
        }
        if (r.Thresholds.Count > 0)
        {
            sb.AppendLine().AppendLine("## Thresholds").AppendLine().AppendLine("| rule | actual | verdict |").AppendLine("|---|---:|---|");
            foreach (var t in r.Thresholds) sb.AppendLine($"| `{t.Rule}` | {t.ActualText} | {(t.Passed ? "pass" : "**BREACH**")} |");
        }
        return sb.ToString();
    }

    public static string Csv(RunReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CsvHeader);
        foreach (var x in Rows(r))
        {
            sb.AppendLine(string.Join(",", new[]
            {
                x.Name, x.Count.ToString(CultureInfo.InvariantCulture), x.Ok.ToString(CultureInfo.InvariantCulture), x.Fail.ToString(CultureInfo.InvariantCulture),
                F(x.Tput), F(x.L.MinMs), F(x.L.MeanMs), F(x.L.P50Ms), F(x.L.P75Ms), F(x.L.P90Ms), F(x.L.P95Ms), F(x.L.P99Ms), F(x.L.P999Ms),
                F(x.L.MaxMs), F(x.S.P50Ms), F(x.S.P99Ms),
            }));
        }
        return sb.ToString();
    }

    public static string TimelineCsv(RunReport r)
    {
        var sb = new StringBuilder("second,ok,fail,p50_ms,p90_ms,p99_ms,max_ms,in_flight\n");
        foreach (var p in r.Timeline)
            sb.AppendLine($"{F(p.Second)},{p.Ok},{p.Fail},{F(p.P50Ms)},{F(p.P90Ms)},{F(p.P99Ms)},{F(p.MaxMs)},{p.InFlight}");
        return sb.ToString();
    }

    public static string Html(RunReport r)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        sb.AppendLine("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Load run " + E(r.RunId) + "</title><style>")
          .AppendLine("body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse;margin:1em 0}" +
                      "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}" +
                      ".breach{color:#b00;font-weight:bold}.pass{color:#070}.chart{margin:1em 0}")
          .AppendLine("</style></head><body>");
        sb.AppendLine($"<h1>Load run <code>{E(r.RunId)}</code></h1><ul>");
        foreach (var l in HeadlineLines(r)) sb.AppendLine($"<li>{E(l)}</li>");
        sb.AppendLine("</ul>");
        if (r.Thresholds.Count > 0)
        {
            sb.AppendLine("<h2>Thresholds</h2><table><tr><th>rule</th><th>actual</th><th>verdict</th></tr>");
            foreach (var t in r.Thresholds)
                sb.AppendLine($"<tr><td><code>{E(t.Rule)}</code></td><td>{E(t.ActualText)}</td><td class=\"{(t.Passed ? "pass" : "breach")}\">{(t.Passed ? "pass" : "BREACH")}</td></tr>");
            sb.AppendLine("</table>");
        }
        sb.AppendLine("<h2>Per command</h2><p>Latency in ms, from the intended send time.</p><table><tr>");
        foreach (var h in TableHeader) sb.Append($"<th>{E(h)}</th>");
        sb.AppendLine("</tr>");
        foreach (var row in TableRows(r)) sb.AppendLine("<tr>" + string.Concat(row.Select(c => $"<td>{E(c)}</td>")) + "</tr>");
        sb.AppendLine("</table><h2>Errors by reason</h2>");
        if (r.Errors.Count == 0) sb.AppendLine("<p>None.</p>");
        else
        {
            sb.AppendLine("<table><tr><th>reason</th><th>count</th></tr>");
            foreach (var e in r.Errors) sb.AppendLine($"<tr><td>{E(e.Reason)}</td><td>{e.Count}</td></tr>");
            sb.AppendLine("</table>");
        }
        sb.AppendLine("<h2>Charts</h2>");
        foreach (var (id, svg) in new[] { ("chart-throughput", SafeChart(Charts.Throughput, r)), ("chart-latency-over-time", SafeChart(Charts.LatencyOverTime, r)),
                     ("chart-latency-distribution", SafeChart(Charts.Distribution, r)) })
            sb.AppendLine($"<div class=\"chart\" id=\"{id}\">{svg}</div>");
        sb.AppendLine("</body></html>");
        return sb.ToString();
    }

    private static string SafeChart(Func<RunReport, string> chart, RunReport r)
    {
        try
        {
            var svg = chart(r);
            var at = svg.IndexOf("<svg", StringComparison.Ordinal); // drop any XML prolog: the SVG goes inline
            return at > 0 ? svg[at..] : svg;
        }
        catch (Exception ex)
        {
            return $"<p>(chart unavailable: {WebUtility.HtmlEncode(ex.Message)})</p>";
        }
    }
}
