namespace DayTrading.Audit;

/// <summary>
/// A map that remembers at most <see cref="Limit"/> keys, forgetting the oldest first: what the audit side keeps of
/// requests, dumps and downloads it has seen, so a repeat is recognised without memory growing with the log.
/// A key set again counts from then on (its earlier place in the order no longer evicts it). Not thread-safe: each
/// owner is an actor.
/// </summary>
internal sealed class RecentMap<TKey, TValue>(int limit, IEqualityComparer<TKey>? comparer = null) where TKey : notnull
{
    private readonly Dictionary<TKey, (TValue Value, long Generation)> _entries = new(comparer);
    private readonly Queue<(TKey Key, long Generation)> _order = new();
    private long _generation;

    public int Limit { get; } = limit > 0 ? limit : throw new ArgumentOutOfRangeException(nameof(limit), limit, "at least one entry");

    public int Count => _entries.Count;

    public bool TryGetValue(TKey key, out TValue value)
    {
        if (_entries.TryGetValue(key, out var e))
        {
            value = e.Value;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>Sets <paramref name="key"/> (replacing any earlier value) as the newest entry.</summary>
    public void Set(TKey key, TValue value)
    {
        var generation = ++_generation;
        _entries[key] = (value, generation);
        Enqueue(key, generation);
    }

    /// <summary>Adds <paramref name="key"/> unless it is known: the first value under a key stays.</summary>
    public bool TryAdd(TKey key, TValue value)
    {
        var generation = _generation + 1;
        if (!_entries.TryAdd(key, (value, generation))) return false;
        _generation = generation;
        Enqueue(key, generation);
        return true;
    }

    public void Clear()
    {
        _entries.Clear();
        _order.Clear();
    }

    /// <summary>Oldest first.</summary>
    public IEnumerable<KeyValuePair<TKey, TValue>> Entries()
    {
        foreach (var (key, generation) in _order)
        {
            if (_entries.TryGetValue(key, out var e) && e.Generation == generation) yield return new(key, e.Value);
        }
    }

    private void Enqueue(TKey key, long generation)
    {
        _order.Enqueue((key, generation));
        while (_entries.Count > Limit || _order.Count > 2 * Limit)
        {
            var (oldest, g) = _order.Dequeue();
            if (_entries.TryGetValue(oldest, out var e) && e.Generation == g) _entries.Remove(oldest);
        }
    }
}
