using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;

namespace DayTrading.Persistence;

/// <summary>Snapshot store on the same database (plugin id akka.persistence.snapshot-store.daytrading).</summary>
public sealed class DayTradingSnapshotStore : SnapshotStore
{
    private readonly IPersistenceDialect _dialect;
    private readonly PayloadSerializer _serializer;
    private Task _init;

    private Task Ready()
    {
        if (_init.IsFaulted || _init.IsCanceled) _init = _dialect.InitializeAsync();
        return _init;
    }

    public DayTradingSnapshotStore(Config config)
    {
        var settings = DayTradingDbSettings.FromConfig(config);
        _dialect = settings.CreateDialect();
        _serializer = new PayloadSerializer(Context.System);
        _init = settings.AutoInitialize ? _dialect.InitializeAsync() : Task.CompletedTask;
    }

    protected override void PostStop()
    {
        _dialect.Dispose();
        base.PostStop();
    }

    private static SnapshotBounds Bounds(SnapshotSelectionCriteria c) => new(
        c.MinSequenceNr,
        c.MaxSequenceNr,
        c.MinTimestamp?.ToUniversalTime().Ticks ?? 0,
        c.MaxTimeStamp == DateTime.MaxValue ? long.MaxValue : c.MaxTimeStamp.ToUniversalTime().Ticks);

    protected override async Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default)
    {
        await Ready().ConfigureAwait(false);
        var row = await _dialect.LoadSnapshotAsync(persistenceId, Bounds(criteria)).ConfigureAwait(false);
        if (row is null) return null;
        var snapshot = _serializer.Deserialize(row.Payload, row.SerializerId, row.Manifest);
        return new SelectedSnapshot(new SnapshotMetadata(row.PersistenceId, row.SequenceNr, new DateTime(row.TimestampTicks, DateTimeKind.Utc)), snapshot);
    }

    protected override async Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken = default)
    {
        await Ready().ConfigureAwait(false);
        var (id, manifest, bytes) = _serializer.Serialize(snapshot);
        await _dialect.SaveSnapshotAsync(new SnapshotRow
        {
            PersistenceId = metadata.PersistenceId,
            SequenceNr = metadata.SequenceNr,
            TimestampTicks = metadata.Timestamp.ToUniversalTime().Ticks,
            Manifest = manifest,
            SerializerId = id,
            Payload = bytes,
        }).ConfigureAwait(false);
    }

    protected override async Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default)
    {
        await Ready().ConfigureAwait(false);
        long? ts = metadata.Timestamp == DateTime.MinValue ? null : metadata.Timestamp.ToUniversalTime().Ticks;
        await _dialect.DeleteSnapshotAsync(metadata.PersistenceId, metadata.SequenceNr, ts).ConfigureAwait(false);
    }

    protected override async Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default)
    {
        await Ready().ConfigureAwait(false);
        await _dialect.DeleteSnapshotsAsync(persistenceId, Bounds(criteria)).ConfigureAwait(false);
    }
}
