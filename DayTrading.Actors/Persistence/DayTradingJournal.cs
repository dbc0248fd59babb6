using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace DayTrading.Persistence;

/// <summary>
/// Akka.Persistence journal with group commit (see <see cref="GroupCommitWriter"/>) on SQLite or PostgreSQL.
/// Plugin id: akka.persistence.journal.daytrading (HOCON from <see cref="DayTradingPersistence"/>).
/// </summary>
public sealed class DayTradingJournal : AsyncWriteJournal
{
    private readonly DayTradingDbSettings _settings;
    private readonly IPersistenceDialect _dialect;
    private readonly PayloadSerializer _serializer;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private GroupCommitWriter _writer = null!;
    private Task? _init;

    public DayTradingJournal(Config config)
    {
        _settings = DayTradingDbSettings.FromConfig(config);
        _dialect = _settings.CreateDialect();
        _serializer = new PayloadSerializer(Context.System);
    }

    /// <summary>The writer, for tests (fault injection, metrics).</summary>
    internal GroupCommitWriter Writer => _writer;

    protected override void PreStart()
    {
        base.PreStart();
        _writer = new GroupCommitWriter(_dialect.OpenWriter, _settings.MaxBatchSize, _settings.RetryFailedBatchIndividually,
            "daytrading-journal-" + _settings.Provider);
        _init = _settings.AutoInitialize ? _dialect.InitializeAsync() : Task.CompletedTask;
        JournalWriters.Register(Self, _writer);
    }

    protected override void PostStop()
    {
        JournalWriters.Unregister(Self);
        _writer.Dispose();
        _dialect.Dispose();
        base.PostStop();
    }

    /// <summary>Table initialization; a failed attempt (e.g. database down at start) is retried by the next call.</summary>
    private Task Ready()
    {
        var init = _init ?? Task.CompletedTask;
        if (init.IsFaulted || init.IsCanceled) _init = init = _dialect.InitializeAsync();
        return init;
    }

    protected override bool ReceivePluginInternal(object message)
    {
        if (message is GetJournalMetrics)
        {
            Sender.Tell(_writer.Metrics);
            return true;
        }
        return false;
    }

    protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        // Serialize here (journal actor), so a bad payload rejects only its own AtomicWrite.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var list = messages as IReadOnlyList<AtomicWrite> ?? messages.ToList();
        Exception?[]? rejections = null;
        var rows = new List<JournalRow>(list.Count);
        var okWrites = 0;
        for (var i = 0; i < list.Count; i++)
        {
            var aw = list[i];
            var payloads = (IImmutableList<IPersistentRepresentation>)aw.Payload;
            try
            {
                var awRows = new JournalRow[payloads.Count];
                for (var k = 0; k < payloads.Count; k++) awRows[k] = ToRow(payloads[k], now);
                rows.AddRange(awRows);
                okWrites++;
            }
            catch (Exception e)
            {
                rejections ??= new Exception?[list.Count];
                rejections[i] = e;
            }
        }

        await Ready().ConfigureAwait(false);
        if (rows.Count > 0) await _writer.WriteAsync(rows, okWrites).ConfigureAwait(false);
        return rejections is null ? null! : ImmutableList.CreateRange<Exception>(rejections!);
    }

    private JournalRow ToRow(IPersistentRepresentation p, long now)
    {
        var payload = p.Payload;
        var tags = "";
        if (payload is Tagged tagged)
        {
            payload = tagged.Payload;
            tags = tagged.Tags.Count == 0 ? "" : string.Join(";", tagged.Tags);
        }
        var (id, manifest, bytes) = _serializer.Serialize(payload);
        return new JournalRow
        {
            PersistenceId = p.PersistenceId,
            SequenceNr = p.SequenceNr,
            Timestamp = now,
            Manifest = manifest,
            SerializerId = id,
            Payload = bytes,
            Tags = tags,
            WriterUuid = p.WriterGuid ?? "",
            EventManifest = p.Manifest ?? "",
        };
    }

    public override async Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback)
    {
        await Ready().ConfigureAwait(false);
        var remaining = max;
        var from = fromSequenceNr;
        var page = _settings.ReplayPageSize;
        while (remaining > 0 && from <= toSequenceNr)
        {
            var n = 0L;
            var last = from - 1;
            await _dialect.ReplayAsync(persistenceId, from, toSequenceNr, Math.Min(remaining, page), row =>
            {
                n++;
                last = row.SequenceNr;
                var payload = _serializer.Deserialize(row.Payload, row.SerializerId, row.Manifest);
                recoveryCallback(new Persistent(payload, row.SequenceNr, row.PersistenceId, row.EventManifest, false,
                    ActorRefs.NoSender, row.WriterUuid, row.Timestamp));
            }).ConfigureAwait(false);
            if (n < Math.Min(remaining, page)) break;
            remaining -= n;
            from = last + 1;
        }
    }

    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        await Ready().ConfigureAwait(false);
        return await _dialect.ReadHighestSequenceNrAsync(persistenceId, cancellationToken).ConfigureAwait(false);
    }

    protected override async Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken)
    {
        await Ready().ConfigureAwait(false);
        await _dialect.DeleteMessagesToAsync(persistenceId, toSequenceNr, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Lets tests reach the writer of a running journal actor (fault injection).</summary>
internal static class JournalWriters
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<IActorRef, GroupCommitWriter> Map = new();
    public static void Register(IActorRef journal, GroupCommitWriter w) => Map[journal] = w;
    public static void Unregister(IActorRef journal) => Map.TryRemove(journal, out _);
    public static GroupCommitWriter? Get(IActorRef journal) => Map.TryGetValue(journal, out var w) ? w : null;
}
