using System.Globalization;
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

/// <summary>One command type: answers by outcome (done, refused by the domain, failed) and latency.</summary>
public sealed record CommandReport(string Command, long Count, long Ok, long Refused, long Failed, double ThroughputPerSec, LatencySummary Latency, LatencySummary Service);

/// <summary>How often one grouped reason ("CMD: reason") was answered.</summary>
public sealed record ReasonReport(string Reason, long Count);

/// <summary>One point of the latency distribution (percentile → latency from the intended send and service time, ms).</summary>
public sealed record DistributionPoint(double Percentile, double LatencyMs, double ServiceMs);

/// <summary>The DUMPLOGs of the run, apart from the trading commands: how they came out and how long each took.</summary>
public sealed record DumpReport(long Count, long Ok, long Refused, long Failed, LatencySummary Latency, IReadOnlyList<DumpAnswer> Answers);

/// <summary>
/// Per-second rates of the trading phase: only whole sampling intervals that ended before the last trading answer
/// count. The last interval is cut short by the end of the run (its rate would dip towards 0 for no reason but the
/// clock), and the time after the last trading answer is the DUMPLOG's, not trading.
/// </summary>
public sealed record RateWindow(int WholeIntervals, double CountedSeconds, double PartialTailSeconds, double AfterTradingSeconds,
    double MinPerSec, double MaxPerSec);

/// <summary>Everything a run reports; serialized as report.json, rendered as TXT/MD/CSV/HTML.</summary>
public sealed record RunReport
{
    /// <summary>A sampling interval shorter than this is partial (the sampler ticks about every second).</summary>
    public const double WholeIntervalSeconds = 0.9;

    public required string RunId { get; init; }
    public required string Workload { get; init; }
    public required IReadOnlyList<string> Targets { get; init; }
    public required string Model { get; init; }

    /// <summary>Closed model: a request is sent when its user's previous answer came, so latency = service time.</summary>
    public required bool ClosedModel { get; init; }
    public required DateTimeOffset StartedUtc { get; init; }
    public required double WallTimeSeconds { get; init; }

    /// <summary>Seconds from the start to the last trading answer (the DUMPLOG comes after).</summary>
    public required double TradingSeconds { get; init; }
    public required long Planned { get; init; }

    /// <summary>Requests answered, DUMPLOG and warm-up included (the progress count).</summary>
    public required long Answered { get; init; }

    /// <summary>Trading requests measured (after the warm-up, DUMPLOG not included) = Ok + Refused + Failed.</summary>
    public required long Requests { get; init; }
    public required long Ok { get; init; }

    /// <summary>Refused by the domain or the edge's checks: correct answers, not errors (<see cref="AnswerClassifier"/>).</summary>
    public required long Refused { get; init; }

    /// <summary>Not done or outcome unknown (timeouts, internal errors, no quote, no answer at all).</summary>
    public required long Failed { get; init; }

    /// <summary>Failed / trading requests: what <c>--max-error-rate</c> limits. Refusals are not errors.</summary>
    public required double ErrorRate { get; init; }
    public required double RefusalRate { get; init; }

    /// <summary>Trading requests per second of the trading phase after the warm-up.</summary>
    public required double ThroughputPerSec { get; init; }
    public required RateWindow PerSecond { get; init; }
    public required long WarmupExcluded { get; init; }
    public required long Retries { get; init; }
    public required long Reconnects { get; init; }
    public required bool StoppedEarly { get; init; }
    public string? FatalError { get; init; }

    /// <summary>Why the run is not complete (fatal error, requests left unanswered); null when it is.</summary>
    public string? RunProblem { get; init; }
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
    public DumpReport? Dumps { get; init; }
    public required IReadOnlyList<ReasonReport> Failures { get; init; }
    public required IReadOnlyList<ReasonReport> Refusals { get; init; }
    public required IReadOnlyList<TimelinePoint> Timeline { get; init; }
    public required IReadOnlyList<DistributionPoint> Distribution { get; init; }
    public required RunEnvironment Environment { get; init; }
    public IReadOnlyList<ThresholdResult> Thresholds { get; init; } = [];
    public bool ThresholdsPassed => Thresholds.All(t => t.Passed);

    /// <summary>PASS when the run is complete and every threshold held (none set: complete is enough).</summary>
    public bool Passed => RunProblem is null && ThresholdsPassed;

