using System.Runtime.InteropServices;
using DayTrading.Telemetry;
using HdrHistogram;

namespace DayTrading.Loadgen.Metrics;

/// <summary>
/// Latency (from the intended send time) and service time (from the actual send) of one command type, and how its
/// answers came out: done, refused by the domain (a correct answer) or failed (<see cref="AnswerClassifier"/>).
/// </summary>
public sealed class CommandStats(string name)
{
    public string Name { get; } = name;
    public long Ok;
    public long Refused;
    public long Failed;
    public readonly LatencyHistogram Latency = new();
    public readonly LatencyHistogram Service = new();
    public long Total => Ok + Refused + Failed;

    internal void Count(RequestOutcome outcome)
    {
        if (outcome == RequestOutcome.Ok) Ok++;
        else if (outcome == RequestOutcome.Refused) Refused++;
        else Failed++;
    }
}

/// <summary>
/// An HdrHistogram in microseconds (1 µs … 1 h, 3 significant digits) that also keeps the exact minimum, maximum
/// and sum: the histogram's own mean and percentiles use bucket values, which for a few long samples (one DUMPLOG)
/// can lie outside the recorded range (a mean below the minimum). Mean and max here are exact and every percentile
/// is clamped into [min, max].
/// </summary>
public sealed class LatencyHistogram
{
    public const long HighestMicros = 3_600_000_000L;
    public LongHistogram Histogram { get; } = new(HighestMicros, 3);
    public long MinMicros { get; private set; } = long.MaxValue;
    public long MaxMicros { get; private set; }
    public long SumMicros { get; private set; }
    public long Count => Histogram.TotalCount;

    public void Record(long micros)
    {
        micros = Math.Clamp(micros, 1, HighestMicros);
        Histogram.RecordValue(micros);
        SumMicros += micros;
        if (micros < MinMicros) MinMicros = micros;
        if (micros > MaxMicros) MaxMicros = micros;
    }

    public void Add(LatencyHistogram other)
    {
        Histogram.Add(other.Histogram);
        SumMicros += other.SumMicros;
        if (other.MinMicros < MinMicros) MinMicros = other.MinMicros;
        if (other.MaxMicros > MaxMicros) MaxMicros = other.MaxMicros;
    }

    public double Percentile(double p) => Count == 0 ? 0 : Math.Clamp(Histogram.GetValueAtPercentile(p), MinMicros, MaxMicros);
    public double Mean => Count == 0 ? 0 : (double)SumMicros / Count;
    public long Max => Count == 0 ? 0 : MaxMicros;
    public long Min => Count == 0 ? 0 : MinMicros;
}

/// <summary>
/// One sampling interval of the run (about a second; the last one ends with the run, so it is usually shorter):
/// trading answers in it by outcome, their latency percentiles, and the requests in flight at its end. DUMPLOG
/// answers are not in it (<see cref="DumpAnswer"/>).
/// </summary>
public sealed record TimelinePoint(double Second, double IntervalSeconds, long Ok, long Refused, long Failed,
    double P50Ms, double P90Ms, double P99Ms, double MaxMs, long InFlight)
{
    public long Answered => Ok + Refused + Failed;
}

/// <summary>One DUMPLOG: when it was sent (seconds since the start), how long it took, and how it came out.</summary>
public sealed record DumpAnswer(double SentSecond, double LatencyMs, RequestOutcome Outcome, string? Reason);

/// <summary>
/// Everything measured during a run. Thread-safe (one lock; recording is a few hundred ns, far below a round trip).
/// Latencies are recorded in µs. In the open model "latency" starts at the command's intended send time, so time a
/// command spent waiting behind a slow previous answer counts (no coordinated omission); "service" starts at the
/// actual send. In the closed model both are the same. Results of the warm-up are counted apart and left out.
/// DUMPLOG is measured apart from the trading commands: a dump takes seconds (it writes the whole log), so in the
/// trading figures it would be one enormous outlier and stretch the run's throughput over time nobody traded in.
/// </summary>
public sealed class RunMetrics
{
    public const string DumpCommand = "DUMPLOG";

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, CommandStats> _byCommand = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _failures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _refusals = new(StringComparer.Ordinal);
    private readonly List<TimelinePoint> _timeline = [];
    private readonly List<DumpAnswer> _dumpAnswers = [];
    private LongHistogram _interval = new(LatencyHistogram.HighestMicros, 2);
    private long _intervalOk, _intervalRefused, _intervalFailed, _intervalMaxMicros;
    private TimeSpan _intervalStart;
    private long _startTimestamp;
    private bool _started;
    private TimeSpan? _stoppedAt;
    private TimeSpan _lastTradingAnswer;

