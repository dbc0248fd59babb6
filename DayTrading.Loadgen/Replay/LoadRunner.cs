using DayTrading.Accounts;
using System.Diagnostics;
using DayTrading.Loadgen.Client;
using DayTrading.Loadgen.Metrics;
using DayTrading.Loadgen.Workloads;

namespace DayTrading.Loadgen.Replay;

public sealed record LoadOptions
{
    public required IReadOnlyList<Target> Targets { get; init; }
    public int ConnectionsPerTarget { get; init; } = 2;
    public required string RunId { get; init; }
    public bool Quiet { get; init; }

    /// <summary>Closed model: at most this many users with a request in flight (null: every user).</summary>
    public int? Concurrency { get; init; }

    /// <summary>Open model when set: requests per second across all users (per-user order still kept).</summary>
    public double? Rate { get; init; }

    /// <summary>Open model: the rate climbs linearly from 0 over this time. Closed model: users start spread over it.</summary>
    public TimeSpan Ramp { get; init; }

    /// <summary>Results of requests (intended to be) sent during this first part of the run are not reported.</summary>
    public TimeSpan Warmup { get; init; }

    /// <summary>Stop sending new requests after this time (null: the whole workload).</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>How many times one request is resent after its connection broke.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>Leave out the admin DUMPLOG at the end.</summary>
    public bool SkipAdminDump { get; init; }
}

/// <summary>What the runner did (the measurements are in <see cref="RunMetrics"/>).</summary>
public sealed record LoadOutcome(long Planned, long Sent, long Answered, bool StoppedEarly, string? FatalError, TimeSpan WallTime);

/// <summary>
/// Replays a workload the course way, measured: each user's commands in order (the next one sent only after the
/// previous one was answered), users concurrently, spread over every connection of every target; the admin
/// DUMPLOG after everything else was answered. A request whose connection breaks is resent, with the same
/// <c>[N]</c> and run id, on the slot's replacement connection (another target when there is one).
/// <para>
/// Closed model: each user sends as fast as its order allows (at most <see cref="LoadOptions.Concurrency"/> users in
/// flight). Open model: request i of the workload (file order) is due at the i-th arrival of a constant-rate
/// schedule; it is sent at max(due time, its user's previous answer); latency counts from the due time, service time
/// from the actual send, and the difference (lateness) is reported.
/// </para>
/// </summary>
public sealed class LoadRunner
{
    private readonly LoadOptions _options;
    private readonly RunMetrics _metrics;
    private readonly Action<string>? _log;

    /// <summary>Called once per answered request (for tests and tools): command, final response, attempts used.</summary>
    public Action<WorkloadCommand, EdgeResponse, int>? OnAnswer { get; init; }

    public LoadRunner(LoadOptions options, RunMetrics metrics, Action<string>? log = null)
    {
        if (options.Rate is <= 0) throw new ArgumentOutOfRangeException(nameof(options), "rate must be > 0");
        if (options.Concurrency is < 1) throw new ArgumentOutOfRangeException(nameof(options), "concurrency must be >= 1");
        _options = options;
        _metrics = metrics;
        _log = log;
    }

    private sealed record UserWork(List<(WorkloadCommand Command, long Index)> Commands);

