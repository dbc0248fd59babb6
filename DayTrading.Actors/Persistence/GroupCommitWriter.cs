namespace DayTrading.Persistence;

/// <summary>
/// Group commit: callers (one per WriteMessagesAsync call) enqueue their rows; ONE dedicated thread takes
/// everything queued (up to max-batch-size AtomicWrites), writes it in ONE transaction, commits, then
/// completes every caller of the batch. While a batch commits, the next one accumulates in the queue.
///
/// Failure contract: if a batch transaction fails, nothing of it is committed (one transaction) and, when
/// <c>retryIndividually</c> is on and the batch had more than one entry, each entry is retried alone in its
/// own transaction so only the culprit(s) fail. An entry is completed successfully ONLY after the COMMIT
/// that contains it returned; every other outcome completes it with the exception.
///
/// A failure does not prove that nothing was written: a connection lost after the COMMIT (or the Redis script)
/// was sent leaves the outcome unknown. So callers take a failure as "unknown" (the account answers so and
/// recovers from the journal, which tells), and writing the same rows again is safe: every store refuses a second
/// row at the same (persistence id, sequence number) — the SQL stores' unique index, the Redis script's duplicate
/// check, which takes its own earlier rows found there byte for byte as committed.
/// </summary>
public sealed class GroupCommitWriter : IDisposable
{
    /// <summary>Told once, on the writer thread, when a <see cref="Write"/> is committed (null) or failed.</summary>
    public interface IWriteCompletion
    {
        void Completed(Exception? error);
    }

    public sealed class Entry
    {
        private readonly TaskCompletionSource? _completion;
        private readonly IWriteCompletion? _onDone;

        internal Entry(IReadOnlyList<JournalRow> rows, int atomicWrites, IWriteCompletion? onDone)
        {
            Rows = rows;
            AtomicWrites = atomicWrites;
            if (onDone is null) _completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            else _onDone = onDone;
        }

        public IReadOnlyList<JournalRow> Rows { get; }
        public int AtomicWrites { get; }
        internal Task Task => _completion?.Task ?? Task.CompletedTask;

        internal void Complete(Exception? error)
        {
            if (_onDone is not null)
            {
                // Runs on the writer thread: it only tells actors, so it is short and must not throw into the loop.
                try { _onDone.Completed(error); } catch { /* a reply that cannot be told changes nothing committed */ }
            }
            else if (error is null) _completion!.TrySetResult();
            else _completion!.TrySetException(error);
        }
    }

    private readonly Func<IJournalBatchWriter> _openWriter;
    private readonly int _maxBatch;
    private readonly bool _retryIndividually;
    private readonly Queue<Entry> _queue = new();
    private readonly object _lock = new();
    private readonly Thread _thread;
    private IJournalBatchWriter? _writer;
    private bool _stopping;

    private long _lastCommitMs, _lastFailureMs;
    private string? _lastError;
    private long _batches, _entries, _atomicWrites, _rows, _failedBatches, _maxBatchAtomicWrites;

    /// <summary>Test hook: runs inside each batch transaction after the inserts and before COMMIT.</summary>
    public Action<IReadOnlyList<Entry>>? BeforeCommit { get; set; }

    public GroupCommitWriter(Func<IJournalBatchWriter> openWriter, int maxBatchAtomicWrites, bool retryIndividually, string name = "daytrading-journal-writer")
    {
        _openWriter = openWriter;
        _maxBatch = Math.Max(1, maxBatchAtomicWrites);
        _retryIndividually = retryIndividually;
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
        JournalInstruments.Track(this);
    }

    /// <summary>
    /// When (<see cref="Environment.TickCount64"/>, 0: never) a batch last committed and last failed, and why it failed.
    /// </summary>
    public (long CommitMs, long FailureMs, string? Error) LastOutcome =>
        (Interlocked.Read(ref _lastCommitMs), Interlocked.Read(ref _lastFailureMs), Volatile.Read(ref _lastError));

    /// <summary>Writes queued and not yet taken into a batch.</summary>
    public int QueueDepth
    {
        get
        {
            lock (_lock) return _queue.Count;
        }
    }

    public JournalMetrics Metrics
    {
        get
        {
            int pending;
            lock (_lock) pending = _queue.Count;
            return new JournalMetrics(Interlocked.Read(ref _batches), Interlocked.Read(ref _entries), Interlocked.Read(ref _atomicWrites),
                Interlocked.Read(ref _rows), Interlocked.Read(ref _failedBatches), Interlocked.Read(ref _maxBatchAtomicWrites), pending);
        }
    }

