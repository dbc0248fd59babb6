using DayTrading.Loadgen.Metrics;
using DayTrading.Loadgen.Replay;

namespace DayTrading.Loadgen.Reporting;

/// <summary>Latency figures in milliseconds.</summary>
public sealed record LatencySummary(double MinMs, double MeanMs, double P50Ms, double P75Ms, double P90Ms, double P95Ms, double P99Ms, double P999Ms, double MaxMs)
{
    public static LatencySummary From(LatencyHistogram h) => new(
        h.Min / 1000.0, Math.Round(h.Mean / 1000.0, 3), h.Percentile(50) / 1000.0, h.Percentile(75) / 1000.0, h.Percentile(90) / 1000.0,
        h.Percentile(95) / 1000.0, h.Percentile(99) / 1000.0, h.Percentile(99.9) / 1000.0, h.Max / 1000.0);

    public double Get(string metric) => metric switch
    {
        "min" => MinMs, "mean" => MeanMs, "p50" => P50Ms, "p75" => P75Ms, "p90" => P90Ms, "p95" => P95Ms, "p99" => P99Ms,
        "p999" => P999Ms, "max" => MaxMs,
        _ => throw new ArgumentException($"unknown metric {metric}"),
    };
}

public sealed record CommandReport(string Command, long Count, long Ok, long Fail, double ThroughputPerSec, LatencySummary Latency, LatencySummary Service);

public sealed record ErrorReport(string Reason, long Count);

/// <summary>One point of the latency distribution (percentile → latency from the intended send and service time, ms).</summary>
public sealed record DistributionPoint(double Percentile, double LatencyMs, double ServiceMs);

/// <summary>Everything a run reports; serialized as report.json, rendered as TXT/MD/CSV/HTML.</summary>
public sealed record RunReport
{
    public required string RunId { get; init; }
    public required string Workload { get; init; }
    public required IReadOnlyList<string> Targets { get; init; }
    public required string Model { get; init; }
    public required string Settings { get; init; }
    public required DateTimeOffset StartedUtc { get; init; }
    public required double WallTimeSeconds { get; init; }
    public required long Planned { get; init; }
    public required long Answered { get; init; }
    public required long Ok { get; init; }
    public required long Fail { get; init; }
    public required double ErrorRate { get; init; }
    public required double ThroughputPerSec { get; init; }
    public required long WarmupExcluded { get; init; }
    public required long Retries { get; init; }
    public required long Reconnects { get; init; }
    public required bool StoppedEarly { get; init; }
    public string? FatalError { get; init; }
    public required LatencySummary Latency { get; init; }
    public required LatencySummary Service { get; init; }
    public required long LateRequests { get; init; }
    public required LatencySummary Lateness { get; init; }
    public long SchedulerLagRequests { get; init; }
    public LatencySummary? SchedulerLag { get; init; }
    /// <summary>The Loadgen's own CPU (process, all threads) per answered request during the run, µs.</summary>
    public double LoadgenCpuMicrosPerRequest { get; init; }

    /// <summary>Bytes the Loadgen allocated per answered request during the run.</summary>
    public double LoadgenAllocatedBytesPerRequest { get; init; }
    public required IReadOnlyList<CommandReport> Commands { get; init; }
    public required IReadOnlyList<ErrorReport> Errors { get; init; }
    public required IReadOnlyList<TimelinePoint> Timeline { get; init; }
    public required IReadOnlyList<DistributionPoint> Distribution { get; init; }
    public IReadOnlyList<ThresholdResult> Thresholds { get; init; } = [];
    public bool ThresholdsPassed => Thresholds.All(t => t.Passed);

