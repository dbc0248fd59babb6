using System.Collections.Concurrent;
using System.Text.Json;
using DayTrading.Loadgen.Cli;
using DayTrading.Loadgen.Client;
using DayTrading.Loadgen.Generation;
using DayTrading.Loadgen.Metrics;
using DayTrading.Loadgen.Replay;
using DayTrading.Loadgen.Reporting;
using DayTrading.Loadgen.Workloads;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Loadgen;

public sealed class ReplayTests
{
    private static IReadOnlyList<WorkloadCommand> Workload(int users, int lines, int seed = 5) =>
        WorkloadReader.Parse(WorkloadGenerator.Generate(new GeneratorOptions(users, lines, seed)));

    private static LoadOptions Options(params FakeEdgeServer[] servers) => new()
    {
        Targets = servers.Select(s => new Target("127.0.0.1", s.Port)).ToArray(),
        RunId = "test-run",
        ConnectionsPerTarget = 2,
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Keeps_per_user_order_under_concurrency_and_sends_DUMPLOG_last()
    {
        await using var a = new FakeEdgeServer { Delay = TimeSpan.FromMilliseconds(1) };
        await using var b = new FakeEdgeServer();
        var commands = Workload(20, 3_000);
        var answers = new ConcurrentBag<(WorkloadCommand, EdgeResponse)>();
        var runner = new LoadRunner(Options(a, b) with { Concurrency = 8 }, new RunMetrics()) { OnAnswer = (c, r, _) => answers.Add((c, r)) };

        var outcome = await runner.RunAsync(commands, Ct);

        Assert.Null(outcome.FatalError);
        Assert.Equal(commands.Count, outcome.Answered);
        Assert.Equal(commands.Select(c => c.TxNum).Order(), answers.Select(x => x.Item2.TxNum).Order());
        var received = a.ReceivedLines.Concat(b.ReceivedLines).ToList();
        Assert.True(a.ReceivedLines.Count > 0 && b.ReceivedLines.Count > 0, "both targets get users");
        Assert.All(received, r => Assert.Equal("test-run", r.RunId));
        // Per user: the servers saw the user's commands in file order, each after the previous one was answered.
        var answeredAt = a.AnsweredLines.Concat(b.AnsweredLines).Where(x => x.N is not null).ToDictionary(x => x.N!.Value, x => x.At);
        foreach (var user in commands.Where(c => !c.IsAdminDump).GroupBy(c => c.UserId))
        {
            var expected = user.Select(c => c.TxNum!.Value).ToList();
            var seen = received.Where(r => r.Line.Contains($",{user.Key}")).OrderBy(r => r.At).ThenBy(r => r.Seq).Select(r => r.N!.Value).ToList();
            Assert.Equal(expected, seen);
        }
        // DUMPLOG: received after every other request was answered.
        var dump = Assert.Single(received, r => r.Line.Contains("DUMPLOG"));
        Assert.All(answeredAt.Where(x => x.Key != dump.N), x => Assert.True(x.Value <= dump.At));
    }

    [Fact]
    public async Task A_dying_target_fails_over_resending_unanswered_requests_with_the_same_N()
    {
        await using var dying = new FakeEdgeServer { Delay = TimeSpan.FromMilliseconds(2), DieAfter = 150 };
        await using var healthy = new FakeEdgeServer { Delay = TimeSpan.FromMilliseconds(1) };
        var commands = Workload(12, 800);
        var answers = new ConcurrentDictionary<long, int>();
        var metrics = new RunMetrics();
        var runner = new LoadRunner(Options(dying, healthy), metrics, _ => { })
        {
            OnAnswer = (_, r, _) => answers.AddOrUpdate(r.TxNum!.Value, 1, (_, n) => n + 1),
        };

        var outcome = await runner.RunAsync(commands, Ct);

        Assert.Null(outcome.FatalError);
        Assert.True(dying.IsDead);
        // Every line answered exactly once (for the client).
        Assert.Equal(commands.Count, answers.Count);
        Assert.All(answers, kv => Assert.Equal(1, kv.Value));
        Assert.Equal(commands.Count, metrics.Overall.Ok + metrics.Dumps.Ok); // the DUMPLOG is counted apart
        // What the dying target received but never answered was resent, same N, to the other target, same run id.
        var unanswered = dying.ReceivedLines.Select(r => r.N!.Value).Except(dying.AnsweredLines.Where(x => x.N is not null).Select(x => x.N!.Value)).ToList();
        Assert.NotEmpty(unanswered);
        var healthyNs = healthy.ReceivedLines.Select(r => r.N!.Value).ToHashSet();
        Assert.All(unanswered, n => Assert.Contains(n, healthyNs));
        Assert.All(healthy.ReceivedLines, r => Assert.Equal("test-run", r.RunId));
        Assert.True(metrics.Retries >= unanswered.Count);
    }

    [Fact]
    public async Task All_targets_gone_is_a_clear_failure()
    {
        await using var a = new FakeEdgeServer { DieAfter = 30 };
        await using var b = new FakeEdgeServer { DieAfter = 30 };
        var outcome = await new LoadRunner(Options(a, b), new RunMetrics(), _ => { }).RunAsync(Workload(5, 500), Ct);
        Assert.NotNull(outcome.FatalError);
        Assert.Contains("unreachable", outcome.FatalError);
        Assert.True(outcome.Answered < 500);
    }

    [Fact]
    public async Task Open_model_against_a_slow_server_reports_lateness_instead_of_hiding_it()
    {
        // Capacity 1 request / 15 ms (≈66/s); asked for 200/s: requests fall behind their schedule.
        await using var slow = new FakeEdgeServer { Delay = TimeSpan.FromMilliseconds(15), Serial = true };
        var commands = Workload(4, 61);
        var metrics = new RunMetrics();
        var options = Options(slow) with { Rate = 200 };
        var outcome = await new LoadRunner(options, metrics).RunAsync(commands, Ct);
        var report = RunReport.Build("slow", "gen", options, DateTimeOffset.UtcNow, outcome, metrics);

        Assert.Null(outcome.FatalError);
        Assert.Equal(60, report.Ok);
        Assert.Equal(1, report.Dumps?.Ok); // the 61st line, counted apart
        Assert.True(report.Service.P50Ms >= 14, $"service p50 {report.Service.P50Ms}");
        Assert.True(report.LateRequests > 0);
        Assert.True(report.Latency.P99Ms > report.Service.P99Ms, $"latency p99 {report.Latency.P99Ms} vs service p99 {report.Service.P99Ms}");
        Assert.True(report.Latency.MaxMs > report.Service.MaxMs + 100, $"latency max {report.Latency.MaxMs} vs service max {report.Service.MaxMs}");
        Assert.True(report.Lateness.MaxMs > 100, $"lateness max {report.Lateness.MaxMs}");
        // Never sent before its due time: latency (from the due time) is never below service time (from the send).
        Assert.True(report.Latency.MinMs >= report.Service.MinMs, $"latency min {report.Latency.MinMs} vs service min {report.Service.MinMs}");
    }

    [Fact]
    public void Open_model_schedule_is_constant_rate_after_a_linear_ramp()
    {
        Assert.Equal(1.0, LoadRunner.Schedule(100, 100, 0), 6);
        // Ramp 10 s to 100/s: 500 requests during the ramp, then 100/s.
        Assert.Equal(10.0, LoadRunner.Schedule(500, 100, 10), 6);
        Assert.Equal(11.0, LoadRunner.Schedule(600, 100, 10), 6);
        Assert.Equal(Math.Sqrt(2 * 10 * 125 / 100.0), LoadRunner.Schedule(125, 100, 10), 6);
    }

    [Fact]
    public void Error_reasons_group_without_their_numbers()
    {
        Assert.Equal(RunMetrics.NormalizeReason("insufficient funds: need 12.50, have 3.00"), RunMetrics.NormalizeReason("insufficient funds: need 700.01, have 0.99"));
        Assert.Equal("unknown command '…'", RunMetrics.NormalizeReason("unknown command 'FOO'"));
        Assert.Equal("insufficient shares: selling # of SYM at # needs # shares, # free",
            RunMetrics.NormalizeReason("insufficient shares: selling 120.50 of EZK at 12.03 needs 10 shares, 2 free"));
    }

    [Theory]
    [InlineData("insufficient shares: selling 120.50 of EZK at 12.03 needs 10 shares, 2 free")]
    [InlineData("no sell amount or trigger set for ABC")]
    [InlineData("'12x' is not an amount (digits with at most two decimals)")]
    [InlineData("need -5 and +7, 1,000.50 or 3.; 4.x, 1.2.3")]
    [InlineData("of ABCD of A1 of AB. proof ABC (in Z) on XY_ for Q, join AB")]
    [InlineData("'unterminated quote of ABC")]
    [InlineData("'' and 'a' 'b of C' of '' of A of B")]
    [InlineData("  padded 7 of X  ")]
    [InlineData("u12 of ü A, of\u00e9 AB, of A\u00e9")]
    [InlineData("")]
    [InlineData("   ")]
    public void Error_reasons_group_exactly_as_the_reference_regexes_say(string reason)
    {
        // The grouping rules as regexes (the normalizer implements them without one).
        var expected = string.IsNullOrWhiteSpace(reason) ? "(no reason)" : System.Text.RegularExpressions.Regex.Replace(
            System.Text.RegularExpressions.Regex.Replace(System.Text.RegularExpressions.Regex.Replace(reason, @"'[^']*'", "'…'"),
                @"[-+]?\d+(?:[.,]\d+)*", "#"),
            @"(?<=\b(?:of|for|in|on) )[A-Z]{1,3}\b", "SYM").Trim();
        Assert.Equal(expected, RunMetrics.NormalizeReason(reason));
    }

    [Fact]
    public void Refusals_and_failures_are_counted_apart_by_command_and_grouped_reason()
    {
        var m = new RunMetrics();
        m.Record("SELL", false, "insufficient shares: selling 1.00 of ABC at 2.00 needs 1 shares, 0 free", 1, 1, 0, false);
        m.Record("SELL", false, "insufficient shares: selling 9.50 of XY at 3.00 needs 4 shares, 1 free", 1, 1, 0, false);
        m.Record("BUY", false, "insufficient shares: selling 9.50 of XY at 3.00 needs 4 shares, 1 free", 1, 1, 0, false);
        m.Record("BUY", true, null, 1, 1, 0, false);
        m.Record("BUY", false, "quote server did not answer for ABC within 500 ms", 1, 1, 0, false);
        m.RecordLost("BUY", "connection lost after 5 resends");
        Assert.Equal(
            [("SELL: insufficient shares: selling # of SYM at # needs # shares, # free", 2L),
             ("BUY: insufficient shares: selling # of SYM at # needs # shares, # free", 1L)],
            m.Refusals);
        Assert.Equal([("BUY: no answer: connection lost after # resends", 1L), ("BUY: quote server did not answer for SYM within # ms", 1L)], m.Failures);
        Assert.Equal((1L, 3L, 2L), (m.Overall.Ok, m.Overall.Refused, m.Overall.Failed));
    }

    [Fact]
    public void Thresholds_parse()
    {
        var t = Threshold.Parse("BUY:p99<20ms");
        Assert.Equal(("BUY", "p99", "<", 20.0), (t.Command, t.Metric, t.Operator, t.LimitMs));
        Assert.Equal(1500, Threshold.Parse("max<=1.5s").LimitMs);
        Assert.Equal(0.5, Threshold.Parse("p999 < 500us").LimitMs);
        Assert.Throws<FormatException>(() => Threshold.Parse("p42<1ms"));
        Assert.Throws<FormatException>(() => Threshold.Parse("fast"));
    }

    private static async Task<(int Exit, string Output)> Cli(params string[] args)
    {
        var output = new StringWriter();
        var exit = await LoadgenCli.BuildRoot(output).Parse(args).InvokeAsync(cancellationToken: Ct);
        return (exit, output.ToString());
    }

    [Fact]
    public async Task Replay_writes_every_report_format()
    {
        await using var server = new FakeEdgeServer
        {
            Delay = TimeSpan.FromMilliseconds(1),
            ErrorFor = line => line.Contains("CANCEL_BUY") ? $"no pending buy (n={line.Length})" : null,
        };
        using var dir = new TempDirectory();
        var workload = Path.Combine(dir.Path, "w.txt");
        WorkloadGenerator.WriteFile(workload, new GeneratorOptions(5, 400, 9));
        var reports = Path.Combine(dir.Path, "reports");

        var (exit, output) = await Cli("replay", workload, "--target", server.Endpoint, "--run-id", "rep1", "--report-dir", reports, "--quiet");

        Assert.Equal(ExitCodes.Ok, exit);
        Assert.Contains("run rep1", output);
        var report = JsonSerializer.Deserialize<RunReport>(File.ReadAllText(Path.Combine(reports, "report.json")), ReportWriter.Json)!;
        Assert.Equal("rep1", report.RunId);
        // 399 trading requests and the final DUMPLOG, counted apart.
        Assert.Equal(399, report.Requests);
        Assert.Equal(399, report.Ok + report.Refused + report.Failed);
        Assert.Equal(1, report.Dumps?.Count);
        Assert.True(report.Refused > 0);
        Assert.Equal(0, report.Failed);
        Assert.Empty(report.Failures);
        var refusal = Assert.Single(report.Refusals);
        Assert.Equal("CANCEL_BUY: no pending buy (n=#)", refusal.Reason);
        Assert.Equal(report.Refused, refusal.Count);
        var csv = File.ReadAllLines(Path.Combine(reports, "report.csv"));
        Assert.Equal(ReportWriter.CsvHeader, csv[0]);
        Assert.Equal(report.Commands.Count + 2, csv.Length - 1);
        Assert.StartsWith("ALL,399,", csv[^2]);
        Assert.StartsWith("DUMPLOG,1,1,0,0,", csv[^1]);
        var html = File.ReadAllText(Path.Combine(reports, "report.html"));
        foreach (var id in new[] { "chart-throughput", "chart-latency-over-time", "chart-errors-over-time", "chart-in-flight", "chart-latency-distribution", "chart-dumplog" })
            Assert.Contains($"id=\"{id}\"><svg", html);
        Assert.DoesNotContain("chart unavailable", html);
        Assert.Contains("| ALL | 399 |", File.ReadAllText(Path.Combine(reports, "report.md")));
        Assert.Contains("p99.9", File.ReadAllText(Path.Combine(reports, "report.txt")));
        Assert.True(File.Exists(Path.Combine(reports, "timeline.csv")));
        Assert.Contains(server.Directives, d => d.Equals("#QUIET,on", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_breached_threshold_exits_2_and_lists_each_breach()
    {
        await using var server = new FakeEdgeServer { Delay = TimeSpan.FromMilliseconds(5) };
        using var dir = new TempDirectory();
        var workload = Path.Combine(dir.Path, "w.txt");
        WorkloadGenerator.WriteFile(workload, new GeneratorOptions(3, 60, 2));

        var (exit, output) = await Cli("replay", workload, "--target", server.Endpoint, "--report-dir", Path.Combine(dir.Path, "r1"),
            "--threshold", "p99<1ms", "--threshold", "BUY:max<2ms", "--threshold", "p50<10s", "--max-error-rate", "0.5");
        Assert.Equal(ExitCodes.ThresholdBreached, exit);
        Assert.Contains("THRESHOLDS BREACHED (2)", output);
        Assert.Contains("p99<1ms: actual", output);
        Assert.Contains("BUY:max<2ms: actual", output);

        var (exitOk, _) = await Cli("replay", workload, "--target", server.Endpoint, "--report-dir", Path.Combine(dir.Path, "r2"),
            "--threshold", "p99<30s", "--max-error-rate", "0");
        Assert.Equal(ExitCodes.Ok, exitOk);
    }

    [Fact]
    public async Task No_reachable_target_exits_1()
    {
        using var dir = new TempDirectory();
        var workload = Path.Combine(dir.Path, "w.txt");
        WorkloadGenerator.WriteFile(workload, new GeneratorOptions(2, 20, 2));
        int port;
        await using (var gone = new FakeEdgeServer()) port = gone.Port;
        var (exit, output) = await Cli("replay", workload, "--target", $"127.0.0.1:{port}", "--report-dir", Path.Combine(dir.Path, "r"));
        Assert.Equal(ExitCodes.Failed, exit);
        Assert.Contains("all targets are unreachable", output);
    }

    [SharedDataFact]
    public async Task Replays_the_course_1user_workload()
    {
        await using var server = new FakeEdgeServer();
        var commands = WorkloadReader.ReadFile(SharedData.Workload("1userWorkLoad"));
        var outcome = await new LoadRunner(Options(server), new RunMetrics()).RunAsync(commands, Ct);
        Assert.Equal(commands.Count, outcome.Answered);
        Assert.Contains("DUMPLOG", server.ReceivedLines.OrderBy(r => r.Seq).Last().Line);
    }
}