    /// <summary>Queues rows (of <paramref name="atomicWrites"/> AtomicWrites) and completes when committed.</summary>
    public Task WriteAsync(IReadOnlyList<JournalRow> rows, int atomicWrites)
    {
        if (rows.Count == 0) return Task.CompletedTask;
        var e = new Entry(rows, Math.Max(1, atomicWrites), null);
        return Enqueue(e) ? e.Task : Task.FromException(Stopped());
    }

    /// <summary>
    /// Queues rows and calls <paramref name="onDone"/> on the writer thread once they are committed (null) or failed.
    /// Entries complete in the order they were queued, an entry with no rows too (after the batch it joined), so a
    /// caller's replies keep the order of its writes.
    /// </summary>
    public void Write(IReadOnlyList<JournalRow> rows, int atomicWrites, IWriteCompletion onDone)
    {
        if (!Enqueue(new Entry(rows, Math.Max(1, atomicWrites), onDone))) onDone.Completed(Stopped());
    }

    private static ObjectDisposedException Stopped() => new(nameof(GroupCommitWriter), "journal writer is stopped");

    private bool Enqueue(Entry e)
    {
        lock (_lock)
        {
            if (_stopping) return false;
            _queue.Enqueue(e);
            if (_queue.Count == 1) Monitor.Pulse(_lock);
        }
        return true;
    }

    private void Loop()
    {
        var batch = new List<Entry>();
        var rows = new List<JournalRow>();
        while (true)
        {
            batch.Clear();
            rows.Clear();
            lock (_lock)
            {
                while (_queue.Count == 0 && !_stopping) Monitor.Wait(_lock);
                if (_queue.Count == 0 && _stopping) break;
                var aw = 0;
                while (_queue.Count > 0 && (batch.Count == 0 || aw + _queue.Peek().AtomicWrites <= _maxBatch))
                {
                    var e = _queue.Dequeue();
                    aw += e.AtomicWrites;
                    batch.Add(e);
                }
            }
            foreach (var e in batch) rows.AddRange(e.Rows);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                if (rows.Count > 0) Commit(rows, batch);
                Count(batch, rows.Count, started);
                foreach (var e in batch) e.Complete(null);
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _failedBatches);
                JournalInstruments.Failed();
                Volatile.Write(ref _lastError, ex.Message);
                Interlocked.Exchange(ref _lastFailureMs, Environment.TickCount64);
                ResetWriter();
                // Retry alone only if the database is reachable again (a fresh connection opens); when it is
                // down, fail the whole batch at once instead of timing out once per entry.
                var canRetry = false;
                if (_retryIndividually && batch.Count > 1)
                {
                    try { _writer = _openWriter(); canRetry = true; }
                    catch { ResetWriter(); }
                }
                if (canRetry)
                {
                    foreach (var e in batch)
                    {
                        var startedAlone = System.Diagnostics.Stopwatch.GetTimestamp();
                        try
                        {
                            if (e.Rows.Count > 0) Commit(e.Rows, new[] { e });
                            Count(new[] { e }, e.Rows.Count, startedAlone);
                            e.Complete(null);
                        }
                        catch (Exception ex2)
                        {
                            Interlocked.Increment(ref _failedBatches);
                            JournalInstruments.Failed();
                            ResetWriter();
                            e.Complete(ex2);
                        }
                    }
                }
                else
                {
                    foreach (var e in batch) e.Complete(ex);
                }
            }
        }
        ResetWriter();
    }

    private void Commit(IReadOnlyList<JournalRow> rows, IReadOnlyList<Entry> entries)
    {
        _writer ??= _openWriter();
        var hook = BeforeCommit;
        _writer.WriteBatch(rows, hook is null ? null : () => hook(entries));
    }

    private void Count(IReadOnlyList<Entry> batch, int rowCount, long startTimestamp)
    {
        long aw = 0;
        foreach (var e in batch) aw += e.AtomicWrites;
        if (rowCount > 0) JournalInstruments.Committed(aw, startTimestamp);
        Interlocked.Exchange(ref _lastCommitMs, Environment.TickCount64);
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _entries, batch.Count);
        Interlocked.Add(ref _atomicWrites, aw);
        Interlocked.Add(ref _rows, rowCount);
        long cur;
        while (aw > (cur = Interlocked.Read(ref _maxBatchAtomicWrites)) &&
               Interlocked.CompareExchange(ref _maxBatchAtomicWrites, aw, cur) != cur) { }
    }

    private void ResetWriter()
    {
        try { _writer?.Dispose(); } catch { /* connection already broken */ }
        _writer = null;
    }

    /// <summary>Stops accepting writes, lets the queued ones commit, then closes the connection.</summary>
    public void Dispose()
    {
        JournalInstruments.Untrack(this);
        lock (_lock)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
        if (Thread.CurrentThread != _thread) _thread.Join(TimeSpan.FromSeconds(30));
    }
}
