using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Akka.Pattern;
using Akka.Persistence;
using DayTrading.Serialization;

namespace DayTrading.Audit;

/// <summary>
/// This node's durable record of requests that never reached an existing account: lines the edge refused, admin
/// DUMPLOGs, and requests for users that have no account (the account entity refuses them here instead of starting
/// a journal stream per unknown id); and of DUMPLOGs whose dump failed after they were recorded. Each is persisted
/// before it is acknowledged (answered with <see cref="Done"/>; a write the journal rejects is answered with a
/// <see cref="Status.Failure"/>), so the audit log, which is a projection of the journal, has its entry; one repeated
/// under the same run id and transaction number with the same content (a client's retry, a gateway's resend;
/// <see cref="AuditRepeats"/>) is acknowledged without a second entry. A different record under a used run id and
/// number is recorded too; an admin DUMPLOG of that kind is recorded as refused and answered with a failed
/// <see cref="DumpResult"/>: its dump must not run. One per node (persistence id <c>audit-&lt;node&gt;</c>): node
/// names must be unique in a cluster.
/// <para>
/// Requests accepted while a write is in flight are written together by the next one (up to
/// <see cref="MaxBatch"/> events in one atomic write), so a flood of refusals costs one journal commit per batch,
/// not per refusal. Recovery is bounded: the remembered keys are snapshotted every <c>snapshotEvery</c> events, so a
/// restart loads one snapshot and replays fewer than <c>snapshotEvery + MaxBatch</c> events, however many were ever
/// recorded (docs/AUDIT.md).
/// </para>
/// </summary>
public sealed class AuditRecorderActor : ReceivePersistentActor
{
    /// <summary>How many (run id, N) keys are remembered for deduplication; the oldest are forgotten first.</summary>
    public const int RememberedLimit = 100_000;

    public const int DefaultSnapshotEvery = 5_000;

    /// <summary>The most events written in one atomic write.</summary>
    public const int MaxBatch = 1_000;

    private readonly int _snapshotEvery;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // The fingerprint of the first record under each key (AuditRepeats.UnknownFingerprint: from an ARS1 snapshot).
    private readonly RecentMap<RecordKey, ulong> _seen = new(RememberedLimit);

    // Accepted and not yet written; a repeat of one of them waits for the same write.
    private readonly List<Accepted> _batch = [];
    private readonly Dictionary<RecordKey, Accepted> _batchByKey = [];
    // Written and not yet confirmed, in write order (the journal confirms or rejects them in that order).
    private readonly Queue<Accepted> _writing = new();
    private bool _flushQueued;
    private long _sinceSnapshot;
    private long _replayed;
    private long? _snapshotSequenceNr;

    private sealed class Accepted(object entry, RecordKey? key, ulong fingerprint, object answer, IActorRef replyTo)
    {
        public object Entry { get; } = entry;
        public RecordKey? Key { get; } = key;
        public ulong Fingerprint { get; } = fingerprint;
        /// <summary>What its senders are told once it is written: <see cref="Done"/>, or the DUMPLOG's refusal.</summary>
        public object Answer { get; } = answer;
        public List<IActorRef> ReplyTo { get; } = [replyTo];
    }

    private sealed class Flush
    {
        public static readonly Flush Instance = new();
    }