    public string Verdict => Passed ? "PASS" : "FAIL";

    /// <summary>The verdict and what it rests on: which thresholds held, which were breached.</summary>
    public string VerdictLine
    {
        get
        {
            var parts = new List<string>();
            if (RunProblem is { } problem) parts.Add($"run incomplete: {problem}");
            var breached = Thresholds.Where(t => !t.Passed).ToArray();
            var held = Thresholds.Where(t => t.Passed).ToArray();
            if (breached.Length > 0) parts.Add($"breached {string.Join(", ", breached.Select(t => $"{t.Rule} (actual {t.ActualText})"))}");
            if (held.Length > 0) parts.Add($"held {string.Join(", ", held.Select(t => $"{t.Rule} (actual {t.ActualText})"))}");
            if (Thresholds.Count == 0) parts.Add("no thresholds set");
            return $"{Verdict}: {string.Join("; ", parts)}";
        }
    }

    /// <summary>Whether a timeline interval counts in the per-second rates (<see cref="RateWindow"/>).</summary>
    public bool CountsInRates(TimelinePoint p) => CountsInRates(p, TradingSeconds);

    private static bool CountsInRates(TimelinePoint p, double tradingSeconds) =>
        p.IntervalSeconds >= WholeIntervalSeconds && p.Second <= tradingSeconds + 1e-3;

    /// <summary>The Loadgen's settings of a run, as the report lists them.</summary>
    public static List<Setting> OptionsOf(LoadOptions o, string workload)
    {
        static string S(double seconds) => string.Create(CultureInfo.InvariantCulture, $"{seconds:0.###} s");
        var list = new List<Setting>
        {
            new("workload", workload),
            new("targets", string.Join(", ", o.Targets)),
            new("connections per target", o.ConnectionsPerTarget.ToString(CultureInfo.InvariantCulture)),
            new("model", ModelOf(o)),
            new("ramp", S(o.Ramp.TotalSeconds)),
            new("warm-up", S(o.Warmup.TotalSeconds)),
            new("duration", o.Duration is { } d ? S(d.TotalSeconds) : "whole workload"),
            new("quiet", o.Quiet ? "on" : "off"),
            new("max retries", o.MaxRetries.ToString(CultureInfo.InvariantCulture)),
            new("DUMPLOG", o.SkipAdminDump ? "skipped" : "sent last"),
            new("run id", o.RunId),
        };
        return list;
    }

    private static string ModelOf(LoadOptions o) => o.Rate is { } r
        ? string.Create(CultureInfo.InvariantCulture, $"open ({r:0.##}/s)")
        : $"closed (concurrency {(o.Concurrency?.ToString(CultureInfo.InvariantCulture) ?? "all users")})";

