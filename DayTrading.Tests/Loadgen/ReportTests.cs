using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using DayTrading.Accounts;
using DayTrading.Loadgen.Cli;
using DayTrading.Loadgen.Metrics;
using DayTrading.Loadgen.Replay;
using DayTrading.Loadgen.Reporting;
using DayTrading.Telemetry;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Loadgen;

/// <summary>The load report: refusals apart from failures, the verdict, DUMPLOG apart, whole-second rates, equal figures in every format.</summary>
public sealed partial class ReportTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A clock the test moves by hand, for the report's time-based figures.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = TimeSpan.TicksPerDay;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => _ticks;
        public void Advance(double seconds) => _ticks += TimeSpan.FromSeconds(seconds).Ticks;
    }

    /// <summary>
    /// One user, 18 trading lines and the DUMPLOG: 10 done (N 1-10), 5 refused by the domain (N 11-15, COMMIT_SELL
    /// with no pending sell), 3 failed (N 16-18: a journal refusal, no quote, an internal error), the DUMPLOG slow.
    /// </summary>
    private static FakeEdgeServer MixedEdge() => new()
    {
        DelayFor = line => line.Contains("DUMPLOG") ? TimeSpan.FromMilliseconds(300) : null,
        ErrorFor = line => TxNum(line) switch
        {
            >= 11 and <= 15 => "no pending sell to commit",
            16 => "not done, nothing changed: the journal refused to store it (disk full)",
            17 => "quote server did not answer for ABC within 500 ms",
            18 => "internal error: no reply",
            _ => null,
        },
    };

    private static long TxNum(string line) => long.Parse(line[1..line.IndexOf(']')]);

    private static string MixedWorkload(string dir)
    {
        var lines = new List<string> { "[1] ADD,u1,1000.00" };
        for (var n = 2; n <= 10; n++) lines.Add($"[{n}] QUOTE,u1,ABC");
        for (var n = 11; n <= 15; n++) lines.Add($"[{n}] COMMIT_SELL,u1");
        for (var n = 16; n <= 18; n++) lines.Add($"[{n}] BUY,u1,ABC,100.00");
        lines.Add("[19] DUMPLOG,./testLOG");
        var path = Path.Combine(dir, "mixed.txt");
        File.WriteAllLines(path, lines);
        return path;
    }

    private static async Task<(int Exit, string Output)> Cli(params string[] args)
    {
        var output = new StringWriter();
        var exit = await LoadgenCli.BuildRoot(output).Parse(args).InvokeAsync(cancellationToken: Ct);
        return (exit, output.ToString());
    }

    private static RunReport ReadJson(string reports) =>
        JsonSerializer.Deserialize<RunReport>(File.ReadAllText(Path.Combine(reports, "report.json")), ReportWriter.Json)!;

    [Fact]
    public async Task Refusals_are_counted_apart_from_failures_and_the_error_rate_is_failures_only()
    {
        await using var edge = MixedEdge();
        using var dir = new TempDirectory();
        var reports = Path.Combine(dir.Path, "r");

        // 3 failures of 18 = 0.167 holds 0.2; counting the 5 refusals (8 of 18 = 0.44) would breach it.
        var (exit, output) = await Cli("replay", MixedWorkload(dir.Path), "--target", edge.Endpoint, "--report-dir", reports, "--no-live",
            "--max-error-rate", "0.2", "--max-retries", "0");

        Assert.Equal(ExitCodes.Ok, exit);
        var r = ReadJson(reports);
        Assert.Equal((18L, 10L, 5L, 3L), (r.Requests, r.Ok, r.Refused, r.Failed));
        Assert.Equal(3.0 / 18, r.ErrorRate, 9);
        Assert.Equal(5.0 / 18, r.RefusalRate, 9);
        Assert.Equal([new ReasonReport("COMMIT_SELL: no pending sell to commit", 5)], r.Refusals);
        Assert.Equal(3, r.Failures.Count);
        Assert.All(r.Failures, f => Assert.StartsWith("BUY: ", f.Reason));
        var sell = Assert.Single(r.Commands, c => c.Command == "COMMIT_SELL");
        Assert.Equal((5L, 0L, 5L, 0L), (sell.Count, sell.Ok, sell.Refused, sell.Failed));
        var buy = Assert.Single(r.Commands, c => c.Command == "BUY");
        Assert.Equal((3L, 0L, 0L, 3L), (buy.Count, buy.Ok, buy.Refused, buy.Failed));
        // The console says the same.
        Assert.Matches(@"\nfailures +3 \(16\.67 %\)\n", output);
        Assert.Matches(@"\nrefusals +5 \(27\.78 %\)\n", output);
        var timeline = File.ReadAllLines(Path.Combine(reports, "timeline.csv"))[1..].Select(l => l.Split(',')).ToArray();
        Assert.Equal(10, timeline.Sum(c => long.Parse(c[3])));
        Assert.Equal(5, timeline.Sum(c => long.Parse(c[4])));
        Assert.Equal(3, timeline.Sum(c => long.Parse(c[5])));
    }

    [Fact]
    public async Task The_verdict_line_names_the_thresholds_that_held_and_those_breached()
    {
        await using var edge = MixedEdge();
        using var dir = new TempDirectory();
        var workload = MixedWorkload(dir.Path);

        var pass = Path.Combine(dir.Path, "pass");
        var (exitPass, outPass) = await Cli("replay", workload, "--target", edge.Endpoint, "--report-dir", pass, "--no-live", "--max-retries", "0",
            "--threshold", "p99<30s", "--max-error-rate", "0.2");
        Assert.Equal(ExitCodes.Ok, exitPass);
        var passed = ReadJson(pass);
        Assert.True(passed.Passed);
        Assert.StartsWith("PASS: held p99<30s (actual ", passed.VerdictLine);
        Assert.Contains("error-rate<=0.2 (actual 0.1667: 3 failed of 18; 5 refused not counted)", passed.VerdictLine);
        Assert.DoesNotContain("breached", passed.VerdictLine);
        Assert.StartsWith(passed.VerdictLine, outPass.Split("\n").First(l => l.StartsWith("PASS", StringComparison.Ordinal)));
        Assert.Contains($"<div class=\"verdict pass\" id=\"verdict\">{WebUtility.HtmlEncode(passed.VerdictLine)}</div>", File.ReadAllText(Path.Combine(pass, "report.html")));

        var breach = Path.Combine(dir.Path, "breach");
        var (exitBreach, outBreach) = await Cli("replay", workload, "--target", edge.Endpoint, "--report-dir", breach, "--no-live", "--max-retries", "0",
            "--threshold", "p99<30s", "--threshold", "p50<1us", "--max-error-rate", "0.1");
        Assert.Equal(ExitCodes.ThresholdBreached, exitBreach);
        var breached = ReadJson(breach);
        Assert.False(breached.Passed);
        Assert.StartsWith("FAIL: breached p50<1us (actual ", breached.VerdictLine);
        Assert.Contains(", error-rate<=0.1 (actual 0.1667", breached.VerdictLine);
        Assert.Contains("; held p99<30s (actual ", breached.VerdictLine);
        Assert.Contains(breached.VerdictLine, outBreach);
        Assert.Contains("<div class=\"verdict fail\" id=\"verdict\">FAIL: breached", File.ReadAllText(Path.Combine(breach, "report.html")));
        Assert.StartsWith($"**{breached.VerdictLine}**", File.ReadAllLines(Path.Combine(breach, "report.md"))[2]);
    }

    [Fact]
    public async Task DUMPLOG_is_measured_apart_from_the_trading_commands()
    {
        await using var edge = MixedEdge();
        using var dir = new TempDirectory();
        var reports = Path.Combine(dir.Path, "r");
        var (exit, _) = await Cli("replay", MixedWorkload(dir.Path), "--target", edge.Endpoint, "--report-dir", reports, "--no-live", "--max-retries", "0");
        Assert.Equal(ExitCodes.Ok, exit);

        var r = ReadJson(reports);
        var d = Assert.IsType<DumpReport>(r.Dumps);
        Assert.Equal((1L, 1L, 0L, 0L), (d.Count, d.Ok, d.Refused, d.Failed));
        Assert.True(d.Latency.MinMs >= 250, $"dump took {d.Latency.MinMs} ms"); // the fake waits 300 ms (its timer may round a little down)
        // One sample: min, mean, percentiles and max are that sample (the histogram's bucket mean was below the min).
        Assert.Equal(d.Latency.MinMs, d.Latency.MeanMs, 3);
        Assert.Equal(d.Latency.MinMs, d.Latency.P50Ms);
        Assert.Equal(d.Latency.MinMs, d.Latency.MaxMs);
        Assert.Equal(d.Latency.MaxMs, Assert.Single(d.Answers).LatencyMs);
        // Not in the trading figures: no DUMPLOG row among the commands, the trading max far below the dump, 19 answered of 19.
        Assert.DoesNotContain(r.Commands, c => c.Command == "DUMPLOG");
        Assert.True(r.Latency.MaxMs < d.Latency.MinMs, $"trading max {r.Latency.MaxMs} ms, dump {d.Latency.MinMs} ms");
        Assert.Equal(18, r.Requests);
        Assert.Equal(19, r.Answered);
        Assert.True(r.TradingSeconds <= r.WallTimeSeconds - 0.25, $"trading {r.TradingSeconds} s of {r.WallTimeSeconds} s");
        Assert.Equal(18, r.Timeline.Sum(p => p.Answered));
        Assert.True(r.Timeline.All(p => p.MaxMs < d.Latency.MinMs));
        // A threshold can name it; the trading max stays below the dump.
        var limited = r.WithThresholds([Threshold.Parse("DUMPLOG:max<1ms"), Threshold.Parse(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"max<{d.Latency.MinMs}ms"))], null);
        Assert.Equal(new[] { false, true }, limited.Thresholds.Select(t => t.Passed));
    }

    [Fact]
    public void Mean_min_and_max_of_a_latency_histogram_are_exact()
    {
        var h = new LatencyHistogram();
        h.Record(1_234_567); // a DUMPLOG of 1.23 s: its HdrHistogram bucket's middle lies below the value
        Assert.Equal(1_234_567, h.Min);
        Assert.Equal(1_234_567, h.Max);
        Assert.Equal(1_234_567, h.Mean);
        Assert.Equal(1_234_567, h.Percentile(50));
        Assert.Equal(1_234_567, h.Percentile(100));
        h.Record(1_000);
        Assert.Equal(617_783.5, h.Mean);
        var s = LatencySummary.From(h);
        Assert.True(s.MinMs <= s.MeanMs && s.MeanMs <= s.MaxMs && s.P99Ms <= s.MaxMs && s.P50Ms >= s.MinMs);
    }

    [Fact]
    public void The_partial_last_second_and_the_DUMPLOG_phase_are_left_out_of_per_second_rates()
    {
        var clock = new ManualClock();
        var m = new RunMetrics(clock);
        m.Start();
        for (var second = 0; second < 2; second++)
        {
            for (var i = 0; i < 100; i++) m.Record("QUOTE", true, null, 1_000, 1_000, 0, false);
            clock.Advance(1);
            m.Tick();
        }
        clock.Advance(0.1);
        for (var i = 0; i < 10; i++) m.Record("QUOTE", true, null, 1_000, 1_000, 0, false); // the last trading answers, at 2.1 s
        clock.Advance(1);
        m.Tick(); // 2.1 … 3.1: the DUMPLOG is running
        clock.Advance(0.5);
        m.Record("DUMPLOG", true, null, 1_500_000, 1_500_000, 0, false);
        m.Stop();
        m.Tick(); // the partial last interval

        var options = new LoadOptions { Targets = [new Target("127.0.0.1", 1)], RunId = "rates" };
        var r = RunReport.Build("rates", "w", options, DateTimeOffset.UtcNow, new LoadOutcome(211, 211, 211, false, null, m.Elapsed), m);

        Assert.Equal(2.1, r.TradingSeconds, 6);
        Assert.Equal(3.6, r.WallTimeSeconds, 6);
        Assert.Equal(new RateWindow(2, 2, 0.1, 1.5, 100, 100), r.PerSecond);
        Assert.Equal(new[] { true, true, false, false }, r.Timeline.Select(r.CountsInRates));
        Assert.Equal(100, r.ThroughputPerSec); // 210 trading answers over the 2.1 s trading phase, the DUMPLOG's 1.5 s not counted
        Assert.Equal(0, r.Timeline[^1].Answered); // the DUMPLOG is in no interval
        Assert.Equal(1.5, r.Dumps!.Answers[0].LatencyMs / 1000, 6);
        Assert.Equal(2.1, r.Dumps.Answers[0].SentSecond, 6);
        Assert.Contains("Left out: the partial last interval of the trading phase (0.1 s", ReportWriter.RatesNote(r));
        Assert.Contains("and the 1.5 s after the last trading answer (the DUMPLOG)", ReportWriter.RatesNote(r));
        var csv = ReportWriter.TimelineCsv(r).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(ReportWriter.TimelineCsvHeader, csv[0]);
        Assert.Equal(new[] { "1", "1", "0", "0" }, csv[1..].Select(l => l.Split(',')[2]));
        Assert.Contains(ReportWriter.RatesNote(r), ReportWriter.Html(r).Replace("&#39;", "'"));
    }

    [Theory]
    // The node's failure reasons (RequestOutcomes.Of): OutcomeUnknown, NotDone, QuoteUnavailable, DumpFailed, Misrouted.
    [InlineData("BUY", "no answer from account u1 within 5 s; the outcome is unknown, retry with the same run id and transaction number", RefusalReason.OutcomeUnknown)]
    [InlineData("BUY", "internal error: no reply", RefusalReason.OutcomeUnknown)]
    [InlineData("BUY", "journal unavailable (No connection is active/available to service this operation: EVAL); the outcome is unknown, retry with the same run id and transaction number", RefusalReason.OutcomeUnknown)]
    [InlineData("BUY", "not done, nothing changed: the journal refused to store it (disk full)", RefusalReason.NotDone)]
    [InlineData("SELL", "the earlier outcome of transaction 7 could not be read; nothing was done, send it again", RefusalReason.NotDone)]
    [InlineData("QUOTE", "quote server did not answer for ABC within 500 ms", RefusalReason.QuoteUnavailable)]
    [InlineData("QUOTE", "quote manager restarting; no quote for ABC, try again", RefusalReason.QuoteUnavailable)]
    [InlineData("BUY", "quote for ABC has expired", RefusalReason.QuoteUnavailable)]
    [InlineData("BUY", "request for user 'a' reached account 'b'", RefusalReason.Misrouted)]
    [InlineData("DUMPLOG", "the auditor did not finish the dump within 5 min", RefusalReason.DumpFailed)]
    [InlineData("DUMPLOG", "could not write /var/dumps/x: disk full", RefusalReason.DumpFailed)]
    [InlineData("BUY", "no answer: connection lost after 5 resends", RefusalReason.NotDone)]
    [InlineData("BUY", "malformed response: [3] WHAT", RefusalReason.NotDone)]
    [InlineData("BUY", "", RefusalReason.NotDone)]
    public void Failure_texts_of_the_node_count_as_failed(string command, string reason, RefusalReason expected)
    {
        Assert.Equal(expected, AnswerClassifier.FailureReasonOf(command, reason));
        Assert.Equal(RequestOutcome.Failed, RequestOutcomes.Of(expected));
        Assert.Equal(RequestOutcome.Failed, AnswerClassifier.Classify(command, reason));
    }

    [Theory]
    [InlineData("COMMIT_SELL", "no pending sell to commit")]
    [InlineData("CANCEL_BUY", "no pending buy to cancel")]
    [InlineData("BUY", "insufficient funds: buying 3 ABC at 10.00 costs 30.00, cash is 2.00")]
    [InlineData("SELL", "insufficient shares: selling 120.50 of EZK at 12.03 needs 10 shares, 2 free")]
    [InlineData("SELL", "10.00 is less than one share of ABC at 12.03")]
    [InlineData("SET_BUY_TRIGGER", "no buy amount set for ABC: send SET_BUY_AMOUNT first")]
    [InlineData("CANCEL_SET_SELL", "no sell amount or trigger set for ABC")]
    [InlineData("BUY", "unknown user 'u9': the first command for a new user must be ADD")]
    [InlineData("ADD", "balance would exceed the system limit")]
    [InlineData("BUY", "invalid symbol 'ABCD' (1-3 letters A-Z)")]
    [InlineData("?", "unknown command 'FOO'")]
    [InlineData("BUY", "transaction 4 of run r was already used for a different request; nothing was done")]
    [InlineData("DUMPLOG", "DUMPLOG without a user is for administrators; this edge is not an admin edge")]
    [InlineData("DUMPLOG", "file name '../x' contains '..': a dump may not leave the dump directory")]
    [InlineData("DUMPLOG", "DUMPLOG filename '/etc/x' must be relative to the dump directory")]
    [InlineData("DUMPLOG", "dump id 'r:9' (run id and transaction number) was already used for a different DUMPLOG; nothing written")]
    public void Domain_and_edge_refusals_count_as_refused(string command, string reason)
    {
        Assert.Null(AnswerClassifier.FailureReasonOf(command, reason));
        Assert.Equal(RequestOutcome.Refused, AnswerClassifier.Classify(command, reason));
    }

    [GeneratedRegex("""<div class="card[^"]*" data-figure="(?<key>[a-z0-9]+)"><div class="label">(?<label>[^<]*)</div><div class="value">(?<value>[^<]*)</div></div>""")]
    private static partial Regex HtmlCard();

    [Fact]
    public async Task Every_format_carries_the_same_figures()
    {
        await using var edge = MixedEdge();
        using var dir = new TempDirectory();
        var reports = Path.Combine(dir.Path, "r");
        var (exit, output) = await Cli("replay", MixedWorkload(dir.Path), "--target", edge.Endpoint, "--report-dir", reports, "--no-live", "--max-retries", "0",
            "--threshold", "p99<30s", "--max-error-rate", "0.2", "--node-options", "--shards 32 --journal postgres", "--commit", "abc123def456");
        Assert.Equal(ExitCodes.Ok, exit);

        var json = ReadJson(reports);
        var expected = ReportWriter.KeyFigures(json);
        Assert.Equal(["verdict", "throughput", "p50", "p99", "requests", "ok", "failed", "refused", "thresholds", "dumplog"], expected.Select(f => f.Key));
        Assert.Equal("PASS", expected[0].Value);
        Assert.Equal("18", expected.Single(f => f.Key == "requests").Value);
        Assert.Equal("3 (16.67 %)", expected.Single(f => f.Key == "failed").Value);
        Assert.Equal("5 (27.78 %)", expected.Single(f => f.Key == "refused").Value);
        Assert.Equal("2 of 2 held", expected.Single(f => f.Key == "thresholds").Value);

        var html = File.ReadAllText(Path.Combine(reports, "report.html"));
        var cards = HtmlCard().Matches(html).Select(m => new Figure(m.Groups["key"].Value, WebUtility.HtmlDecode(m.Groups["label"].Value), WebUtility.HtmlDecode(m.Groups["value"].Value)));
        Assert.Equal(expected, cards);

        var md = File.ReadAllLines(Path.Combine(reports, "report.md"));
        var summary = md.SkipWhile(l => l != "## Summary").Skip(4).TakeWhile(l => l.StartsWith('|')).Select(l => l.Trim('|').Split(" | ").Select(c => c.Trim()).ToArray());
        Assert.Equal(expected.Select(f => (f.Label, f.Value)), summary.Select(c => (c[0], c[1])));

        var text = File.ReadAllLines(Path.Combine(reports, "report.txt"));
        foreach (var f in expected.Skip(1)) Assert.Contains(text, l => l.StartsWith(f.Label + "  ", StringComparison.Ordinal) && l.EndsWith("  " + f.Value, StringComparison.Ordinal));
        Assert.Equal(json.VerdictLine, text[0]);
        Assert.Contains(json.VerdictLine, output);

        // The CSV's ALL and DUMPLOG rows hold the JSON's counts and latencies.
        var csv = File.ReadAllLines(Path.Combine(reports, "report.csv")).Select(l => l.Split(',')).ToDictionary(c => c[0]);
        string F(double v) => v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(["ALL", "18", "10", "5", "3", F(json.ThroughputPerSec), F(json.Latency.MinMs), F(json.Latency.MeanMs), F(json.Latency.P50Ms)], csv["ALL"][..9]);
        Assert.Equal(["DUMPLOG", "1", "1", "0", "0"], csv["DUMPLOG"][..5]);
        Assert.Equal(F(json.Dumps!.Latency.MaxMs), csv["DUMPLOG"][14]);
        foreach (var c in json.Commands) Assert.Equal([c.Command, c.Count.ToString(), c.Ok.ToString(), c.Refused.ToString(), c.Failed.ToString()], csv[c.Command][..5]);

        // The environment block.
        var env = json.Environment;
        Assert.Equal("abc123def456", env.Commit);
        Assert.Equal("--shards 32 --journal postgres", env.NodeOptions);
        Assert.Equal(Environment.ProcessorCount, env.Cores);
        Assert.True(env.MemoryBytes > 0);
        Assert.Equal(Environment.MachineName, env.Machine);
        Assert.Contains(env.LoadgenOptions, s => s.Name == "max error rate" && s.Value == "0.2 (failures only)");
        foreach (var shown in new[] { "abc123def456", "--shards 32 --journal postgres", env.Machine, env.Os, "closed (concurrency all users)" })
        {
            Assert.Contains(WebUtility.HtmlEncode(shown), html);
            Assert.Contains(shown, string.Join("\n", md));
            Assert.Contains(shown, string.Join("\n", text));
        }
    }

    [Fact]
    public async Task The_closed_model_draws_one_distribution_curve_and_the_open_model_two()
    {
        await using var edge = MixedEdge();
        using var dir = new TempDirectory();
        var workload = MixedWorkload(dir.Path);
        var closed = Path.Combine(dir.Path, "closed");
        var open = Path.Combine(dir.Path, "open");
        await Cli("replay", workload, "--target", edge.Endpoint, "--report-dir", closed, "--no-live", "--max-retries", "0");
        await Cli("replay", workload, "--target", edge.Endpoint, "--report-dir", open, "--no-live", "--max-retries", "0", "--rate", "200/s");

        var closedHtml = File.ReadAllText(Path.Combine(closed, "report.html"));
        Assert.Contains("latency (= service time: closed model)", closedHtml);
        Assert.DoesNotContain("service time (from actual send)</text>", closedHtml);
        Assert.Contains("latency equals service time", closedHtml);
        var openHtml = File.ReadAllText(Path.Combine(open, "report.html"));
        Assert.Contains("latency (from intended send)", openHtml);
        Assert.Contains("service time (from actual send)", openHtml);
        Assert.True(ReadJson(closed).ClosedModel);
        Assert.False(ReadJson(open).ClosedModel);
    }
}
