using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DayTrading.Loadgen.Metrics;

namespace DayTrading.Loadgen.Reporting;

/// <summary>One headline figure of a report: every format shows the same list, with the same text.</summary>
public sealed record Figure(string Key, string Label, string Value);

/// <summary>
/// Writes a run's report as report.txt, report.md, report.csv (one row per trading command type, ALL, then the
/// DUMPLOG row apart), timeline.csv (one row per sampling interval), report.json and one self-contained report.html
/// (charts inline as SVG). Every format opens with the verdict and the same <see cref="KeyFigures"/>.
/// </summary>
public static class ReportWriter
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    public const string CsvHeader =
        "command,count,ok,refused,failed,throughput_per_s,min_ms,mean_ms,p50_ms,p75_ms,p90_ms,p95_ms,p99_ms,p999_ms,max_ms,service_p50_ms,service_p99_ms";

    public const string TimelineCsvHeader = "second,interval_s,counts_in_rates,ok,refused,failed,p50_ms,p90_ms,p99_ms,max_ms,in_flight";

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
    private static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static string Percent(double rate) => (rate * 100).ToString("0.##", CultureInfo.InvariantCulture) + " %";

    /// <summary>The headline figures, in order: what the HTML's cards, the Markdown's and the text's summary show.</summary>
    public static IReadOnlyList<Figure> KeyFigures(RunReport r)
    {
        var held = r.Thresholds.Count(t => t.Passed);
        return
        [
            new("verdict", "verdict", r.Verdict),
            new("throughput", "throughput", $"{F(r.ThroughputPerSec)} req/s"),
            new("p50", "p50 latency", $"{F(r.Latency.P50Ms)} ms"),
            new("p99", "p99 latency", $"{F(r.Latency.P99Ms)} ms"),
            new("requests", "trading requests", N(r.Requests)),
            new("ok", "done", N(r.Ok)),
            new("failed", "failures", $"{N(r.Failed)} ({Percent(r.ErrorRate)})"),
            new("refused", "refusals", $"{N(r.Refused)} ({Percent(r.RefusalRate)})"),
            new("thresholds", "thresholds", r.Thresholds.Count == 0 ? "none set" : $"{held} of {r.Thresholds.Count} held"),
            new("dumplog", "DUMPLOG", r.Dumps is { } d ? $"{N(d.Count)} × {F(d.Latency.MeanMs)} ms mean" : "none"),
        ];
    }

    private static IEnumerable<string> RunLines(RunReport r)
    {
        yield return $"run {r.RunId}: {r.Workload} -> {string.Join(", ", r.Targets)}; {r.Model}";
        yield return $"started {r.StartedUtc:u}; wall time {F(r.WallTimeSeconds)} s, trading phase {F(r.TradingSeconds)} s" +
                     (r.Dumps is null ? "" : ", then the DUMPLOG") + $"; answered {r.Answered}/{r.Planned}" + (r.StoppedEarly ? "; stopped early" : "");
        if (r.FatalError is { } fe) yield return $"RUN FAILED: {fe}";
    }

    /// <summary>How the per-second rates were taken (the charts and the min/max): whole intervals of the trading phase only.</summary>
    public static string RatesNote(RunReport r)
    {
        var w = r.PerSecond;
        if (w.WholeIntervals == 0)
            return $"The run's trading phase ({F(r.TradingSeconds)} s) holds no whole one-second interval, so there are no per-second rates; throughput is the mean over the phase.";
        return $"Per-second rates over {w.WholeIntervals} whole one-second intervals ({F(w.CountedSeconds)} s): {F(w.MinPerSec)} … {F(w.MaxPerSec)} req/s. " +
               $"Left out: the partial last interval of the trading phase ({F(w.PartialTailSeconds)} s, cut short by the end of the run)" +
               (w.AfterTradingSeconds > 0 ? $" and the {F(w.AfterTradingSeconds)} s after the last trading answer (the DUMPLOG)." : ".") +
               " Throughput is trading requests / trading phase after the warm-up.";
    }

    private static IEnumerable<(string Label, string Value)> DetailRows(RunReport r)
    {
        yield return ("latency (from intended send)", $"p50 {F(r.Latency.P50Ms)} ms, p99 {F(r.Latency.P99Ms)} ms, max {F(r.Latency.MaxMs)} ms");
        yield return ("service time (from actual send)", $"p50 {F(r.Service.P50Ms)} ms, p99 {F(r.Service.P99Ms)} ms, max {F(r.Service.MaxMs)} ms");
        if (r.LateRequests > 0)
            yield return ("lateness (previous answer came late)", $"{r.LateRequests} requests; p50 {F(r.Lateness.P50Ms)} ms, p99 {F(r.Lateness.P99Ms)} ms, max {F(r.Lateness.MaxMs)} ms");
        if (r.SchedulerLagRequests > 0 && r.SchedulerLag is { } lag)
            yield return ("generator lag (nothing blocked the send)", $"{r.SchedulerLagRequests} requests; p50 {F(lag.P50Ms)} ms, p99 {F(lag.P99Ms)} ms, max {F(lag.MaxMs)} ms");
        yield return ("warm-up results excluded", N(r.WarmupExcluded));
        yield return ("resends (broken connection or 'outcome unknown')", N(r.Retries));
        yield return ("reconnects", N(r.Reconnects));
        yield return ("Loadgen's own cost", $"{F(r.LoadgenCpuMicrosPerRequest)} µs CPU and {F(r.LoadgenAllocatedBytesPerRequest)} bytes allocated per request");
    }

    private static IEnumerable<(string Label, string Value)> EnvironmentRows(RunReport r)
    {
        var e = r.Environment;
        yield return ("machine", e.Machine);
        yield return ("OS", e.Os);
        yield return ("cores", N(e.Cores));
        yield return ("RAM", e.MemoryText);
        yield return ("runtime", e.Runtime);
        yield return ("commit", e.Commit ?? "unknown (no --commit and no git repository here)");
        yield return ("node options", e.NodeOptions ?? "not given (--node-options)");
        foreach (var s in e.LoadgenOptions) yield return ($"loadgen: {s.Name}", s.Value);
    }

    private static readonly string[] TableHeader =
        ["command", "count", "ok", "refused", "failed", "req/s", "min", "mean", "p50", "p75", "p95", "p99", "p99.9", "max"];

    private static string[] LatencyCells(LatencySummary l) =>
        [F(l.MinMs), F(l.MeanMs), F(l.P50Ms), F(l.P75Ms), F(l.P95Ms), F(l.P99Ms), F(l.P999Ms), F(l.MaxMs)];

    private static List<string[]> TableRows(RunReport r) =>
        r.Commands.Select(c => new[] { c.Command, N(c.Count), N(c.Ok), N(c.Refused), N(c.Failed), F(c.ThroughputPerSec) }.Concat(LatencyCells(c.Latency)).ToArray())
            .Append(new[] { "ALL", N(r.Requests), N(r.Ok), N(r.Refused), N(r.Failed), F(r.ThroughputPerSec) }.Concat(LatencyCells(r.Latency)).ToArray())
            .ToList();

    private static readonly string[] DumpHeader = ["command", "count", "ok", "refused", "failed", "min", "mean", "max"];

    private static string[] DumpRow(DumpReport d) =>
        ["DUMPLOG", N(d.Count), N(d.Ok), N(d.Refused), N(d.Failed), F(d.Latency.MinMs), F(d.Latency.MeanMs), F(d.Latency.MaxMs)];

    private static string ThresholdVerdict(ThresholdResult t) => t.Passed ? "held" : "BREACHED";

    public static string Text(RunReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(r.VerdictLine);
        foreach (var l in RunLines(r)) sb.AppendLine(l);
        sb.AppendLine();
        var figures = KeyFigures(r).Skip(1).ToArray();
        var width = figures.Max(f => f.Label.Length);
        foreach (var f in figures) sb.AppendLine($"{f.Label.PadRight(width)}  {f.Value}");
        sb.AppendLine(RatesNote(r));
        sb.AppendLine();
        sb.AppendLine("Per trading command (latency in ms, from the intended send time; DUMPLOG apart, below):");
        AppendTextTable(sb, TableHeader, TableRows(r));
        if (r.Dumps is { } d)
        {
            sb.AppendLine();
            sb.AppendLine("DUMPLOG (not in the trading figures; ms from its send):");
            AppendTextTable(sb, DumpHeader, [DumpRow(d)]);
        }
        sb.AppendLine();
        AppendTextReasons(sb, "Failures by reason (count towards the error rate):", r.Failures);
        AppendTextReasons(sb, "Refusals by reason (domain answers, not errors):", r.Refusals);
        if (r.Thresholds.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Thresholds:");
            foreach (var t in r.Thresholds) sb.AppendLine($"  {ThresholdVerdict(t),-8}  {t.Rule}  (actual {t.ActualText})");
        }
        sb.AppendLine();
        foreach (var (label, value) in DetailRows(r)) sb.AppendLine($"{label}: {value}");
        sb.AppendLine();
        sb.AppendLine("Environment:");
        foreach (var (label, value) in EnvironmentRows(r)) sb.AppendLine($"  {label}: {value}");
        return sb.ToString();
    }

    private static void AppendTextTable(StringBuilder sb, string[] header, List<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(x => x[i].Length))).ToArray();
        sb.AppendLine(string.Join("  ", header.Select((h, i) => i == 0 ? h.PadRight(widths[i]) : h.PadLeft(widths[i]))));
        foreach (var row in rows) sb.AppendLine(string.Join("  ", row.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))));
    }

    private static void AppendTextReasons(StringBuilder sb, string title, IReadOnlyList<ReasonReport> reasons)
    {
        if (reasons.Count == 0)
        {
            sb.AppendLine($"{title} none");
            return;
        }
        sb.AppendLine(title);
        foreach (var e in reasons) sb.AppendLine($"  {e.Count,8}  {e.Reason}");
    }

    private static string Md(string s) => s.Replace("|", "\\|");

    public static string Markdown(RunReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Load run `{r.RunId}`").AppendLine();
        sb.AppendLine($"**{Md(r.VerdictLine)}**").AppendLine();
        foreach (var l in RunLines(r)) sb.AppendLine($"{Md(l)}  ");
        sb.AppendLine().AppendLine("## Summary").AppendLine().AppendLine("| figure | value |").AppendLine("|---|---:|");
        foreach (var f in KeyFigures(r)) sb.AppendLine($"| {f.Label} | {Md(f.Value)} |");
        sb.AppendLine().AppendLine(Md(RatesNote(r)));
        sb.AppendLine().AppendLine("## Per trading command (latency in ms, from the intended send time)").AppendLine();
        AppendMdTable(sb, TableHeader, TableRows(r));
        if (r.Dumps is { } d)
        {
            sb.AppendLine().AppendLine("## DUMPLOG (not in the trading figures; ms from its send)").AppendLine();
            AppendMdTable(sb, DumpHeader, [DumpRow(d)]);
        }
        AppendMdReasons(sb, "Failures by reason (count towards the error rate)", r.Failures);
        AppendMdReasons(sb, "Refusals by reason (domain answers, not errors)", r.Refusals);
        if (r.Thresholds.Count > 0)
        {
            sb.AppendLine().AppendLine("## Thresholds").AppendLine().AppendLine("| rule | actual | verdict |").AppendLine("|---|---:|---|");
            foreach (var t in r.Thresholds) sb.AppendLine($"| `{t.Rule}` | {Md(t.ActualText)} | {(t.Passed ? "held" : "**BREACHED**")} |");
        }
        sb.AppendLine().AppendLine("## Details").AppendLine().AppendLine("| | |").AppendLine("|---|---|");
        foreach (var (label, value) in DetailRows(r)) sb.AppendLine($"| {Md(label)} | {Md(value)} |");
        sb.AppendLine().AppendLine("## Environment").AppendLine().AppendLine("| | |").AppendLine("|---|---|");
        foreach (var (label, value) in EnvironmentRows(r)) sb.AppendLine($"| {Md(label)} | {Md(value)} |");
        return sb.ToString();
    }

    private static void AppendMdTable(StringBuilder sb, string[] header, List<string[]> rows)
    {
        sb.AppendLine("| " + string.Join(" | ", header) + " |");
        sb.AppendLine("|" + string.Concat(header.Select((_, i) => i == 0 ? "---|" : "---:|")));
        foreach (var row in rows) sb.AppendLine("| " + string.Join(" | ", row.Select(Md)) + " |");
    }

    private static void AppendMdReasons(StringBuilder sb, string title, IReadOnlyList<ReasonReport> reasons)
    {
        sb.AppendLine().AppendLine($"## {title}").AppendLine();
        if (reasons.Count == 0)
        {
            sb.AppendLine("None.");
            return;
        }
        sb.AppendLine("| count | reason |").AppendLine("|---:|---|");
        foreach (var e in reasons) sb.AppendLine($"| {e.Count} | {Md(e.Reason)} |");
    }

    public static string Csv(RunReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CsvHeader);
        var rows = r.Commands.Select(c => (c.Command, c.Count, c.Ok, c.Refused, c.Failed, c.ThroughputPerSec, c.Latency, c.Service))
            .Append(("ALL", r.Requests, r.Ok, r.Refused, r.Failed, r.ThroughputPerSec, r.Latency, r.Service));
        if (r.Dumps is { } d) rows = rows.Append(("DUMPLOG", d.Count, d.Ok, d.Refused, d.Failed, 0, d.Latency, d.Latency));
        foreach (var (name, count, ok, refused, failed, tput, l, s) in rows)
        {
            sb.AppendLine(string.Join(",", new[]
            {
                name, N(count), N(ok), N(refused), N(failed), F(tput), F(l.MinMs), F(l.MeanMs), F(l.P50Ms), F(l.P75Ms), F(l.P90Ms), F(l.P95Ms),
                F(l.P99Ms), F(l.P999Ms), F(l.MaxMs), F(s.P50Ms), F(s.P99Ms),
            }));
        }
        return sb.ToString();
    }

    public static string TimelineCsv(RunReport r)
    {
        var sb = new StringBuilder(TimelineCsvHeader).Append('\n');
        foreach (var p in r.Timeline)
        {
            sb.Append(string.Join(",", F(p.Second), F(p.IntervalSeconds), r.CountsInRates(p) ? "1" : "0", N(p.Ok), N(p.Refused), N(p.Failed),
                F(p.P50Ms), F(p.P90Ms), F(p.P99Ms), F(p.MaxMs), N(p.InFlight))).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The HTML report's charts: element id, title, what it shows, and the SVG maker.</summary>
    private static IEnumerable<(string Id, string Caption, Func<RunReport, string> Svg)> HtmlCharts(RunReport r)
    {
        yield return ("chart-throughput", "Trading answers per second by outcome (done, refused, failed). " + RatesNote(r), Charts.Throughput);
        yield return ("chart-latency-over-time",
            "Latency percentiles of the trading commands in each interval (the DUMPLOG is not in it: it has its own chart).", Charts.LatencyOverTime);
        yield return ("chart-errors-over-time",
            "Failures (the error rate) and refusals (domain answers) per second: failures that come in bursts point at a moment (a node lost, a quote server stall), refusals follow the workload.",
            Charts.ErrorsOverTime);
        yield return ("chart-in-flight",
            "Requests sent and not yet answered at the end of each interval: in the closed model at most one per user (or --concurrency); in the open model it grows when the node falls behind the rate.",
            Charts.InFlight);
        yield return ("chart-latency-distribution", r.ClosedModel
            ? "Latency by percentile (x: 90 %, 99 %, 99.9 % … spread out). One curve: in the closed model a request is sent when its user's previous answer came, so it has no intended send time apart from the actual send and latency equals service time."
            : "Latency by percentile (x: 90 %, 99 %, 99.9 % … spread out): latency counts from the intended send time of the rate's schedule, service time from the actual send; the gap between them is time spent waiting behind a late previous answer.",
            Charts.Distribution);
        if (r.Dumps is not null)
            yield return ("chart-dumplog", "Each DUMPLOG's duration (it writes the whole audit log, so it is measured apart from trading).", Charts.Dumps);
    }

    public static string Html(RunReport r)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        sb.AppendLine("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Load run " + E(r.RunId) + "</title><style>")
          .AppendLine("body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;padding:0 1em;color:#222}" +
                      "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}" +
                      "td:first-child,th:first-child{text-align:left}.breach{color:#b00;font-weight:bold}.pass{color:#070}" +
                      ".verdict{font-size:1.25em;font-weight:600;padding:.6em 1em;border-radius:6px;margin:.5em 0 1em}" +
                      ".verdict.pass{background:#e6f4e6;border:1px solid #7c7}.verdict.fail{background:#fbe9e9;border:1px solid #d77;color:#900}" +
                      ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;margin:1em 0}" +
                      ".card{border:1px solid #ddd;border-radius:6px;padding:.6em .8em;background:#fafafa}" +
                      ".card .label{font-size:.8em;color:#666;text-transform:uppercase;letter-spacing:.04em}.card .value{font-size:1.35em;font-weight:600;margin-top:.2em}" +
                      ".card.bad .value{color:#b00}.card.good .value{color:#070}.run{color:#555}.note{color:#555;font-size:.9em}" +
                      ".chart{margin:1em 0 2em}.chart p{margin:.2em 0;color:#555;font-size:.9em}table.kv td{text-align:left}")
          .AppendLine("</style></head><body>");
        sb.AppendLine($"<h1>Load run <code>{E(r.RunId)}</code></h1>");
        sb.AppendLine($"<div class=\"verdict {(r.Passed ? "pass" : "fail")}\" id=\"verdict\">{E(r.VerdictLine)}</div>");
        foreach (var l in RunLines(r)) sb.AppendLine($"<div class=\"run\">{E(l)}</div>");
        sb.AppendLine("<div class=\"cards\">");
        foreach (var f in KeyFigures(r))
        {
            var tone = f.Key switch
            {
                "verdict" => r.Passed ? " good" : " bad",
                "failed" => r.Failed > 0 ? " bad" : " good",
                "thresholds" => r.Thresholds.Count == 0 ? "" : r.ThresholdsPassed ? " good" : " bad",
                _ => "",
            };
            sb.AppendLine($"<div class=\"card{tone}\" data-figure=\"{f.Key}\"><div class=\"label\">{E(f.Label)}</div><div class=\"value\">{E(f.Value)}</div></div>");
        }
        sb.AppendLine("</div>");
        sb.AppendLine($"<p class=\"note\">Failures (not done, outcome unknown) are errors and count towards the error rate; refusals are the domain's " +
                      $"correct answers to the workload (nothing pending, no funds) and do not. {E(RatesNote(r))}</p>");
        if (r.Thresholds.Count > 0)
        {
            sb.AppendLine("<h2>Thresholds</h2><table><tr><th>rule</th><th>actual</th><th>verdict</th></tr>");
            foreach (var t in r.Thresholds)
                sb.AppendLine($"<tr><td><code>{E(t.Rule)}</code></td><td>{E(t.ActualText)}</td><td class=\"{(t.Passed ? "pass" : "breach")}\">{ThresholdVerdict(t)}</td></tr>");
            sb.AppendLine("</table>");
        }
        sb.AppendLine("<h2>Per trading command</h2><p class=\"note\">Latency in ms, from the intended send time. ALL is the trading commands; the DUMPLOG is apart, below.</p>");
        AppendHtmlTable(sb, TableHeader, TableRows(r), "commands");
        if (r.Dumps is { } d)
        {
            sb.AppendLine("<h2>DUMPLOG</h2><p class=\"note\">Not in the trading figures; ms from its send.</p>");
            AppendHtmlTable(sb, DumpHeader, [DumpRow(d)], "dumplog");
        }
        AppendHtmlReasons(sb, "Failures by reason", "Count towards the error rate.", r.Failures, "failures");
        AppendHtmlReasons(sb, "Refusals by reason", "The domain's answers to the workload; not errors.", r.Refusals, "refusals");
        sb.AppendLine("<h2>Charts</h2>");
        foreach (var (id, caption, svg) in HtmlCharts(r))
            sb.AppendLine($"<div class=\"chart\" id=\"{id}\">{SafeChart(svg, r)}<p>{E(caption)}</p></div>");
        sb.AppendLine("<h2>Details</h2><table class=\"kv\">");
        foreach (var (label, value) in DetailRows(r)) sb.AppendLine($"<tr><td>{E(label)}</td><td>{E(value)}</td></tr>");
        sb.AppendLine("</table><h2>Environment</h2><table class=\"kv\" id=\"environment\">");
        foreach (var (label, value) in EnvironmentRows(r)) sb.AppendLine($"<tr><td>{E(label)}</td><td>{E(value)}</td></tr>");
        sb.AppendLine("</table></body></html>");
        return sb.ToString();
    }

    private static void AppendHtmlTable(StringBuilder sb, string[] header, List<string[]> rows, string id)
    {
        sb.Append($"<table id=\"{id}\"><tr>");
        foreach (var h in header) sb.Append($"<th>{WebUtility.HtmlEncode(h)}</th>");
        sb.AppendLine("</tr>");
        foreach (var row in rows) sb.AppendLine("<tr>" + string.Concat(row.Select(c => $"<td>{WebUtility.HtmlEncode(c)}</td>")) + "</tr>");
        sb.AppendLine("</table>");
    }

    private static void AppendHtmlReasons(StringBuilder sb, string title, string note, IReadOnlyList<ReasonReport> reasons, string id)
    {
        sb.AppendLine($"<h2>{title}</h2><p class=\"note\">{note}</p>");
        if (reasons.Count == 0)
        {
            sb.AppendLine($"<p id=\"{id}\">None.</p>");
            return;
        }
        sb.AppendLine($"<table id=\"{id}\"><tr><th>reason</th><th>count</th></tr>");
        foreach (var e in reasons) sb.AppendLine($"<tr><td>{WebUtility.HtmlEncode(e.Reason)}</td><td>{e.Count}</td></tr>");
        sb.AppendLine("</table>");
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
