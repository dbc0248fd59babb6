namespace DayTrading.Accounts;

/// <summary>
/// The requests with a run id this account has handled: (run id, transaction number) → the sequence number of the
/// <see cref="CommandHandled"/> event that holds the outcome. The outcome itself stays in the journal and is read
/// back only for a retry, which is rare: keeping every outcome (error text, quote) in memory was most of the node's
/// live heap on a 1.2 M-line run. Bounded at <see cref="Limit"/> entries, oldest forgotten first.
/// </summary>
/// <remarks>
/// About 26 bytes per entry: a ring of (transaction number, sequence number, run-id slot) in parallel arrays and an
/// open-addressing index over it. Run ids are stored once each, with a count of the entries that use them, so a
/// run id disappears with its last entry.
/// </remarks>
public sealed class RememberedRequests
{
    public const int Limit = 4096;

    private long[] _tx = [];
    private long[] _seq = [];
    private ushort[] _run = [];
    private int _head; // ring position of the oldest entry
    private int _count;

    // Index slots hold ring position + 1; 0 is empty. Capacity is a power of two and at least twice the ring's.
    private int[] _index = [];

    private string?[] _runIds = new string?[2];
    private int[] _runUses = new int[2];

    public int Count => _count;

    public bool TryGet(string runId, long txNum, out long sequenceNr)
    {
        sequenceNr = 0;
        if (_count == 0) return false;
        var run = FindRun(runId);
        if (run < 0) return false;
        var slot = FindSlot(txNum, (ushort)run);
        if (_index[slot] == 0) return false;
        sequenceNr = _seq[_index[slot] - 1];
        return true;
    }

    /// <summary>Adds an entry, forgetting the oldest at the limit; a key already known keeps its first position.</summary>
    public void Add(string runId, long txNum, long sequenceNr)
    {
        var run = RunSlotFor(runId);
        if (_count > 0)
        {
            var existing = FindSlot(txNum, run);
            if (_index[existing] != 0)
            {
                ReleaseRunIfUnused(run);
                return;
            }
        }
        _runUses[run]++; // before an eviction, which must not free the run id this entry is about to use
        if (_count == Limit) RemoveOldest();
        if (_count == _tx.Length) Grow();

        var pos = (_head + _count) % _tx.Length;
        _tx[pos] = txNum;
        _seq[pos] = sequenceNr;
        _run[pos] = run;
        _count++;
        _index[FindSlot(txNum, run)] = pos + 1;
    }

    /// <summary>Oldest first, as a snapshot writes them.</summary>
    public IEnumerable<(string RunId, long TxNum, long SequenceNr)> Entries()
    {
        for (var i = 0; i < _count; i++)
        {
            var pos = (_head + i) % _tx.Length;
            yield return (_runIds[_run[pos]]!, _tx[pos], _seq[pos]);
        }
    }

    private void RemoveOldest()
    {
        var pos = _head;
        var run = _run[pos];
        DeleteFromIndex(FindSlot(_tx[pos], run));
        _head = (_head + 1) % _tx.Length;
        _count--;
        _runUses[run]--;
        if (_runUses[run] == 0) _runIds[run] = null;
    }

    private void Grow()
    {
        var capacity = Math.Min(Limit, Math.Max(16, _tx.Length * 2));
        var tx = new long[capacity];
        var seq = new long[capacity];
        var run = new ushort[capacity];
        for (var i = 0; i < _count; i++)
        {
            var from = (_head + i) % _tx.Length;
            tx[i] = _tx[from];
            seq[i] = _seq[from];
            run[i] = _run[from];
        }
        (_tx, _seq, _run, _head) = (tx, seq, run, 0);
        _index = new int[capacity * 2];
        for (var i = 0; i < _count; i++) _index[FindSlot(_tx[i], _run[i])] = i + 1;
    }

    // Linear probing: the slot holding the key, or the empty slot where it would go.
    private int FindSlot(long txNum, ushort run)
    {
        var mask = _index.Length - 1;
        var slot = Hash(txNum, run) & mask;
        while (true)
        {
            var entry = _index[slot];
            if (entry == 0 || (_tx[entry - 1] == txNum && _run[entry - 1] == run)) return slot;
            slot = (slot + 1) & mask;
        }
    }

    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    private void DeleteFromIndex(int slot)
    {
        var mask = _index.Length - 1;
        var hole = slot;
        var next = (hole + 1) & mask;
        while (_index[next] != 0)
        {
            var entry = _index[next];
            var home = Hash(_tx[entry - 1], _run[entry - 1]) & mask;
            // Move the entry into the hole unless its home lies cyclically in (hole, next].
            var stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
            if (!stays)
            {
                _index[hole] = entry;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        _index[hole] = 0;
    }

    private static int Hash(long txNum, ushort run) =>
        (int)((ulong)(txNum * unchecked((long)0x9E3779B97F4A7C15L) + run * 0x632BE5AB) >> 33);

    private int FindRun(string runId)
    {
        for (var i = 0; i < _runIds.Length; i++)
        {
            if (_runIds[i] is { } r && string.Equals(r, runId, StringComparison.Ordinal)) return i;
        }
        return -1;
    }

    private ushort RunSlotFor(string runId)
    {
        var found = FindRun(runId);
        if (found >= 0) return (ushort)found;
        var free = Array.IndexOf(_runIds, null);
        if (free < 0)
        {
            // At most Limit + 1 run ids are ever in use at once, so a ushort slot always suffices.
            free = _runIds.Length;
            Array.Resize(ref _runIds, _runIds.Length * 2);
            Array.Resize(ref _runUses, _runUses.Length * 2);
        }
        _runIds[free] = runId;
        _runUses[free] = 0;
        return (ushort)free;
    }

    private void ReleaseRunIfUnused(ushort run)
    {
        if (_runUses[run] == 0) _runIds[run] = null;
    }
}
