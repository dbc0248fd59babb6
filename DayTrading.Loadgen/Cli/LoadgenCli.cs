using System.CommandLine;
using System.Globalization;
using DayTrading.Loadgen.Generation;
using DayTrading.Loadgen.Metrics;
using DayTrading.Loadgen.Replay;
using DayTrading.Loadgen.Reporting;
using DayTrading.Loadgen.Workloads;

namespace DayTrading.Loadgen.Cli;

/// <summary>Exit codes of the Loadgen commands.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The run failed: bad arguments, no target reachable, requests left unanswered, I/O error.</summary>
    public const int Failed = 1;
    /// <summary>The run completed but a threshold (or the error-rate limit) was breached.</summary>
    public const int ThresholdBreached = 2;
}

/// <summary>The command line: <c>replay</c>, <c>generate</c> and (from JournalBench) <c>journal-bench</c>.</summary>
public static class LoadgenCli
{
    public static RootCommand BuildRoot(TextWriter? output = null)
    {
        var root = new RootCommand("DayTrading load generator: replay course workloads against TCP edges, generate synthetic ones");
        root.Subcommands.Add(ReplayCommand(output));
        root.Subcommands.Add(GenerateCommand(output));
        root.Subcommands.Add(JournalBench.JournalBenchCommand.Create());
        return root;
    }