    public AuditRecorderActor(string nodeName, int snapshotEvery = DefaultSnapshotEvery)
    {
        PersistenceId = PersistenceIdFor(nodeName);
        _snapshotEvery = Math.Max(1, snapshotEvery);

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not AuditRecorderSnapshot snapshot) return;
            _seen.Clear();
            foreach (var k in snapshot.Restore()) Remember(new RecordKey(k.RunId, k.TxNum, k.Failure), k.Fingerprint);
            _snapshotSequenceNr = offer.Metadata.SequenceNr;
        });
        Recover<RequestRejected>(Replayed);
        Recover<AdminDumpRequested>(Replayed);
        Recover<DumpFailed>(Replayed);
        Recover<RecoveryCompleted>(_ => _sinceSnapshot = _replayed);

        Command<RequestRejected>(Accept);
        Command<AdminDumpRequested>(Accept);
        Command<DumpFailed>(Accept);
        Command<Flush>(_ => WriteBatch());
        Command<GetAuditRecorderStats>(_ => Sender.Tell(new AuditRecorderStats(_replayed, _snapshotSequenceNr, _seen.Count, LastSequenceNr)));
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning("snapshot of {0} failed: {1}", PersistenceId, f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public static string PersistenceIdFor(string nodeName) => "audit-" + nodeName;

    public static Props Props(string nodeName, int snapshotEvery = DefaultSnapshotEvery) =>
        Akka.Actor.Props.Create(() => new AuditRecorderActor(nodeName, snapshotEvery));

    /// <summary>
    /// The recorder as the node runs it: restarted with back-off (1 s … 30 s) when it stops, which a persistent actor
    /// does when a write fails or recovery fails; otherwise one database hiccup would leave the node unable to
    /// answer any refused request until it restarted. Messages sent while it restarts are lost; their senders time
    /// out and ask again.
    /// </summary>
    public static Props SupervisedProps(string nodeName, int snapshotEvery = DefaultSnapshotEvery) =>
        BackoffSupervisor.Props(Backoff.OnStop(Props(nodeName, snapshotEvery), "recorder",
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2, -1));

    /// <summary>The refusal of an admin DUMPLOG sent under a run id and number an earlier, different request used.</summary>
    public static string ReusedKey(long txNum, string runId) =>
        $"transaction {txNum} of run {runId} was already used for a different request; nothing was done";

    private void Accept(object entry)
    {
        var key = KeyOf(entry);
        var fingerprint = AuditRepeats.Fingerprint(entry);
        object answer = Done.Instance;
        if (key is { } k)
        {
            ulong first;
            if (_seen.TryGetValue(k, out first) || TryGetQueued(k, out first))
            {
                if (first == fingerprint || first == AuditRepeats.UnknownFingerprint)
                {
                    // A repeat: acknowledged as written, or once the write it waits for is.
                    if (_batchByKey.TryGetValue(k, out var queued) && queued.Fingerprint == fingerprint) queued.ReplyTo.Add(Sender);
                    else Sender.Tell(Done.Instance);
                    return;
                }
                // Another record under a used key: recorded as itself (a retry of it again, and deduplicated by the
                // dump). An admin DUMPLOG is refused, so that it does not run.
                if (entry is AdminDumpRequested admin)
                {
                    var refusal = ReusedKey(admin.TxNum, admin.RunId!);
                    entry = admin with { Error = refusal };
                    answer = new DumpResult(false, refusal);
                }
                key = null;
            }
        }
        var accepted = new Accepted(entry, key, fingerprint, answer, Sender);
        _batch.Add(accepted);
        if (key is { } added) _batchByKey[added] = accepted;
        QueueFlush();
    }

    private bool TryGetQueued(RecordKey key, out ulong fingerprint)
    {
        fingerprint = _batchByKey.TryGetValue(key, out var queued) ? queued.Fingerprint : AuditRepeats.UnknownFingerprint;
        return queued is not null;
    }

    // Requests share one key space (a refused line and an admin DUMPLOG under one key are two requests); a dump's
    // failure is keyed apart: it follows its own DUMPLOG's record under the same key.
    private static RecordKey? KeyOf(object entry) => entry switch
    {
        RequestRejected { RunId: { } run } r => new RecordKey(run, r.TxNum, false),
        AdminDumpRequested { RunId: { } run } a => new RecordKey(run, a.TxNum, false),
        DumpFailed { RunId: { } run } f => new RecordKey(run, f.TxNum, true),
        _ => null,
    };

    private void QueueFlush()
    {
        if (_flushQueued) return;
        _flushQueued = true;
        Self.Tell(Flush.Instance);
    }

    // PersistAll stashes every command until its write is confirmed, so this runs with nothing in flight: a snapshot
    // taken here holds exactly the keys of the events up to LastSequenceNr.
    private void WriteBatch()
    {
        _flushQueued = false;
        if (_batch.Count == 0) return;
        MaybeSnapshot();
        var count = Math.Min(_batch.Count, MaxBatch);
        var writing = _batch.GetRange(0, count);
        _batch.RemoveRange(0, count);
        foreach (var a in writing)
        {
            if (a.Key is { } k) _batchByKey.Remove(k);
            _writing.Enqueue(a);
        }
        if (_batch.Count > 0) QueueFlush();
        PersistAll(writing.Select(a => a.Entry), _ =>
        {
            var done = _writing.Dequeue();
            if (done.Key is { } k) Remember(k, done.Fingerprint);
            _sinceSnapshot++;
            foreach (var replyTo in done.ReplyTo) replyTo.Tell(done.Answer);
        });
    }

    private void MaybeSnapshot()
    {
        if (_sinceSnapshot < _snapshotEvery) return;
        _sinceSnapshot = 0;
        SaveSnapshot(AuditRecorderSnapshot.Capture(_seen.Entries().Select(e => new RememberedRecord(e.Key.RunId, e.Key.TxNum, e.Key.Failure, e.Value))));
    }

    private void Replayed(object entry)
    {
        _replayed++;
        if (KeyOf(entry) is { } key) Remember(key, AuditRepeats.Fingerprint(entry));
    }

    // The first record under a key stays: a different one written later under it does not replace it.
    private void Remember(RecordKey key, ulong fingerprint)
    {
        _seen.TryAdd(key, fingerprint);
    }

    // A rejected write leaves no trace: nothing remembered, and its senders are told it failed (they retry).
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        var rejected = _writing.Dequeue();
        foreach (var replyTo in rejected.ReplyTo) replyTo.Tell(new Status.Failure(cause));
    }

    // A failed write stops the recorder (it is restarted with back-off) and would drop everyone waiting on it, the
    // batch being written and the one gathering behind it: they are told now, and retry (a store outage must not
    // leave each of them to its own time-out).
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        var failure = new Status.Failure(cause);
        foreach (var waiting in _writing.Concat(_batch))
        {
            foreach (var replyTo in waiting.ReplyTo) replyTo.Tell(failure);
        }
        _writing.Clear();
        _batch.Clear();
        _batchByKey.Clear();
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    private readonly record struct RecordKey(string RunId, long TxNum, bool Failure);
}