    public async Task<LoadOutcome> RunAsync(IReadOnlyList<WorkloadCommand> commands, CancellationToken ct = default)
    {
        var byUser = new Dictionary<string, List<(WorkloadCommand, long)>>(StringComparer.Ordinal);
        var users = new List<List<(WorkloadCommand, long)>>();
        var admin = new List<WorkloadCommand>();
        long index = 0;
        foreach (var c in commands)
        {
            if (c.IsAdminDump)
            {
                if (!_options.SkipAdminDump) admin.Add(c);
                continue;
            }
            var key = c.UserId ?? string.Empty;
            if (!byUser.TryGetValue(key, out var list))
            {
                byUser[key] = list = [];
                users.Add(list);
            }
            list.Add((c, index++));
        }
        var planned = index + admin.Count;

        // Answers complete on the connection's read loop (this runner's continuations are short and never block);
        // bodies are kept only when someone looks at the answers.
        var clientOptions = new EdgeClientOptions
        {
            RunId = _options.RunId, Quiet = _options.Quiet, KeepBodies = OnAnswer is not null, InlineCompletions = true,
        };
        await using var pool = new ConnectionPool(_options.Targets, _options.ConnectionsPerTarget, clientOptions, _log);
        string? fatal = null;
        var stoppedEarly = false;
        long answered = 0;

        try
        {
            await pool.ConnectAllAsync(ct).ConfigureAwait(false);
        }
        catch (AllTargetsDownException ex)
        {
            return new LoadOutcome(planned, 0, 0, false, ex.Message, TimeSpan.Zero);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var gate = _options.Concurrency is { } cap ? new SemaphoreSlim(cap, cap) : null;
        var start = Stopwatch.GetTimestamp();
        _metrics.Start();
        var deadline = _options.Duration is { } d ? start + (long)(d.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        using var clock = _options.Rate is null ? null : new SendClock(stop.Token);

        async Task RunUser(List<(WorkloadCommand Command, long Index)> work, int slot, TimeSpan startDelay)
        {
            if (startDelay > TimeSpan.Zero) await Task.Delay(startDelay, stop.Token).ConfigureAwait(false);
            long previousDone = 0;
            foreach (var (cmd, i) in work)
            {
                if (stop.IsCancellationRequested) return;
                long intended;
                if (_options.Rate is { } rate)
                {
                    intended = start + (long)(Schedule(i, rate, _options.Ramp.TotalSeconds) * Stopwatch.Frequency);
                    if (intended >= deadline)
                    {
                        stoppedEarly = true;
                        return;
                    }
                    await clock!.WaitUntil(intended).ConfigureAwait(false);
                }
                else
                {
                    if (Stopwatch.GetTimestamp() >= deadline)
                    {
                        stoppedEarly = true;
                        return;
                    }
                    intended = 0;
                }

                if (gate is not null) await gate.WaitAsync(stop.Token).ConfigureAwait(false);
                try
                {
                    var sent = Stopwatch.GetTimestamp();
                    if (intended == 0) intended = sent;
                    var (response, attempts) = await SendWithRetryAsync(pool, slot, cmd, stop.Token).ConfigureAwait(false);
                    var done = Stopwatch.GetTimestamp();
                    Interlocked.Increment(ref answered);
                    var warm = intended - start < (long)(_options.Warmup.TotalSeconds * Stopwatch.Frequency);
                    _metrics.Record(cmd.Kind is { } k ? k.Name() : response.Command,
                        response.Ok, response.Reason,
                        Micros(done - intended), Micros(done - sent), Micros(sent - intended), warm,
                        blockedByPrevious: _options.Rate is not null && previousDone > intended);
                    previousDone = done;
                    OnAnswer?.Invoke(cmd, response, attempts);
                }
                finally
                {
                    gate?.Release();
                }
            }
        }

        var tasks = new Task[users.Count];
        for (var u = 0; u < users.Count; u++)
        {
            var slot = u % pool.SlotCount;
            var delay = _options.Rate is null && _options.Ramp > TimeSpan.Zero
                ? TimeSpan.FromTicks(_options.Ramp.Ticks * u / users.Count)
                : TimeSpan.Zero;
            var work = users[u];
            tasks[u] = Task.Run(async () =>
            {
                try
                {
                    await RunUser(work, slot, delay).ConfigureAwait(false);
                }
                catch (AllTargetsDownException)
                {
                    await stop.CancelAsync().ConfigureAwait(false); // the others stop too
                    throw;
                }
            });
        }

        try
        {
            try
            {
                await Task.WhenAll(tasks).ConfigureAwait(false);
            }
            catch (Exception) when (tasks.Any(t => t.Exception?.InnerException is AllTargetsDownException))
            {
                throw tasks.Select(t => t.Exception?.InnerException).OfType<AllTargetsDownException>().First();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                stoppedEarly = true;
            }

            if (!ct.IsCancellationRequested)
            {
                foreach (var a in admin)
                {
                    var sent = Stopwatch.GetTimestamp();
                    var (response, attempts) = await SendWithRetryAsync(pool, 0, a, ct).ConfigureAwait(false);
                    var done = Stopwatch.GetTimestamp();
                    Interlocked.Increment(ref answered);
                    _metrics.Record("DUMPLOG", response.Ok, response.Reason, Micros(done - sent), Micros(done - sent), 0, false);
                    OnAnswer?.Invoke(a, response, attempts);
                }
            }
        }
        catch (AllTargetsDownException ex)
        {
            fatal = ex.Message;
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(tasks).ConfigureAwait(false);
            }
            catch
            {
                // every user stops; already reported
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            stoppedEarly = true;
        }
        finally
        {
            _metrics.Stop();
            _metrics.Reconnects = pool.Reconnects;
        }

        return new LoadOutcome(planned, Interlocked.Read(ref _metrics.Sent), answered, stoppedEarly || ct.IsCancellationRequested,
            fatal, Stopwatch.GetElapsedTime(start));
    }

    /// <summary>
    /// Seconds from the start at which request <paramref name="i"/> (0-based) is due at <paramref name="rate"/>/s,
    /// the rate climbing linearly from 0 during <paramref name="rampSeconds"/>.
    /// </summary>
    public static double Schedule(long i, double rate, double rampSeconds)
    {
        if (rampSeconds <= 0) return i / rate;
        var rampRequests = rate * rampSeconds / 2; // area under the ramp
        return i < rampRequests ? Math.Sqrt(2 * rampSeconds * i / rate) : rampSeconds + (i - rampRequests) / rate;
    }

    private static long Micros(long stopwatchTicks) => Math.Max(0, stopwatchTicks) * 1_000_000 / Stopwatch.Frequency;

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(EdgeResponse Response, int Attempts)> SendWithRetryAsync(ConnectionPool pool, int slot, WorkloadCommand cmd, CancellationToken ct)
    {
        var client = await pool.GetAsync(slot, ct).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            Interlocked.Increment(ref _metrics.InFlight);
            Interlocked.Increment(ref _metrics.Sent);
            try
            {
                var response = await client.SendValueAsync(cmd.Line, ct).ConfigureAwait(false);
                // The node gave up waiting for the account (its shard was moving, e.g. a node was lost): the request
                // may or may not have been applied. Resend it (same run id and N: applied at most once) before the
                // user's next one, so the user's requests still take effect in order.
                if (!response.Ok && response.Reason?.Contains("outcome is unknown", StringComparison.Ordinal) == true && attempt <= _options.MaxRetries)
                {
                    Interlocked.Increment(ref _metrics.Retries);
                    Interlocked.Increment(ref _metrics.UnknownOutcomes);
                    continue;
                }
                return (response, attempt);
            }
            catch (IOException ex) when (!ct.IsCancellationRequested)
            {
                if (attempt > _options.MaxRetries)
                    throw new AllTargetsDownException($"request '{cmd.Line}' failed {attempt} times; last error: {ex.Message}", ex);
                Interlocked.Increment(ref _metrics.Retries);
                client = await pool.ReplaceAsync(slot, client, ct).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _metrics.InFlight);
            }
        }
    }
}
