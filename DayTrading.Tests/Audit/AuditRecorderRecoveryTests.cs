using DayTrading.Binary;
using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit.Xunit;
using DayTrading.Audit;
using DayTrading.Persistence;
using DayTrading.Serialization;
using DayTrading.Tests.Persistence;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>
/// Issue 13, item 7: the node's audit recorder used to replay every refusal it had ever recorded on start (122,000:
/// 5.9 s before the first refused line after a restart was answered). It now recovers from a snapshot of its
/// remembered keys plus a bounded tail, on the real journal and snapshot store (SQLite).
/// </summary>
public sealed class AuditRecorderRecoveryTests : IDisposable
{
    private const string Node = "node1";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly TestStore _store = new("sqlite");

    public void Dispose() => _store.Dispose();

    private TestKit NewSystem() =>
        new(_store.Config().WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon)));

    private static RequestRejected Refusal(string? runId, long tx) =>
        new(1_000 + tx, Node, tx, runId, "ADD", "u" + (tx % 100), null, null, null, "bad amount");

    private static Task<AuditRecorderStats> Stats(IActorRef recorder) =>
        recorder.Ask<AuditRecorderStats>(GetAuditRecorderStats.Instance, Timeout);

    private static async Task RecordAll(IActorRef recorder, IEnumerable<RequestRejected> refusals)
    {
        foreach (var chunk in refusals.Chunk(10_000))
            await Task.WhenAll(chunk.Select(r => recorder.Ask<Done>(r, Timeout)));
    }

    private static void Stop(TestKit tk, IActorRef recorder)
    {
        tk.Watch(recorder);
        tk.Sys.Stop(recorder);
        tk.ExpectTerminated(recorder, Timeout);
    }

    private static async Task<long?> LatestSnapshot(TestKit tk, string persistenceId, long awaited)
    {
        var store = Akka.Persistence.Persistence.Instance.Apply(tk.Sys).SnapshotStoreFor(null);
        long? latest = null;
        for (var i = 0; i < 100 && latest != awaited; i++)
        {
            if (i > 0) await Task.Delay(50);
            var result = await store.Ask<LoadSnapshotResult>(new LoadSnapshot(persistenceId, SnapshotSelectionCriteria.Latest, long.MaxValue), Timeout);
            latest = result.Snapshot?.Metadata.SequenceNr;
        }
        return latest;
    }

    private static async Task<long?> SnapshotAtLeast(TestKit tk, string persistenceId, long atLeast)
    {
        var store = Akka.Persistence.Persistence.Instance.Apply(tk.Sys).SnapshotStoreFor(null);
        for (var i = 0; i < 100; i++)
        {
            if (i > 0) await Task.Delay(50);
            var result = await store.Ask<LoadSnapshotResult>(new LoadSnapshot(persistenceId, SnapshotSelectionCriteria.Latest, long.MaxValue), Timeout);
            if (result.Snapshot?.Metadata.SequenceNr is { } seq && seq >= atLeast) return seq;
        }
        return null;
    }

    [Fact]
    public async Task After_120000_refusals_a_restart_replays_only_a_bounded_tail_and_still_deduplicates()
    {
        const int total = 120_000;
        using var tk = NewSystem();
        var recorder = tk.Sys.ActorOf(AuditRecorderActor.Props(Node));
        await RecordAll(recorder, Enumerable.Range(1, total).Select(i => Refusal("run-a", i)));
        Assert.Equal(total, (await Stats(recorder)).LastSequenceNr);
        // A snapshot is saved after the write that crossed the interval, asynchronously: stopping before the newest one
        // is stored would make the restart replay two intervals, which is right but not what this test measures.
        var newest = await SnapshotAtLeast(tk, AuditRecorderActor.PersistenceIdFor(Node), total - AuditRecorderActor.DefaultSnapshotEvery - AuditRecorderActor.MaxBatch);
        Assert.True(newest is not null, "no recent snapshot was stored within 5 s");
        Stop(tk, recorder);

        recorder = tk.Sys.ActorOf(AuditRecorderActor.Props(Node));
        var stats = await Stats(recorder);
        // Started from a snapshot; replayed fewer than one snapshot interval plus one batch, not 120,000.
        Assert.NotNull(stats.SnapshotSequenceNr);
        Assert.InRange(stats.EventsReplayed, 0, AuditRecorderActor.DefaultSnapshotEvery + AuditRecorderActor.MaxBatch);
        Assert.Equal(total - stats.SnapshotSequenceNr!.Value, stats.EventsReplayed);
        Assert.Equal(total, stats.LastSequenceNr);
        Assert.Equal(AuditRecorderActor.RememberedLimit, stats.Remembered);

        // Retries of a recent refusal (in the replayed tail), of one only the snapshot holds, and of the oldest one
        // still remembered: acknowledged, nothing written.
        await RecordAll(recorder, [Refusal("run-a", total - 1), Refusal("run-a", stats.SnapshotSequenceNr.Value - 10),
            Refusal("run-a", total - AuditRecorderActor.RememberedLimit + 1)]);
        Assert.Equal(total, (await Stats(recorder)).LastSequenceNr);
        // A new request is recorded.
        await RecordAll(recorder, [Refusal("run-a", total + 1)]);
        Assert.Equal(total + 1, (await Stats(recorder)).LastSequenceNr);

        // The journal holds every refusal once: snapshots replace nothing (the events are the audit log).
        using var reader = DayTradingPersistence.CreateEventLogReader(tk.Sys);
        long rows = 0, lastTx = 0;
        await foreach (var e in reader.ReadAllAsync(0, 5_000, TestContext.Current.CancellationToken))
        {
            var r = Assert.IsType<RequestRejected>(e.Payload);
            Assert.Equal(lastTx + 1, r.TxNum);
            lastTx = r.TxNum;
            rows++;
        }
        Assert.Equal(total + 1, rows);
    }

    [Fact]
    public async Task A_restart_right_after_a_snapshot_and_one_without_any_recover_the_same_memory()
    {
        using var tk = NewSystem();
        // snapshotEvery 10: snapshots at 10, 20, 30 (taken before the batch that follows them); 35 events in all.
        var recorder = tk.Sys.ActorOf(AuditRecorderActor.Props(Node, snapshotEvery: 10));
        foreach (var tx in Enumerable.Range(1, 35)) await RecordAll(recorder, [Refusal("run-b", tx)]);
        // A snapshot is saved in the background; a restart before it is stored recovers from the one before.
        Assert.Equal(30, await LatestSnapshot(tk, AuditRecorderActor.PersistenceIdFor(Node), 30));
        Stop(tk, recorder);

        recorder = tk.Sys.ActorOf(AuditRecorderActor.Props(Node, snapshotEvery: 10));
        var stats = await Stats(recorder);
        Assert.Equal(30, stats.SnapshotSequenceNr);
        Assert.Equal(5, stats.EventsReplayed);
        Assert.Equal(35, stats.Remembered);
        await RecordAll(recorder, Enumerable.Range(1, 35).Select(tx => Refusal("run-b", tx)));
        Assert.Equal(35, (await Stats(recorder)).LastSequenceNr);
        Stop(tk, recorder);

        // The same journal read by a recorder that never snapshots (an interval it never reaches): the same keys.
        recorder = tk.Sys.ActorOf(AuditRecorderActor.Props("node2", snapshotEvery: 1_000));
        await RecordAll(recorder, Enumerable.Range(1, 35).Select(tx => Refusal("run-b", tx)));
        Stop(tk, recorder);
        recorder = tk.Sys.ActorOf(AuditRecorderActor.Props("node2", snapshotEvery: 1_000));
        stats = await Stats(recorder);
        Assert.Null(stats.SnapshotSequenceNr);
        Assert.Equal(35, stats.EventsReplayed);
        Assert.Equal(35, stats.Remembered);
    }

    [Fact]
    public async Task Repeats_sent_together_are_written_once_and_each_is_answered()
    {
        using var tk = NewSystem();
        var recorder = tk.Sys.ActorOf(AuditRecorderActor.Props(Node));
        // Sent without waiting: the repeats land in the same batch as their original, or the next one.
        var asks = Enumerable.Range(0, 3_000).Select(i => recorder.Ask<Done>(Refusal("run-c", i % 1_000), Timeout)).ToList();
        // Without a run id nothing can be recognised as a repeat: each is recorded.
        asks.AddRange(Enumerable.Range(0, 10).Select(_ => recorder.Ask<Done>(Refusal(null, 5), Timeout)));
        await Task.WhenAll(asks);
        var stats = await Stats(recorder);
        Assert.Equal(1_010, stats.LastSequenceNr);
        Assert.Equal(1_000, stats.Remembered);
    }

    [Fact]
    public void The_snapshot_codec_round_trips_keys_in_order_through_the_serializer()
    {
        using var tk = NewSystem();
        RememberedRecord[] keys =
        [
            new("~a1b2c3d4e5f6.1", 1, false, 1), new("~a1b2c3d4e5f6.2", 1, true, ulong.MaxValue), new("~a1b2c3d4e5f6.10", long.MaxValue, false, 42),
            new("", 0, false, 7), new("run", -3, false, 8), new("run-ü", 7, false, 9), new("run-😀a", 8, false, 10),
            new("run-😁b", 9, false, 11), new("run-😁b", 10, true, 12), new("r", 11, false, 13),
        ];
        var snapshot = AuditRecorderSnapshot.Capture(keys);
        var serializer = tk.Sys.Serialization.FindSerializerFor(snapshot);
        Assert.Equal(DayTradingSerializer.Id, serializer.Identifier);
        var bytes = serializer.ToBinary(snapshot);
        Assert.Equal("ARS2", Akka.Serialization.Serialization.ManifestFor(serializer, snapshot));
        var restored = (AuditRecorderSnapshot)tk.Sys.Serialization.Deserialize(bytes, DayTradingSerializer.Id, "ARS2");
        Assert.Equal(keys, restored.Restore());

        // An ARS1 snapshot (keys without fingerprints) still reads: its keys match any record, as they did.
        var w = BinaryWriterBuffer.Rent();
        AuditRecorderSnapshotCodec.Write(w, keys, version: 1);
        var old = (AuditRecorderSnapshot)tk.Sys.Serialization.Deserialize(w.ToArrayAndReturn(), DayTradingSerializer.Id, "ARS1");
        Assert.Equal(keys.Select(k => k with { Failure = false, Fingerprint = AuditRepeats.UnknownFingerprint }), old.Restore());

        // Shared prefixes are stored once: 100,000 delivery ids (20 characters each) in about 15 bytes apiece with
        // their fingerprints.
        var many = Enumerable.Range(1, 100_000).Select(i => new RememberedRecord($"~0123456789ab.{i}", i, false, (ulong)i * 0x9E3779B97F4A7C15UL)).ToList();
        Assert.InRange(AuditRecorderSnapshot.Capture(many).Bytes.Length, 1, 1_800_000);
    }
}
