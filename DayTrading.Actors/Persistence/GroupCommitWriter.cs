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
/// </summary>
public sealed class GroupCommitWriter : IDisposable
{
    public sealed class Entry
    {
        internal Entry(IReadOnlyList<JournalRow> rows, int atomicWrites)
        {
            Rows = rows;
            AtomicWrites = atomicWrites;
        }

        public IReadOnlyList<JournalRow> Rows { get; }
        public int AtomicWrites { get; }
        internal readonly TaskCompletionSource Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Func<IJournalBatchWriter> _openWriter;
    private readonly int _maxBatch;
    private readonly bool _retryIndividually;
    private readonly Queue<Entry> _queue = new();
    private readonly object _lock = new();
    private readonly Thread _thread;
    private IJournalBatchWriter? _writer;
    private bool _stopping;

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
        var e = new Entry(rows, Math.Max(1, atomicWrites));
        lock (_lock)
        {
            if (_stopping) return Task.FromException(new ObjectDisposedException(nameof(GroupCommitWriter), "journal writer is stopped"));
            _queue.Enqueue(e);
            if (_queue.Count == 1) Monitor.Pulse(_lock);
        }
        return e.Completion.Task;
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
            try
            {
                Commit(rows, batch);
                Count(batch, rows.Count);
                foreach (var e in batch) e.Completion.TrySetResult();
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _failedBatches);
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
                        try
                        {
                            Commit(e.Rows, new[] { e });
                            Count(new[] { e }, e.Rows.Count);
                            e.Completion.TrySetResult();
                        }
                        catch (Exception ex2)
                        {
                            Interlocked.Increment(ref _failedBatches);
                            ResetWriter();
                            e.Completion.TrySetException(ex2);
                        }
                    }
                }
                else
                {
                    foreach (var e in batch) e.Completion.TrySetException(ex);
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

    private void Count(IReadOnlyList<Entry> batch, int rowCount)
    {
        long aw = 0;
        foreach (var e in batch) aw += e.AtomicWrites;
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
        lock (_lock)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
        if (Thread.CurrentThread != _thread) _thread.Join(TimeSpan.FromSeconds(30));
    }
}