    public static RunReport Build(string runId, string workload, LoadOptions options, DateTimeOffset started, LoadOutcome outcome, RunMetrics m)
    {
        var wall = Math.Max(outcome.WallTime.TotalSeconds, 1e-6);
        var measuredSeconds = Math.Max(wall - (options.Warmup.TotalSeconds > 0 ? Math.Min(options.Warmup.TotalSeconds, wall) : 0), 1e-6);
        var overall = m.Overall;
        var dist = new List<DistributionPoint>();
        if (overall.Latency.Count > 0)
        {
            foreach (var p in new[] { 0.0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100 })
                dist.Add(new DistributionPoint(p, overall.Latency.Percentile(p) / 1000.0, overall.Service.Percentile(p) / 1000.0));
        }
        string model = options.Rate is { } r ? $"open ({r:0.##}/s)" : $"closed (concurrency {(options.Concurrency?.ToString() ?? "all users")})";
        var settings = $"connections/target={options.ConnectionsPerTarget} quiet={options.Quiet} ramp={options.Ramp.TotalSeconds}s warmup={options.Warmup.TotalSeconds}s" +
                       (options.Duration is { } d ? $" duration={d.TotalSeconds}s" : "") + $" max-retries={options.MaxRetries}";
        return new RunReport
        {
            RunId = runId,
            Workload = workload,
            Targets = options.Targets.Select(t => t.ToString()).ToArray(),
            Model = model,
            Settings = settings,
            StartedUtc = started,
            WallTimeSeconds = Math.Round(wall, 3),
            Planned = outcome.Planned,
            Answered = outcome.Answered,
            Ok = overall.Ok,
            Fail = overall.Fail,
            ErrorRate = overall.Total == 0 ? 0 : (double)overall.Fail / overall.Total,
            ThroughputPerSec = Math.Round(overall.Total / measuredSeconds, 1),
            WarmupExcluded = m.WarmupCount,
            Retries = m.Retries,
            Reconnects = m.Reconnects,
            StoppedEarly = outcome.StoppedEarly,
            FatalError = outcome.FatalError,
            Latency = LatencySummary.From(overall.Latency),
            Service = LatencySummary.From(overall.Service),
            LateRequests = m.LateCount,
            Lateness = LatencySummary.From(m.Lateness),
            SchedulerLagRequests = m.SchedulerLagCount,
            SchedulerLag = LatencySummary.From(m.SchedulerLag),
            LoadgenCpuMicrosPerRequest = outcome.Answered == 0 ? 0 : Math.Round(m.LoadgenCpu.TotalMicroseconds / outcome.Answered, 2),
            LoadgenAllocatedBytesPerRequest = outcome.Answered == 0 ? 0 : Math.Round((double)m.LoadgenAllocatedBytes / outcome.Answered, 1),
            Commands = m.Commands.Select(c => new CommandReport(c.Name, c.Total, c.Ok, c.Fail, Math.Round(c.Total / measuredSeconds, 1),
                LatencySummary.From(c.Latency), LatencySummary.From(c.Service))).ToArray(),
            Errors = m.Errors.Select(e => new ErrorReport(e.Reason, e.Count)).ToArray(),
            Timeline = m.Timeline,
            Distribution = dist,
        };
    }

    /// <summary>Checks the thresholds and the error-rate limit against this report.</summary>
    public RunReport WithThresholds(IEnumerable<Threshold> thresholds, double? maxErrorRate)
    {
        var results = new List<ThresholdResult>();
        foreach (var t in thresholds)
        {
            LatencySummary? lat = t.Command is null ? Latency : Commands.FirstOrDefault(c => c.Command == t.Command)?.Latency;
            if (lat is null)
            {
                results.Add(new ThresholdResult(t.Text, null, "no such command in the run", false, "no data"));
                continue;
            }
            var actual = lat.Get(t.Metric);
            results.Add(new ThresholdResult(t.Text, actual, $"{actual:0.###} ms", t.Holds(actual)));
        }
        if (maxErrorRate is { } max)
            results.Add(new ThresholdResult($"error-rate<={max:0.####}", ErrorRate, $"{ErrorRate:0.####} ({Fail}/{Ok + Fail})", ErrorRate <= max));
        return this with { Thresholds = results };
    }
}