/// <summary>Asks an <see cref="AuditRecorderActor"/> how it recovered (tests, diagnostics); local only.</summary>
public sealed class GetAuditRecorderStats : INoSerializationVerificationNeeded
{
    public static readonly GetAuditRecorderStats Instance = new();
    private GetAuditRecorderStats() { }
}

/// <param name="EventsReplayed">events replayed by the last recovery (after the snapshot, if one was offered)</param>
/// <param name="SnapshotSequenceNr">the sequence number of the snapshot recovery started from; null: none</param>
/// <param name="Remembered">(run id, N) keys remembered for deduplication</param>
/// <param name="LastSequenceNr">the recorder's last sequence number</param>
public sealed record AuditRecorderStats(long EventsReplayed, long? SnapshotSequenceNr, int Remembered, long LastSequenceNr) : INoSerializationVerificationNeeded;

/// <summary>Registry key of this node's audit recorder (<c>/user/audit-recorder</c>).</summary>
public sealed class AuditRecorderKey;

public static class AuditRecorderSetup
{
    public const string ActorName = "audit-recorder";

    /// <summary>The node's audit recorder, started before the accounts (they record refusals for unknown users in it).</summary>
    public static AkkaConfigurationBuilder AddAuditRecorder(this AkkaConfigurationBuilder builder, string nodeName) =>
        builder.WithActors((system, registry) =>
            registry.Register<AuditRecorderKey>(system.ActorOf(AuditRecorderActor.SupervisedProps(nodeName), ActorName)));
}
