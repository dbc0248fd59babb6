using System.Globalization;
using DayTrading.Loadgen.Metrics;
using Spectre.Console;

namespace DayTrading.Loadgen.Reporting;

/// <summary>
/// Progress while a run goes: every second the sampler closes a one-second interval of <see cref="RunMetrics"/>
/// (that feeds the "over time" charts). On a terminal a Spectre.Console live table shows throughput, ok/errors,
/// p50/p99, in-flight requests and a progress bar with ETA; when the output is redirected (CI logs) a plain line is
/// written every <c>plainInterval</c> instead, with no escape codes.
/// </summary>
public sealed class LiveConsole
{
    private readonly RunMetrics _metrics;
    private readonly long _planned;
    private readonly bool _live;
    private readonly TimeSpan _plainInterval;
    private readonly TextWriter _out;

    public LiveConsole(RunMetrics metrics, long planned, bool allowLive, TimeSpan plainInterval, TextWriter? output = null)
    {
        _metrics = metrics;
        _planned = Math.Max(planned, 1);
        _out = output ?? Console.Out;
        _live = allowLive && output is null && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        _plainInterval = plainInterval <= TimeSpan.Zero ? TimeSpan.FromSeconds(5) : plainInterval;
    }

    public bool IsLive => _live;

    /// <summary>Samples once per second until <paramref name="run"/> completes, then closes the last interval.</summary>
    public async Task<T> RunAsync<T>(Task<T> run)
    {
        if (_live)
        {
            await AnsiConsole.Live(Render(null)).AutoClear(false).StartAsync(async ctx =>
            {
                while (!run.IsCompleted)
                {
                    await Task.WhenAny(run, Task.Delay(1000)).ConfigureAwait(false);
                    if (run.IsCompleted) break;
                    ctx.UpdateTarget(Render(_metrics.Tick()));
                }
                ctx.UpdateTarget(Render(_metrics.Tick()));
            }).ConfigureAwait(false);
        }
        else
        {
            var lastPrint = TimeSpan.Zero;
            while (!run.IsCompleted)
            {
                await Task.WhenAny(run, Task.Delay(1000)).ConfigureAwait(false);
                if (run.IsCompleted) break;
                var p = _metrics.Tick();
                if (_metrics.Elapsed - lastPrint >= _plainInterval)
                {
                    lastPrint = _metrics.Elapsed;
                    _out.WriteLine(PlainLine(p));
                }
            }
            _out.WriteLine(PlainLine(_metrics.Tick()));
        }
        return await run.ConfigureAwait(false);
    }

    private (long Answered, double Fraction, string Eta) Progress()
    {
        var (ok, refused, failed, _, _) = _metrics.Snapshot();
        var answered = ok + refused + failed + _metrics.WarmupCount + _metrics.Dumps.Total;
        var fraction = Math.Min(1.0, (double)answered / _planned);
        var elapsed = _metrics.Elapsed.TotalSeconds;
        var eta = answered == 0 || elapsed <= 0 ? "?" : TimeSpan.FromSeconds(Math.Round((_planned - answered) / (answered / elapsed))).ToString("c", CultureInfo.InvariantCulture);
        return (answered, fraction, eta);
    }

    public string PlainLine(TimelinePoint p)
    {
        var (ok, refused, failed, p50, p99) = _metrics.Snapshot();
        var (answered, fraction, eta) = Progress();
        return string.Create(CultureInfo.InvariantCulture,
            $"[{_metrics.Elapsed:hh\\:mm\\:ss}] {answered}/{_planned} ({fraction:P0}) ETA {eta} | last 1s: {PerSecond(p)} req/s, p50 {p.P50Ms:0.##} ms, p99 {p.P99Ms:0.##} ms | total ok {ok} refused {refused} failed {failed} p50 {p50:0.##} ms p99 {p99:0.##} ms | in flight {p.InFlight}");
    }

    /// <summary>The interval's trading answers per second (the interval is about a second; the last one shorter).</summary>
    private static string PerSecond(TimelinePoint p) =>
        (p.IntervalSeconds <= 0 ? 0 : p.Answered / p.IntervalSeconds).ToString("0", CultureInfo.InvariantCulture);

    private Table Render(TimelinePoint? p)
    {
        var (ok, refused, failed, p50, p99) = _metrics.Snapshot();
        var (answered, fraction, eta) = Progress();
        var bar = new string('█', (int)(fraction * 30)).PadRight(30, '░');
        var t = new Table().Border(TableBorder.Rounded).Title("[bold]DayTrading load[/]");
        t.AddColumn("metric");
        t.AddColumn(new TableColumn("value").RightAligned());
        string I(FormattableString f) => f.ToString(CultureInfo.InvariantCulture);
        t.AddRow("elapsed", I($"{_metrics.Elapsed:hh\\:mm\\:ss}"));
        t.AddRow("progress", I($"{bar} {fraction:P0}  {answered}/{_planned}  ETA {eta}"));
        t.AddRow("throughput (last 1 s)", p is null ? "-" : I($"{PerSecond(p)} req/s"));
        t.AddRow("ok / refused / failed", I($"[green]{ok}[/] / [yellow]{refused}[/] / [red]{failed}[/]"));
        t.AddRow("p50 / p99 (last 1 s)", p is null ? "-" : I($"{p.P50Ms:0.##} / {p.P99Ms:0.##} ms"));
        t.AddRow("p50 / p99 (whole run)", I($"{p50:0.##} / {p99:0.##} ms"));
        t.AddRow("in flight / resends", I($"{p?.InFlight ?? 0} / {_metrics.Retries}"));
        return t;
    }
}
