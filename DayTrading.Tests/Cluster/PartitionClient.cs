using System.Collections.Concurrent;
using System.Diagnostics;
using DayTrading.Loadgen.Client;
using DayTrading.Loadgen.Workloads;
using DayTrading.Tests.Support;

namespace DayTrading.Tests.Cluster;

/// <summary>What became of one try to get a request answered.</summary>
public enum AttemptOutcome
{
    /// <summary>An answer (OK or a domain ERR): the request's outcome.</summary>
    Answered,
    /// <summary>The edge's own time-out: "the outcome is unknown, retry with the same run id and N".</summary>
    UnknownOutcome,
    /// <summary>No answer within the client's answer time-out.</summary>
    TimedOut,
    /// <summary>The connection broke (reset or closed) while the request waited.</summary>
    Broken,
    /// <summary>No connection to the edge within the connect time-out (or refused).</summary>
    ConnectFailed,
}

public sealed record Attempt(int Edge, long StartMs, long EndMs, AttemptOutcome Outcome, string? Detail);

/// <summary>One request of the run: its attempts and the answer that settled it.</summary>
public sealed class RequestResult(WorkloadCommand command, long firstSentMs)
{
    public WorkloadCommand Command { get; } = command;
    public long FirstSentMs { get; } = firstSentMs;
    public List<Attempt> Attempts { get; } = [];
    public EdgeResponse? Answer { get; set; }
    public long AnsweredMs { get; set; }
    public int AnsweredBy { get; set; } = -1;
    public long WaitMs => AnsweredMs - FirstSentMs;
}

/// <summary>
/// The partition test's client, as a careful real one would behave: each user sends its commands one after the
/// other (a short pause after each answer) to its home edge, all under one run id. When an edge gives no answer
/// within <see cref="AnswerTimeout"/>, breaks the connection, cannot be connected to, or answers "outcome
/// unknown", the user sends the same line (same run id and N: applied at most once) to the next edge and stays
/// there. Every attempt is recorded with its time and edge, which is what the test reports of what clients see.
/// </summary>
public sealed class PartitionClient : IAsyncDisposable
{
    private readonly NetLab _lab;
    private readonly int _edges;
    private readonly string _runId;
    private readonly Slot[] _slots;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<RequestResult> _results = new();
    private readonly ConcurrentDictionary<RequestResult, byte> _waiting = new();
    private readonly List<Task> _users = [];
    private readonly CancellationTokenSource _stop = new();
    private int _epoch;

    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan Think { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A request still unanswered after this long, over every edge, fails the run.</summary>
    public TimeSpan GiveUp { get; init; } = TimeSpan.FromSeconds(150);

    /// <summary>The wall-clock moment of <see cref="NowMs"/> 0.</summary>
    public DateTime StartedUtc { get; } = DateTime.UtcNow;

    private sealed class Slot
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public EdgeClient? Client;
        public long RetryAtMs;
    }

    public PartitionClient(NetLab lab, int edges, string runId)
    {
        _lab = lab;
        _edges = edges;
        _runId = runId;
        _slots = Enumerable.Range(0, edges).Select(_ => new Slot()).ToArray();
    }

    public long NowMs => _clock.ElapsedMilliseconds;

    public long ToMs(DateTime utc) => (long)(utc - StartedUtc).TotalMilliseconds;

    public IReadOnlyList<RequestResult> Results => _results.ToArray();

    /// <summary>How long the longest-waiting request not answered yet has been waiting (0: none waits).</summary>
    public long LongestWaitingMs
    {
        get
        {
            var now = NowMs;
            return _waiting.Keys.Select(r => now - r.FirstSentMs).DefaultIfEmpty(0).Max();
        }
    }

    /// <summary>Set when a user gave up (a request unanswered for <see cref="GiveUp"/>): the run failed.</summary>
    public string? Failure { get; private set; }

    /// <summary>Starts a user sending <paramref name="commands"/> to edge <paramref name="home"/> (0-based) first.</summary>
    public void StartUser(IReadOnlyList<WorkloadCommand> commands, int home)
    {
        lock (_users) _users.Add(Task.Run(() => RunUser(commands, home)));
    }

    /// <summary>Every user's next request goes to its home edge again, on a fresh connection (e.g. once a lost node is back).</summary>
    public void Rehome()
    {
        Interlocked.Increment(ref _epoch);
        foreach (var slot in _slots)
        {
            var old = Interlocked.Exchange(ref slot.Client, null);
            slot.RetryAtMs = 0;
            // Requests may still wait on the old connection: close it once they are long settled.
            if (old is not null) _ = Task.Delay(TimeSpan.FromSeconds(40)).ContinueWith(_ => old.DisposeAsync().AsTask());
        }
    }