    public static RunReport Build(string runId, string workload, LoadOptions options, DateTimeOffset started, LoadOutcome outcome, RunMetrics m,
        RunEnvironment? environment = null)
    {
        var wall = Math.Max(outcome.WallTime.TotalSeconds, 1e-6);
        var trading = Math.Min(m.LastTradingAnswer.TotalSeconds, wall);
        var warmup = Math.Min(options.Warmup.TotalSeconds, trading);
        var measuredSeconds = Math.Max(trading - warmup, 1e-6);
        var overall = m.Overall;
        var dist = new List<DistributionPoint>();
        if (overall.Latency.Count > 0)
        {
            foreach (var p in new[] { 0.0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100 })
                dist.Add(new DistributionPoint(p, overall.Latency.Percentile(p) / 1000.0, overall.Service.Percentile(p) / 1000.0));
        }
        var timeline = m.Timeline;
        var counted = timeline.Where(p => CountsInRates(p, trading)).ToArray();
        var countedEnd = counted.Length == 0 ? 0 : counted[^1].Second;
        var rates = counted.Select(p => p.Answered / p.IntervalSeconds).ToArray();
        var perSecond = new RateWindow(counted.Length, Math.Round(counted.Sum(p => p.IntervalSeconds), 3),
            Math.Round(Math.Max(0, trading - countedEnd), 3), Math.Round(Math.Max(0, wall - trading), 3),
            rates.Length == 0 ? 0 : Math.Round(rates.Min(), 1), rates.Length == 0 ? 0 : Math.Round(rates.Max(), 1));

        var dumps = m.Dumps.Total == 0
            ? null
            : new DumpReport(m.Dumps.Total, m.Dumps.Ok, m.Dumps.Refused, m.Dumps.Failed, LatencySummary.From(m.Dumps.Latency), m.DumpAnswers);
        string? problem = outcome.FatalError ?? (!outcome.StoppedEarly && outcome.Answered < outcome.Planned
            ? $"only {outcome.Answered} of {outcome.Planned} requests were answered"
            : null);
        return new RunReport
        {
            RunId = runId,
            Workload = workload,
            Targets = options.Targets.Select(t => t.ToString()).ToArray(),
            Model = ModelOf(options),
            ClosedModel = options.Rate is null,
            StartedUtc = started,
            WallTimeSeconds = Math.Round(wall, 3),
            TradingSeconds = Math.Round(trading, 3),
            Planned = outcome.Planned,
            Answered = outcome.Answered,
            Requests = overall.Total,
            Ok = overall.Ok,
            Refused = overall.Refused,
            Failed = overall.Failed,
            ErrorRate = overall.Total == 0 ? 0 : (double)overall.Failed / overall.Total,
            RefusalRate = overall.Total == 0 ? 0 : (double)overall.Refused / overall.Total,
            ThroughputPerSec = Math.Round(overall.Total / measuredSeconds, 1),
            PerSecond = perSecond,
            WarmupExcluded = m.WarmupCount,
            Retries = m.Retries,
            Reconnects = m.Reconnects,
            StoppedEarly = outcome.StoppedEarly,
            FatalError = outcome.FatalError,
            RunProblem = problem,
            Latency = LatencySummary.From(overall.Latency),
            Service = LatencySummary.From(overall.Service),
            LateRequests = m.LateCount,
            Lateness = LatencySummary.From(m.Lateness),
            SchedulerLagRequests = m.SchedulerLagCount,
            SchedulerLag = LatencySummary.From(m.SchedulerLag),
            LoadgenCpuMicrosPerRequest = outcome.Answered == 0 ? 0 : Math.Round(m.LoadgenCpu.TotalMicroseconds / outcome.Answered, 2),
            LoadgenAllocatedBytesPerRequest = outcome.Answered == 0 ? 0 : Math.Round((double)m.LoadgenAllocatedBytes / outcome.Answered, 1),
            Commands = m.Commands.Select(c => new CommandReport(c.Name, c.Total, c.Ok, c.Refused, c.Failed, Math.Round(c.Total / measuredSeconds, 1),
                LatencySummary.From(c.Latency), LatencySummary.From(c.Service))).ToArray(),
            Dumps = dumps,
            Failures = m.Failures.Select(e => new ReasonReport(e.Reason, e.Count)).ToArray(),
            Refusals = m.Refusals.Select(e => new ReasonReport(e.Reason, e.Count)).ToArray(),
            Timeline = timeline,
            Distribution = dist,
            Environment = environment ?? RunEnvironment.Capture(null, null, OptionsOf(options, workload)),
        };
    }

    /// <summary>Checks the thresholds and the error-rate limit (failures only) against this report.</summary>
    public RunReport WithThresholds(IEnumerable<Threshold> thresholds, double? maxErrorRate)
    {
        var results = new List<ThresholdResult>();
        foreach (var t in thresholds)
        {
            LatencySummary? lat = t.Command switch
            {
                null => Latency,
                RunMetrics.DumpCommand => Dumps?.Latency,
                _ => Commands.FirstOrDefault(c => c.Command == t.Command)?.Latency,
            };
            if (lat is null)
            {
                results.Add(new ThresholdResult(t.Text, null, "no such command in the run", false, "no data"));
                continue;
            }
            var actual = lat.Get(t.Metric);
            results.Add(new ThresholdResult(t.Text, actual, string.Create(CultureInfo.InvariantCulture, $"{actual:0.###} ms"), t.Holds(actual)));
        }
        if (maxErrorRate is { } max)
        {
            results.Add(new ThresholdResult(string.Create(CultureInfo.InvariantCulture, $"error-rate<={max:0.####}"), ErrorRate,
                string.Create(CultureInfo.InvariantCulture, $"{ErrorRate:0.####}: {Failed} failed of {Requests}; {Refused} refused not counted"),
                ErrorRate <= max));
        }
        return this with { Thresholds = results };
    }
}