    /// <param name="time">the clock of <see cref="Elapsed"/> (tests drive one by hand)</param>
    public RunMetrics(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>Every trading command (DUMPLOG not included).</summary>
    public CommandStats Overall { get; } = new("ALL");

    /// <summary>Every DUMPLOG, admin or per user.</summary>
    public CommandStats Dumps { get; } = new(DumpCommand);

    /// <summary>Open model: how late requests were sent because the user's previous answer came after their due time.</summary>
    public LatencyHistogram Lateness { get; } = new();
    public long LateCount;

    /// <summary>Open model: how late requests were sent although nothing blocked them (the generator's own timer/CPU lag).</summary>
    public LatencyHistogram SchedulerLag { get; } = new();
    public long SchedulerLagCount;
    public long WarmupCount;
    public long Retries;

    /// <summary>Answers "outcome unknown" (the node timed out waiting for the account), each resent.</summary>
    public long UnknownOutcomes;
    public long Reconnects;
    public long InFlight;
    public long Sent;

    /// <summary>Since <see cref="Start"/>; stands still after <see cref="Stop"/>.</summary>
    public TimeSpan Elapsed => _stoppedAt ?? (_started ? _time.GetElapsedTime(_startTimestamp) : TimeSpan.Zero);

    /// <summary>When the last trading answer came (since <see cref="Start"/>): the end of the trading phase; the DUMPLOG comes after.</summary>
    public TimeSpan LastTradingAnswer
    {
        get
        {
            lock (_gate) return _lastTradingAnswer;
        }
    }

    /// <summary>The Loadgen's own process CPU time between <see cref="Start"/> and <see cref="Stop"/> (every thread, GC included).</summary>
    public TimeSpan LoadgenCpu { get; private set; }

    /// <summary>Bytes the Loadgen allocated (all threads) between <see cref="Start"/> and <see cref="Stop"/>.</summary>
    public long LoadgenAllocatedBytes { get; private set; }

    private TimeSpan _cpuAtStart;
    private long _allocatedAtStart;

    public void Start()
    {
        _cpuAtStart = Environment.CpuUsage.TotalTime;
        _allocatedAtStart = GC.GetTotalAllocatedBytes(precise: false);
        _startTimestamp = _time.GetTimestamp();
        _started = true;
    }

    public void Stop()
    {
        _stoppedAt = Elapsed;
        LoadgenCpu += Environment.CpuUsage.TotalTime - _cpuAtStart;
        LoadgenAllocatedBytes += GC.GetTotalAllocatedBytes(precise: false) - _allocatedAtStart;
    }

    /// <summary>Records one answered request; an ERR answer counts as refused or failed by <see cref="AnswerClassifier"/>.</summary>
    /// <param name="latencyMicros">from the intended send time (open model) or the send (closed model)</param>
    /// <param name="serviceMicros">from the actual send</param>
    /// <param name="latenessMicros">actual send − intended send (open model; 0 when on time)</param>
    /// <param name="blockedByPrevious">the user's previous answer came after this request's due time</param>
    public void Record(string command, bool ok, string? reason, long latencyMicros, long serviceMicros, long latenessMicros, bool warmup,
        bool blockedByPrevious = false)
    {
        var outcome = ok ? RequestOutcome.Ok : AnswerClassifier.Classify(command, reason);
        var now = Elapsed;
        lock (_gate)
        {
            if (command == DumpCommand)
            {
                RecordDump(outcome, reason, latencyMicros, serviceMicros, now);
                return;
            }
            CountInterval(outcome);
            var clamped = Math.Clamp(latencyMicros, 1, LatencyHistogram.HighestMicros);
            _interval.RecordValue(clamped);
            if (clamped > _intervalMaxMicros) _intervalMaxMicros = clamped;
            if (now > _lastTradingAnswer) _lastTradingAnswer = now;
            if (warmup)
            {
                WarmupCount++;
                return;
            }
            if (!_byCommand.TryGetValue(command, out var stats)) _byCommand[command] = stats = new CommandStats(command);
            foreach (var s in (ReadOnlySpan<CommandStats>)[stats, Overall])
            {
                s.Count(outcome);
                s.Latency.Record(latencyMicros);
                s.Service.Record(serviceMicros);
            }
            if (latenessMicros > 0 && blockedByPrevious)
            {
                LateCount++;
                Lateness.Record(latenessMicros);
            }
            else if (latenessMicros > 0)
            {
                SchedulerLagCount++;
                SchedulerLag.Record(latenessMicros);
            }
            if (outcome != RequestOutcome.Ok) CountReason(outcome, command, reason);
        }
    }

    private void RecordDump(RequestOutcome outcome, string? reason, long latencyMicros, long serviceMicros, TimeSpan now)
    {
        Dumps.Count(outcome);
        Dumps.Latency.Record(latencyMicros);
        Dumps.Service.Record(serviceMicros);
        var sent = Math.Max(0, now.TotalSeconds - serviceMicros / 1e6);
        _dumpAnswers.Add(new DumpAnswer(Math.Round(sent, 3), latencyMicros / 1000.0, outcome, reason));
        if (outcome != RequestOutcome.Ok) CountReason(outcome, DumpCommand, reason);
    }

    private void CountInterval(RequestOutcome outcome)
    {
        if (outcome == RequestOutcome.Ok) _intervalOk++;
        else if (outcome == RequestOutcome.Refused) _intervalRefused++;
        else _intervalFailed++;
    }

    /// <summary>Counts one refusal or failure under "command: normalized reason" (under _gate; no allocation once the group exists).</summary>
    private void CountReason(RequestOutcome outcome, string command, string? reason)
    {
        var r = reason.AsSpan();
        var size = command.Length + 2 + NormalizedCapacity(r.Length);
        var buffer = size <= 1024 ? stackalloc char[size] : new char[size];
        command.CopyTo(buffer);
        ": ".CopyTo(buffer[command.Length..]);
        var length = command.Length + 2 + Normalize(r, buffer[(command.Length + 2)..]);
        var key = buffer[..length];
        var lookup = (outcome == RequestOutcome.Refused ? _refusals : _failures).GetAlternateLookup<ReadOnlySpan<char>>();
        ref var count = ref CollectionsMarshal.GetValueRefOrAddDefault(lookup, key, out _);
        count++;
    }

    /// <summary>Records a request that got no answer at all (e.g. every target gone): a failure.</summary>
    public void RecordLost(string command, string reason)
    {
        lock (_gate)
        {
            var stats = command == DumpCommand ? Dumps : _byCommand.TryGetValue(command, out var s) ? s : _byCommand[command] = new CommandStats(command);
            stats.Failed++;
            if (command != DumpCommand)
            {
                Overall.Failed++;
                _intervalFailed++;
            }
            CountReason(RequestOutcome.Failed, command, AnswerClassifier.NoAnswerPrefix + reason);
        }
    }

    /// <summary>Closes the current interval (called by the sampler about once per second and once at the end).</summary>
    public TimelinePoint Tick()
    {
        var now = Elapsed;
        lock (_gate)
        {
            var h = _interval;
            var point = new TimelinePoint(Math.Round(now.TotalSeconds, 3), Math.Round((now - _intervalStart).TotalSeconds, 3),
                _intervalOk, _intervalRefused, _intervalFailed, Ms(h, 50), Ms(h, 90), Ms(h, 99), _intervalMaxMicros / 1000.0,
                Interlocked.Read(ref InFlight));
            _timeline.Add(point);
            _interval = new LongHistogram(LatencyHistogram.HighestMicros, 2);
            _intervalOk = _intervalRefused = _intervalFailed = _intervalMaxMicros = 0;
            _intervalStart = now;
            return point;
        }
    }

    private static double Ms(HistogramBase h, double p) => h.TotalCount == 0 ? 0 : h.GetValueAtPercentile(p) / 1000.0;

    public IReadOnlyList<TimelinePoint> Timeline
    {
        get
        {
            lock (_gate) return _timeline.ToArray();
        }
    }

    public IReadOnlyList<DumpAnswer> DumpAnswers
    {
        get
        {
            lock (_gate) return _dumpAnswers.ToArray();
        }
    }

    /// <summary>Trading command types, most frequent first.</summary>
    public IReadOnlyList<CommandStats> Commands
    {
        get
        {
            lock (_gate) return _byCommand.Values.OrderByDescending(c => c.Total).ThenBy(c => c.Name, StringComparer.Ordinal).ToArray();
        }
    }

    /// <summary>Failed answers by "command: grouped reason", most frequent first.</summary>
    public IReadOnlyList<(string Reason, long Count)> Failures => Sorted(_failures);

    /// <summary>Refused answers by "command: grouped reason", most frequent first.</summary>
    public IReadOnlyList<(string Reason, long Count)> Refusals => Sorted(_refusals);

    private (string Reason, long Count)[] Sorted(Dictionary<string, long> counts)
    {
        lock (_gate) return counts.OrderByDescending(e => e.Value).ThenBy(e => e.Key, StringComparer.Ordinal).Select(e => (e.Key, e.Value)).ToArray();
    }

    /// <summary>A consistent snapshot of the overall counters and percentiles (for the live console).</summary>
    public (long Ok, long Refused, long Failed, double P50Ms, double P99Ms) Snapshot()
    {
        lock (_gate)
            return (Overall.Ok, Overall.Refused, Overall.Failed, Overall.Latency.Percentile(50) / 1000.0, Overall.Latency.Percentile(99) / 1000.0);
    }

    /// <summary>
    /// Groups error reasons: numbers (with sign, decimals) become <c>#</c>, quoted values <c>'…'</c>, a symbol after
    /// of/for/in/on <c>SYM</c>, so
    /// "insufficient funds: 12.50 needed" and "… 7.00 needed" count as one reason.
    /// </summary>
    public static string NormalizeReason(string? reason)
    {
        var r = reason.AsSpan();
        var buffer = new char[NormalizedCapacity(r.Length)];
        return new string(buffer, 0, Normalize(r, buffer));
    }

    /// <summary>
    /// Writes the normalized reason into <paramref name="output"/> (<see cref="NormalizedCapacity"/> chars) and gives
    /// its length. The same as, in this order, <c>'[^']*'</c> → <c>'…'</c>, <c>[-+]?\d+(?:[.,]\d+)*</c> → <c>#</c>,
    /// <c>(?&lt;=\b(?:of|for|in|on) )[A-Z]{1,3}\b</c> → <c>SYM</c>, then trimmed, without a regex or an allocation.
    /// </summary>
    private static int Normalize(ReadOnlySpan<char> reason, Span<char> output)
    {
        if (reason.IsWhiteSpace())
        {
            "(no reason)".CopyTo(output);
            return 11;
        }
        // Numbers only shorten the text; '…' for '' makes it at most 1.5 times longer, SYM for "of A" 1.4 times.
        var size = output.Length;
        Span<char> a = size <= 1024 ? stackalloc char[size] : new char[size];
        Span<char> b = size <= 1024 ? stackalloc char[size] : new char[size];
        var n = Quotes(reason, a);
        n = Numbers(a[..n], b);
        n = Symbols(b[..n], a);
        var trimmed = a[..n].Trim();
        trimmed.CopyTo(output);
        return trimmed.Length;
    }

    private static int Quotes(ReadOnlySpan<char> s, Span<char> o)
    {
        var n = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\'' && s[(i + 1)..].IndexOf('\'') is var close and >= 0)
            {
                "'…'".CopyTo(o[n..]);
                n += 3;
                i += close + 1;
                continue;
            }
            o[n++] = s[i];
        }
        return n;
    }

    private static int Numbers(ReadOnlySpan<char> s, Span<char> o)
    {
        var n = 0;
        for (var i = 0; i < s.Length;)
        {
            var j = i;
            if (s[j] is '-' or '+' && j + 1 < s.Length && char.IsDigit(s[j + 1])) j++;
            if (!char.IsDigit(s[j]))
            {
                o[n++] = s[i++];
                continue;
            }
            while (j < s.Length && char.IsDigit(s[j])) j++;
            while (j + 1 < s.Length && s[j] is '.' or ',' && char.IsDigit(s[j + 1]))
            {
                j++;
                while (j < s.Length && char.IsDigit(s[j])) j++;
            }
            o[n++] = '#';
            i = j;
        }
        return n;
    }

    private static int Symbols(ReadOnlySpan<char> s, Span<char> o)
    {
        var n = 0;
        for (var i = 0; i < s.Length;)
        {
            var k = 0;
            while (k < 3 && i + k < s.Length && s[i + k] is >= 'A' and <= 'Z') k++;
            if (k > 0 && (i + k == s.Length || !IsWordChar(s[i + k])) && AfterOfForInOn(s, i))
            {
                "SYM".CopyTo(o[n..]);
                n += 3;
                i += k;
                continue;
            }
            o[n++] = s[i++];
        }
        return n;
    }

    private static int NormalizedCapacity(int length) => 3 * length + 16;

    /// <summary>s[..i] ends with "of ", "for ", "in " or "on " that starts at a word boundary.</summary>
    private static bool AfterOfForInOn(ReadOnlySpan<char> s, int i)
    {
        if (i < 3 || s[i - 1] != ' ') return false;
        var before = s[..(i - 1)];
        foreach (var word in (ReadOnlySpan<string>)["of", "for", "in", "on"])
        {
            if (before.EndsWith(word, StringComparison.Ordinal) && (before.Length == word.Length || !IsWordChar(before[^(word.Length + 1)])))
                return true;
        }
        return false;
    }

    /// <summary>A regex word character for <c>\b</c>: <c>[\p{L}\p{Mn}\p{Nd}\p{Pc}]</c>, ZWJ and ZWNJ.</summary>
    private static bool IsWordChar(char c) => c < 128
        ? char.IsAsciiLetterOrDigit(c) || c == '_'
        : char.IsLetterOrDigit(c) || c is '\u200C' or '\u200D' || char.GetUnicodeCategory(c) is
            System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.ConnectorPunctuation;
}
