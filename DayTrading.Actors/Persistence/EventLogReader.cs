using System.Runtime.CompilerServices;
using Akka.Actor;

namespace DayTrading.Persistence;

/// <summary>Reads ALL journal events in global <c>ordering</c> order (for the audit log).</summary>
public interface IEventLogReader : IDisposable
{
    /// <summary>One page: events with ordering &gt; <paramref name="afterOrdering"/>, ascending, at most <paramref name="pageSize"/>.</summary>
    Task<IReadOnlyList<EventLogEntry>> ReadPageAsync(long afterOrdering, int pageSize = 1000, CancellationToken ct = default);

    /// <summary>
    /// The next page of the events tagged <paramref name="tag"/> after <paramref name="afterOrdering"/>, in commit
    /// order (the events a projection needs, without reading all others). A short page is the end of the log.
    /// </summary>
    async Task<IReadOnlyList<EventLogEntry>> ReadTaggedPageAsync(long afterOrdering, string tag, int pageSize = 1000, CancellationToken ct = default)
    {
        var found = new List<EventLogEntry>();
        var offset = afterOrdering;
        while (found.Count < pageSize)
        {
            var page = await ReadPageAsync(offset, pageSize, ct).ConfigureAwait(false);
            foreach (var e in page)
            {
                if (e.Tags == tag && found.Count < pageSize) found.Add(e);
            }
            if (page.Count < pageSize) break;
            offset = page[^1].Ordering;
        }
        return found;
    }

    /// <summary>Streams every event after <paramref name="afterOrdering"/> page by page until the current end of the log.</summary>
    IAsyncEnumerable<EventLogEntry> ReadAllAsync(long afterOrdering = 0, int pageSize = 1000, CancellationToken ct = default);
}

/// <summary>
/// Event log reader over the journal table. Deleted (logically deleted by DeleteMessagesTo) events are
/// included by default: they were acknowledged and belong in the audit trail.
/// Ordering is gap-free-in-commit-order as long as one journal writer (one node) writes the table.
/// </summary>
public sealed class EventLogReader : IEventLogReader
{
    private readonly IPersistenceDialect _dialect;
    private readonly PayloadSerializer _serializer;
    private readonly bool _includeDeleted;
    private readonly bool _createSchema;
    private volatile bool _schemaReady;

    public EventLogReader(ActorSystem system, DayTradingDbSettings settings, bool includeDeleted = true)
    {
        _dialect = settings.CreateDialect();
        _serializer = new PayloadSerializer(system);
        _includeDeleted = includeDeleted;
        _createSchema = settings.AutoInitialize;
    }

    public async Task<IReadOnlyList<EventLogEntry>> ReadPageAsync(long afterOrdering, int pageSize = 1000, CancellationToken ct = default)
    {
        await EnsureSchemaAsync(ct).ConfigureAwait(false);
        return Entries(await _dialect.ReadAllAsync(afterOrdering, pageSize, _includeDeleted, ct).ConfigureAwait(false));
    }

    public async Task<IReadOnlyList<EventLogEntry>> ReadTaggedPageAsync(long afterOrdering, string tag, int pageSize = 1000, CancellationToken ct = default)
    {
        await EnsureSchemaAsync(ct).ConfigureAwait(false);
        return Entries(await _dialect.ReadTaggedAsync(afterOrdering, tag, pageSize, ct).ConfigureAwait(false));
    }

    // The projections (expiry watcher, trigger engine, auditor) may read a fresh database before the journal has
    // created its tables: they create them the same way (idempotent DDL) instead of failing and retrying.
    private async Task EnsureSchemaAsync(CancellationToken ct)
    {
        if (_schemaReady || !_createSchema) return;
        await _dialect.InitializeAsync(ct).ConfigureAwait(false);
        _schemaReady = true;
    }

    private List<EventLogEntry> Entries(IReadOnlyList<JournalRow> rows)
    {
        var list = new List<EventLogEntry>(rows.Count);
        foreach (var r in rows)
            list.Add(new EventLogEntry(r.Ordering, r.PersistenceId, r.SequenceNr, DateTimeOffset.FromUnixTimeMilliseconds(r.Timestamp),
                _serializer.Deserialize(r.Payload, r.SerializerId, r.Manifest), r.Tags, r.Deleted));
        return list;
    }

    public async IAsyncEnumerable<EventLogEntry> ReadAllAsync(long afterOrdering = 0, int pageSize = 1000, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var offset = afterOrdering;
        while (true)
        {
            var page = await ReadPageAsync(offset, pageSize, ct).ConfigureAwait(false);
            foreach (var e in page) yield return e;
            if (page.Count < pageSize) yield break;
            offset = page[^1].Ordering;
        }
    }

    public void Dispose() => _dialect.Dispose();
}