    public static Command ReplayCommand(TextWriter? output = null)
    {
        var workload = new Argument<FileInfo>("workload") { Description = "workload file in the course format ([N] CMD,args per line)" };
        var target = new Option<string>("--target") { Description = "host:port[,host:port…] of the TCP edges", Required = true };
        var connections = new Option<int>("--connections") { Description = "connections per target", DefaultValueFactory = _ => 2 };
        var runId = new Option<string?>("--run-id") { Description = "run id sent with #RUN (makes resends idempotent); default: generated" };
        var quiet = new Option<bool>("--quiet") { Description = "send #QUIET,on: successful answers carry no body" };
        var concurrency = new Option<int?>("--concurrency") { Description = "closed model: at most this many users with a request in flight" };
        var rate = new Option<string?>("--rate") { Description = "open model: requests per second across users, e.g. 500 or 500/s (per-user order kept)" };
        var ramp = new Option<string?>("--ramp") { Description = "open model: rate climbs from 0 over this time; closed: users start spread over it (e.g. 10s)" };
        var warmup = new Option<string?>("--warmup") { Description = "leave results of this first part of the run out of the report (e.g. 5s)" };
        var duration = new Option<string?>("--duration") { Description = "stop sending new requests after this time (e.g. 2m)" };
        var retries = new Option<int>("--max-retries") { Description = "resends of one request after broken connections", DefaultValueFactory = _ => 5 };
        var skipDump = new Option<bool>("--skip-dumplog") { Description = "do not send the workload's final admin DUMPLOG" };
        var reportDir = new Option<string?>("--report-dir") { Description = "where the reports go (default ./reports/<run-id>/)" };
        var threshold = new Option<string[]>("--threshold") { Description = "[CMD:]metric<value[us|ms|s], repeatable; metric p50 p75 p90 p95 p99 p999 max mean min", AllowMultipleArgumentsPerToken = false };
        var maxErr = new Option<double?>("--max-error-rate")
        {
            Description = "breach when failures/trading requests exceed this (e.g. 0.01); refusals by the domain (nothing pending, no funds) are not errors",
        };
        var nodeOptions = new Option<string?>("--node-options") { Description = "how the node under test was started (free text, shown in the report's environment)" };
        var commit = new Option<string?>("--commit") { Description = "commit of the node under test for the report (default: git rev-parse HEAD of the working directory)" };
        var noLive = new Option<bool>("--no-live") { Description = "plain progress lines even on a terminal" };
        var logInterval = new Option<string?>("--log-interval") { Description = "plain progress line interval when not on a terminal (default 5s)" };

        var cmd = new Command("replay", "Replay a workload: users in order and concurrent, DUMPLOG last, measured with HdrHistogram; exit 0 ok, 1 failed run, 2 threshold breached")
        {
            workload, target, connections, runId, quiet, concurrency, rate, ramp, warmup, duration, retries, skipDump, reportDir, threshold, maxErr, noLive, logInterval, nodeOptions, commit,
        };
        cmd.SetAction(async (pr, ct) =>
        {
            var o = output ?? Console.Out;
            try
            {
                var settings = new ReplaySettings(
                    pr.GetValue(workload)!.FullName,
                    Target.ParseList(pr.GetValue(target)!),
                    pr.GetValue(connections),
                    pr.GetValue(runId) ?? NewRunId(),
                    pr.GetValue(quiet),
                    pr.GetValue(concurrency),
                    ParseRate(pr.GetValue(rate)),
                    ParseDuration(pr.GetValue(ramp)) ?? TimeSpan.Zero,
                    ParseDuration(pr.GetValue(warmup)) ?? TimeSpan.Zero,
                    ParseDuration(pr.GetValue(duration)),
                    pr.GetValue(retries),
                    pr.GetValue(skipDump),
                    pr.GetValue(reportDir),
                    (pr.GetValue(threshold) ?? []).Select(Threshold.Parse).ToArray(),
                    pr.GetValue(maxErr),
                    !pr.GetValue(noLive),
                    ParseDuration(pr.GetValue(logInterval)) ?? TimeSpan.FromSeconds(5),
                    pr.GetValue(nodeOptions),
                    pr.GetValue(commit));
                return await RunReplayAsync(settings, o, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or FileNotFoundException)
            {
                await Console.Error.WriteLineAsync($"replay: {ex.Message}").ConfigureAwait(false);
                return ExitCodes.Failed;
            }
        });
        return cmd;
    }

    public static Command GenerateCommand(TextWriter? output = null)
    {
        var users = new Option<int>("--users") { Description = "number of users", DefaultValueFactory = _ => 10 };
        var commands = new Option<long>("--commands") { Description = "number of lines, the final DUMPLOG included", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<int>("--seed") { Description = "random seed (same seed, same file)", DefaultValueFactory = _ => 1 };
        var symbols = new Option<int>("--symbols") { Description = "distinct stock symbols (1-17576; the course file has 50)", DefaultValueFactory = _ => CourseMix.SymbolCount };
        var file = new Option<FileInfo>("--output", "-o") { Description = "file to write", Required = true };
        var cmd = new Command("generate", "Write a synthetic workload with the course files' command mix and per-user sequences") { users, commands, seed, symbols, file };
        cmd.SetAction((pr, _) =>
        {
            var o = output ?? Console.Out;
            try
            {
                var path = pr.GetValue(file)!.FullName;
                var sw = System.Diagnostics.Stopwatch.StartNew();
                WorkloadGenerator.WriteFile(path, new GeneratorOptions(pr.GetValue(users), pr.GetValue(commands), pr.GetValue(seed), Symbols: pr.GetValue(symbols)));
                o.WriteLine($"wrote {pr.GetValue(commands)} lines for {pr.GetValue(users)} users (seed {pr.GetValue(seed)}) to {path} in {sw.Elapsed.TotalSeconds:0.00} s");
                return Task.FromResult(ExitCodes.Ok);
            }
            catch (Exception ex) when (ex is ArgumentException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"generate: {ex.Message}");
                return Task.FromResult(ExitCodes.Failed);
            }
        });
        return cmd;
    }

    public sealed record ReplaySettings(
        string Workload, IReadOnlyList<Target> Targets, int Connections, string RunId, bool Quiet, int? Concurrency, double? Rate,
        TimeSpan Ramp, TimeSpan Warmup, TimeSpan? Duration, int MaxRetries, bool SkipDumpLog, string? ReportDir,
        IReadOnlyList<Threshold> Thresholds, double? MaxErrorRate, bool Live, TimeSpan LogInterval, string? NodeOptions = null, string? Commit = null);

    public static async Task<int> RunReplayAsync(ReplaySettings s, TextWriter output, CancellationToken ct)
    {
        var commands = WorkloadReader.ReadFile(s.Workload);
        var options = new LoadOptions
        {
            Targets = s.Targets, ConnectionsPerTarget = s.Connections, RunId = s.RunId, Quiet = s.Quiet, Concurrency = s.Concurrency,
            Rate = s.Rate, Ramp = s.Ramp, Warmup = s.Warmup, Duration = s.Duration, MaxRetries = s.MaxRetries, SkipAdminDump = s.SkipDumpLog,
        };
        var metrics = new RunMetrics();
        var planned = commands.Count - (s.SkipDumpLog ? commands.Count(c => c.IsAdminDump) : 0);
        output.WriteLine($"replay {Path.GetFileName(s.Workload)}: {planned} requests, run id {s.RunId}, targets {string.Join(", ", s.Targets)} " +
                         $"({s.Connections} connection(s) each), {(s.Rate is { } r ? $"open model {r:0.##}/s" : "closed model")}");
        var runner = new LoadRunner(options, metrics, msg => output.WriteLine($"  {msg}"));
        var started = DateTimeOffset.UtcNow;
        var console = new LiveConsole(metrics, planned, s.Live, s.LogInterval, ReferenceEquals(output, Console.Out) ? null : output);
        var outcome = await console.RunAsync(runner.RunAsync(commands, ct)).ConfigureAwait(false);

        var settings = RunReport.OptionsOf(options, Path.GetFileName(s.Workload));
        settings.Add(new Setting("thresholds", s.Thresholds.Count == 0 ? "none" : string.Join(", ", s.Thresholds.Select(t => t.Text))));
        settings.Add(new Setting("max error rate", s.MaxErrorRate is { } m ? m.ToString("0.####", CultureInfo.InvariantCulture) + " (failures only)" : "none"));
        var environment = RunEnvironment.Capture(s.Commit ?? RunEnvironment.GitCommitOf(Directory.GetCurrentDirectory()), s.NodeOptions, settings);
        var report = RunReport.Build(s.RunId, Path.GetFileName(s.Workload), options, started, outcome, metrics, environment)
            .WithThresholds(s.Thresholds, s.MaxErrorRate);
        var dir = s.ReportDir ?? Path.Combine("reports", s.RunId);
        var files = ReportWriter.WriteAll(report, dir);
        output.WriteLine();
        output.Write(ReportWriter.Text(report));
        output.WriteLine($"reports: {Path.GetFullPath(dir)} ({string.Join(", ", files.Select(Path.GetFileName))})");

        if (report.RunProblem is { } problem)
        {
            output.WriteLine($"FAILED: {problem}");
            return ExitCodes.Failed;
        }
        var breaches = report.Thresholds.Where(t => !t.Passed).ToArray();
        if (breaches.Length > 0)
        {
            output.WriteLine($"THRESHOLDS BREACHED ({breaches.Length}):");
            foreach (var b in breaches) output.WriteLine($"  {b.Rule}: actual {b.ActualText}");
            return ExitCodes.ThresholdBreached;
        }
        return ExitCodes.Ok;
    }

    public static string NewRunId() => $"lg-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary><c>10s</c>, <c>500ms</c>, <c>2m</c>, <c>1h</c>, or a plain number of seconds.</summary>
    public static TimeSpan? ParseDuration(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var t = text.Trim().ToLowerInvariant();
        (string suffix, double factor)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, factor) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0)
                return TimeSpan.FromSeconds(v * factor);
        }
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var secs) && secs >= 0) return TimeSpan.FromSeconds(secs);
        throw new FormatException($"'{text}' is not a duration (e.g. 500ms, 10s, 2m)");
    }

    /// <summary><c>500</c> or <c>500/s</c>.</summary>
    public static double? ParseRate(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var t = text.Trim().ToLowerInvariant();
        if (t.EndsWith("/s", StringComparison.Ordinal)) t = t[..^2];
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) && r > 0) return r;
        throw new FormatException($"'{text}' is not a rate (e.g. 500 or 500/s)");
    }
}
