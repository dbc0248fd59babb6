using System.Globalization;

namespace DayTrading.Quotes;

/// <summary>
/// How long the quote simulator waits before answering. Text forms (see <see cref="Parse"/>):
/// <list type="bullet">
/// <item><c>none</c> — answer at once.</item>
/// <item><c>fixed:&lt;ms&gt;</c> — always wait exactly that many milliseconds (integer, 0…3,600,000).</item>
/// <item><c>lab</c> — as measured on the course's server: 68 % of answers are fast, uniform in
/// [1.0, 2.0) ms (mean ≈ 1.5 ms); the other 32 % are split in four equal shares of 8 % each, answered
/// after 1, 2, 3 or 4 s plus a uniform extra of [0, 3) ms ("almost exactly").</item>
/// </list>
/// Sampling is a pure function of the <see cref="Random"/> given (<see cref="NextDelay"/>), so a seeded
/// <see cref="Random"/> makes it deterministic.
/// </summary>
public abstract class LatencyProfile
{
    /// <summary>Share of <c>lab</c> answers that are fast.</summary>
    public const double LabFastShare = 0.68;
    public const double LabFastMinMs = 1.0;
    public const double LabFastMaxMs = 2.0;
    /// <summary>Uniform extra over the whole second for slow <c>lab</c> answers: [0, this) ms.</summary>
    public const double LabSlowJitterMs = 3.0;
    public const int MaxFixedMs = 3_600_000;

    private LatencyProfile() { }

    public static LatencyProfile None { get; } = new NoneProfile();
    public static LatencyProfile Lab { get; } = new LabProfile();
    public static LatencyProfile Fixed(int milliseconds) => new FixedProfile(milliseconds);

    /// <summary>The canonical text form: <c>none</c>, <c>fixed:250</c> or <c>lab</c>.</summary>
    public abstract string Name { get; }

    /// <summary>One delay sample. Does not sleep. Not thread-safe if <paramref name="random"/> is shared.</summary>
    public abstract TimeSpan NextDelay(Random random);

    public override string ToString() => Name;

    /// <summary>Parses <c>none</c>, <c>fixed:&lt;ms&gt;</c> or <c>lab</c> (case-insensitive, surrounding blanks ignored).</summary>
    /// <exception cref="FormatException">Anything else, with the accepted forms in the message.</exception>
    public static LatencyProfile Parse(string? text) =>
        TryParse(text, out var profile, out var error) ? profile : throw new FormatException(error);

    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LatencyProfile? profile,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        profile = null;
        const string forms = "expected 'none', 'fixed:<ms>' (e.g. fixed:250) or 'lab'";
        if (string.IsNullOrWhiteSpace(text))
        {
            error = $"empty latency profile: {forms}";
            return false;
        }
        var t = text.Trim();
        if (t.Equals("none", StringComparison.OrdinalIgnoreCase)) { profile = None; error = null; return true; }
        if (t.Equals("lab", StringComparison.OrdinalIgnoreCase)) { profile = Lab; error = null; return true; }
        if (t.StartsWith("fixed:", StringComparison.OrdinalIgnoreCase))
        {
            var ms = t.AsSpan("fixed:".Length);
            if (int.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value <= MaxFixedMs)
            {
                profile = Fixed(value);
                error = null;
                return true;
            }
            error = $"invalid latency profile '{text}': fixed needs a whole number of milliseconds in 0..{MaxFixedMs}, e.g. fixed:250";
            return false;
        }
        error = $"unknown latency profile '{text}': {forms}";
        return false;
    }

    private sealed class NoneProfile : LatencyProfile
    {
        public override string Name => "none";
        public override TimeSpan NextDelay(Random random) => TimeSpan.Zero;
    }

    private sealed class FixedProfile : LatencyProfile
    {
        private readonly TimeSpan _delay;
        private readonly int _ms;

        public FixedProfile(int ms)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(ms);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(ms, MaxFixedMs);
            _ms = ms;
            _delay = TimeSpan.FromMilliseconds(ms);
        }

        public override string Name => $"fixed:{_ms.ToString(CultureInfo.InvariantCulture)}";
        public override TimeSpan NextDelay(Random random) => _delay;
    }

    private sealed class LabProfile : LatencyProfile
    {
        public override string Name => "lab";

        public override TimeSpan NextDelay(Random random)
        {
            ArgumentNullException.ThrowIfNull(random);
            double u = random.NextDouble();
            if (u < LabFastShare)
            {
                double ms = LabFastMinMs + random.NextDouble() * (LabFastMaxMs - LabFastMinMs);
                return TimeSpan.FromTicks((long)(ms * TimeSpan.TicksPerMillisecond));
            }
            // Map the remaining [0.68, 1) onto four equal buckets: 1, 2, 3, 4 s.
            int seconds = 1 + Math.Min(3, (int)((u - LabFastShare) / ((1 - LabFastShare) / 4)));
            double extra = random.NextDouble() * LabSlowJitterMs;
            return TimeSpan.FromTicks(seconds * TimeSpan.TicksPerSecond + (long)(extra * TimeSpan.TicksPerMillisecond));
        }
    }
}