    /// <summary>Users stop before their next request; waits until every request sent has its answer.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        Task[] users;
        lock (_users) users = _users.ToArray();
        await Task.WhenAll(users);
    }

    private async Task RunUser(IReadOnlyList<WorkloadCommand> commands, int home)
    {
        var edge = home;
        var epoch = Volatile.Read(ref _epoch);
        foreach (var command in commands)
        {
            if (_stop.IsCancellationRequested || Failure is not null) return;
            var now = Volatile.Read(ref _epoch);
            if (now != epoch)
            {
                epoch = now;
                edge = home;
            }
            var result = new RequestResult(command, NowMs);
            _waiting[result] = 0;
            try
            {
                edge = await Settle(result, edge);
            }
            finally
            {
                _waiting.TryRemove(result, out _);
            }
            _results.Enqueue(result);
            if (result.Answer is null) return;
            await Task.Delay(Think);
        }
    }

    /// <summary>Tries edge after edge until the request has its outcome; returns the edge that gave it.</summary>
    private async Task<int> Settle(RequestResult result, int edge)
    {
        while (true)
        {
            if (NowMs - result.FirstSentMs > GiveUp.TotalMilliseconds)
            {
                Failure ??= $"'{result.Command.Line}' got no answer within {GiveUp.TotalSeconds:0} s on any edge; attempts: " +
                    string.Join(", ", result.Attempts.Select(a => $"edge {a.Edge + 1} {a.Outcome} at {a.StartMs} ms"));
                return edge;
            }
            var start = NowMs;
            EdgeClient client;
            try
            {
                client = await Connection(edge);
            }
            catch (Exception e)
            {
                result.Attempts.Add(new Attempt(edge, start, NowMs, AttemptOutcome.ConnectFailed, e.GetBaseException().Message));
                edge = (edge + 1) % _edges;
                await Task.Delay(200);
                continue;
            }
            try
            {
                var answer = await client.SendAsync(result.Command.Line).WaitAsync(AnswerTimeout);
                if (!answer.Ok && answer.Reason?.Contains("outcome is unknown", StringComparison.Ordinal) == true)
                {
                    result.Attempts.Add(new Attempt(edge, start, NowMs, AttemptOutcome.UnknownOutcome, answer.Reason));
                    edge = (edge + 1) % _edges;
                    continue;
                }
                result.Attempts.Add(new Attempt(edge, start, NowMs, AttemptOutcome.Answered, answer.Ok ? null : answer.Reason));
                result.Answer = answer;
                result.AnsweredMs = NowMs;
                result.AnsweredBy = edge;
                return edge;
            }
            catch (TimeoutException)
            {
                result.Attempts.Add(new Attempt(edge, start, NowMs, AttemptOutcome.TimedOut, null));
                edge = (edge + 1) % _edges;
            }
            catch (IOException e)
            {
                result.Attempts.Add(new Attempt(edge, start, NowMs, AttemptOutcome.Broken, e.GetBaseException().Message));
                var slot = _slots[edge];
                if (Interlocked.CompareExchange(ref slot.Client, null, client) == client) _ = client.DisposeAsync().AsTask();
                edge = (edge + 1) % _edges;
                await Task.Delay(100);
            }
        }
    }

    private async Task<EdgeClient> Connection(int edge)
    {
        var slot = _slots[edge];
        if (Volatile.Read(ref slot.Client) is { } ready) return ready;
        await slot.Gate.WaitAsync();
        try
        {
            if (slot.Client is { } c) return c;
            // An edge that just failed to connect is not tried again for a second (the user moves on meanwhile).
            if (NowMs < slot.RetryAtMs) throw new IOException("could not connect a moment ago");
            using var cts = new CancellationTokenSource(ConnectTimeout);
            var connect = _lab.ConnectEdgeAsync(edge + 1, _runId, cts.Token);
            try
            {
                // The #RUN directive's answer is awaited inside, without the token: bound the whole connect.
                slot.Client = await connect.WaitAsync(ConnectTimeout);
            }
            catch
            {
                slot.RetryAtMs = NowMs + 1000;
                _ = connect.ContinueWith(t => t.Result.DisposeAsync().AsTask(), TaskContinuationOptions.OnlyOnRanToCompletion);
                throw;
            }
            return slot.Client;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var slot in _slots)
        {
            if (Interlocked.Exchange(ref slot.Client, null) is { } c) await c.DisposeAsync();
        }
    }
}
