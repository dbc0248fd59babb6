using System.Diagnostics;

namespace DayTrading.Loadgen.Replay;

/// <summary>
/// The open model's one clock: every user waits here for its request's intended send time, and one thread releases
/// all that are due about once a millisecond. A wait per user (a timer each, then yielding until due) cost the
/// generator 65 µs of CPU a request at 10,000/s on two cores, taken from the server it measures; this costs one
/// wake-up a millisecond. A request is never released early, and at most about a tick late; lateness is measured
/// (intended to sent) and part of the reported latency anyway.
/// </summary>
internal sealed class SendClock : IDisposable
{
    private readonly PriorityQueue<TaskCompletionSource, long> _due = new();
    private readonly object _lock = new();
    private readonly Thread _thread;
    private readonly CancellationToken _ct;
    private volatile bool _stopped;

    public SendClock(CancellationToken ct)
    {
        _ct = ct;
        _thread = new Thread(Run) { IsBackground = true, Name = "loadgen-send-clock", Priority = ThreadPriority.AboveNormal };
        _thread.Start();
    }

    /// <summary>Completes at or after <paramref name="intended"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public Task WaitUntil(long intended)
    {
        if (Stopwatch.GetTimestamp() >= intended) return Task.CompletedTask;
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_stopped) tcs.TrySetCanceled(_ct);
            else _due.Enqueue(tcs, intended);
        }
        return tcs.Task;
    }

    private void Run()
    {
        var ready = new List<TaskCompletionSource>();
        while (!_stopped && !_ct.IsCancellationRequested)
        {
            var now = Stopwatch.GetTimestamp();
            lock (_lock)
            {
                while (_due.TryPeek(out var tcs, out var at) && at <= now)
                {
                    _due.Dequeue();
                    ready.Add(tcs);
                }
            }
            foreach (var tcs in ready) tcs.TrySetResult();
            ready.Clear();
            Thread.Sleep(1);
        }
        lock (_lock)
        {
            _stopped = true;
            while (_due.TryDequeue(out var tcs, out _)) tcs.TrySetCanceled(_ct);
        }
    }

    public void Dispose()
    {
        _stopped = true;
        if (Thread.CurrentThread != _thread) _thread.Join(TimeSpan.FromSeconds(5));
    }
}
