using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.TestKit;
using DayTrading.Persistence;
using Xunit;
using TK = Akka.TestKit.Xunit.TestKit;

namespace DayTrading.Tests.Persistence;

/// <summary>Journal / snapshot-store contract tests, run on SQLite (temp file), PostgreSQL (own schema) and Redis (own key prefix).</summary>
public class JournalContractTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Providers => new() { "sqlite", "postgresql", "redis" };

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static IActorRef Journal(TK tk) => Akka.Persistence.Persistence.Instance.Apply(tk.Sys).JournalFor(null);
    private static IActorRef Snapshots(TK tk) => Akka.Persistence.Persistence.Instance.Apply(tk.Sys).SnapshotStoreFor(null);

    private static void WriteEvents(TK tk, TestProbe probe, string pid, long from, long to)
    {
        var writes = Enumerable.Range((int)from, (int)(to - from + 1))
            .Select(i => (IPersistentEnvelope)new AtomicWrite(new Persistent(new TestEvent($"{pid}-{i}"), i, pid, "", false, ActorRefs.NoSender, "w1")))
            .ToList();
        Journal(tk).Tell(new WriteMessages(writes, probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>(Timeout);
        for (var i = from; i <= to; i++)
            Assert.Equal(i, probe.ExpectMsg<WriteMessageSuccess>(Timeout).Persistent.SequenceNr);
    }

    private static (List<IPersistentRepresentation> Events, long Highest) Replay(TK tk, TestProbe probe, string pid, long from, long to, long max)
    {
        Journal(tk).Tell(new ReplayMessages(from, to, max, pid, probe.Ref));
        var list = new List<IPersistentRepresentation>();
        while (true)
        {
            var msg = probe.ReceiveOne(Timeout);
            switch (msg)
            {
                case ReplayedMessage r: list.Add(r.Persistent); break;
                case RecoverySuccess s: return (list, s.HighestSequenceNr);
                default: throw new Xunit.Sdk.XunitException("unexpected " + msg);
            }
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public void Write_then_replay_ranges_and_max(string provider)
    {
        using var store = new TestStore(provider);
        using var tk = new TK(store.Config());
        var probe = tk.CreateTestProbe();
        WriteEvents(tk, probe, "a", 1, 5);
        WriteEvents(tk, probe, "b", 1, 2);

        var (all, hi) = Replay(tk, probe, "a", 1, long.MaxValue, long.MaxValue);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, all.Select(p => p.SequenceNr));
        Assert.Equal("a-3", ((TestEvent)all[2].Payload).Text);
        Assert.Equal("a", all[0].PersistenceId);
        Assert.Equal("w1", all[0].WriterGuid);
        Assert.Equal(5, hi);

        Assert.Equal(new long[] { 2, 3, 4 }, Replay(tk, probe, "a", 2, 4, long.MaxValue).Events.Select(p => p.SequenceNr));
        Assert.Equal(new long[] { 2, 3 }, Replay(tk, probe, "a", 2, 5, 2).Events.Select(p => p.SequenceNr));
        Assert.Empty(Replay(tk, probe, "a", 1, 5, 0).Events);
        Assert.Empty(Replay(tk, probe, "a", 6, 10, 100).Events);
        var (none, hiNone) = Replay(tk, probe, "nobody", 1, long.MaxValue, long.MaxValue);
        Assert.Empty(none);
        Assert.Equal(0, hiNone);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Tagged_events_are_read_by_tag_in_commit_order_and_untagged_ones_stay_out(string provider)
    {
        using var store = new TestStore(provider);
        using var tk = new TK(store.Config());
        var probe = tk.CreateTestProbe();
        // Every third event tagged "t", one tagged "other": a write adapter's Tagged wrapper, as the journal receives it.
        var writes = Enumerable.Range(1, 30).Select(i => (IPersistentEnvelope)new AtomicWrite(new Persistent(
            i % 3 == 0 ? new Tagged(new TestEvent($"e-{i}"), ["t"]) : i == 10 ? new Tagged(new TestEvent($"e-{i}"), ["other"]) : new TestEvent($"e-{i}"),
            i, "tagged", "", false, ActorRefs.NoSender, "w1"))).ToList();
        Journal(tk).Tell(new WriteMessages(writes, probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>(Timeout, cancellationToken: Ct);

        using var reader = DayTradingPersistence.CreateEventLogReader(tk.Sys);
        var all = new List<EventLogEntry>();
        await foreach (var e in reader.ReadAllAsync(0, 100, Ct)) all.Add(e);
        var tagged = await reader.ReadTaggedPageAsync(0, "t", 100, Ct);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"e-{i * 3}"), tagged.Select(e => ((TestEvent)e.Payload).Text));
        Assert.All(tagged, e => Assert.Equal("t", e.Tags));
        Assert.True(tagged.Zip(tagged.Skip(1)).All(p => p.Item1.Ordering < p.Item2.Ordering));
        // paging: after the 4th tagged row, at most 3
        var next = await reader.ReadTaggedPageAsync(tagged[3].Ordering, "t", 3, Ct);
        Assert.Equal(["e-15", "e-18", "e-21"], next.Select(e => ((TestEvent)e.Payload).Text));
        Assert.Equal("e-10", ((TestEvent)Assert.Single(await reader.ReadTaggedPageAsync(0, "other", 100, Ct)).Payload).Text);
        // the replay is untouched by tags
        Assert.Equal(30, Replay(tk, tk.CreateTestProbe(), "tagged", 1, long.MaxValue, long.MaxValue).Events.Count);
        Assert.Equal(30, all.Count);
    }

    [Theory, MemberData(nameof(Providers))]
    public void Highest_sequence_nr_and_delete_to(string provider)
    {
        using var store = new TestStore(provider);
        using var tk = new TK(store.Config());
        var probe = tk.CreateTestProbe();
        WriteEvents(tk, probe, "d", 1, 5);

        Journal(tk).Tell(new DeleteMessagesTo("d", 3, probe.Ref));
        probe.ExpectMsg<DeleteMessagesSuccess>(m => m.ToSequenceNr == 3, Timeout, cancellationToken: Ct);
        var (after, hi) = Replay(tk, probe, "d", 1, long.MaxValue, long.MaxValue);
        Assert.Equal(new long[] { 4, 5 }, after.Select(p => p.SequenceNr));
        Assert.Equal(5, hi);

        // delete everything: highest sequence number must still be 5
        Journal(tk).Tell(new DeleteMessagesTo("d", long.MaxValue, probe.Ref));
        probe.ExpectMsg<DeleteMessagesSuccess>(Timeout, cancellationToken: Ct);
        var (gone, hi2) = Replay(tk, probe, "d", 1, long.MaxValue, long.MaxValue);
        Assert.Empty(gone);
        Assert.Equal(5, hi2);

        // and writing continues after the highest
        WriteEvents(tk, probe, "d", 6, 6);
        Assert.Equal(new long[] { 6 }, Replay(tk, probe, "d", 1, long.MaxValue, long.MaxValue).Events.Select(p => p.SequenceNr));
    }

    [Theory, MemberData(nameof(Providers))]
    public void Serialization_failure_rejects_only_that_write(string provider)
    {
        using var store = new TestStore(provider);
        using var tk = new TK(store.Config());
        var probe = tk.CreateTestProbe();
        var writes = new List<IPersistentEnvelope>
        {
            new AtomicWrite(new Persistent(new TestEvent("ok1"), 1, "r", "", false, ActorRefs.NoSender, "w")),
            new AtomicWrite(new Persistent(new Unserializable("bad"), 2, "r", "", false, ActorRefs.NoSender, "w")),
            new AtomicWrite(new Persistent(new TestEvent("ok3"), 3, "r", "", false, ActorRefs.NoSender, "w")),
        };
        Journal(tk).Tell(new WriteMessages(writes, probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>(Timeout, cancellationToken: Ct);
        Assert.Equal(1, probe.ExpectMsg<WriteMessageSuccess>(Timeout, cancellationToken: Ct).Persistent.SequenceNr);
        var rejected = probe.ExpectMsg<WriteMessageRejected>(Timeout, cancellationToken: Ct);
        Assert.Equal(2, rejected.Persistent.SequenceNr);
        Assert.Contains("cannot serialize", rejected.Cause.ToString());
        Assert.Equal(3, probe.ExpectMsg<WriteMessageSuccess>(Timeout, cancellationToken: Ct).Persistent.SequenceNr);

        Assert.Equal(new[] { "ok1", "ok3" }, Replay(tk, probe, "r", 1, long.MaxValue, long.MaxValue).Events.Select(p => ((TestEvent)p.Payload).Text));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Many_concurrent_writers_are_group_committed_and_replay_in_order(string provider)
    {
        using var store = new TestStore(provider);
        using var tk = new TK(store.Config());
        const int actors = 200, events = 50;
        var probe = tk.CreateTestProbe();
        for (var i = 0; i < actors; i++)
            tk.Sys.ActorOf(Props.Create(() => new CountingActor($"c-{i}", events, probe.Ref)));
        var done = new HashSet<string>();
        for (var i = 0; i < actors; i++) done.Add(probe.ExpectMsg<string>(TimeSpan.FromSeconds(60), cancellationToken: Ct));
        Assert.Equal(actors, done.Count);

        var metrics = await Journal(tk).Ask<JournalMetrics>(GetJournalMetrics.Instance, Timeout, Ct);
        Assert.Equal(actors * events, metrics.AtomicWrites);
        Assert.True(metrics.Batches < metrics.AtomicWrites / 2, $"writes were not grouped: {metrics}");
        Assert.True(metrics.MaxBatchAtomicWrites > 1, metrics.ToString());

        // global log: every event once, ordering strictly increasing, per-actor sequence in order
        using var reader = DayTradingPersistence.CreateEventLogReader(tk.Sys);
        var all = new List<EventLogEntry>();
        await foreach (var e in reader.ReadAllAsync(0, 777, Ct)) all.Add(e);
        Assert.Equal(actors * events, all.Count);
        Assert.True(all.Zip(all.Skip(1)).All(p => p.Item1.Ordering < p.Item2.Ordering));
        foreach (var g in all.GroupBy(e => e.PersistenceId))
        {
            Assert.Equal(Enumerable.Range(1, events).Select(i => (long)i), g.Select(e => e.SequenceNr));
            Assert.Equal(Enumerable.Range(1, events).Select(i => $"{g.Key}:{i}"), g.Select(e => ((TestEvent)e.Payload).Text));
        }
        // paging from an offset
        var page = await reader.ReadPageAsync(all[99].Ordering, 10, Ct);
        Assert.Equal(all.Skip(100).Take(10).Select(e => e.Ordering), page.Select(e => e.Ordering));

        // each actor recovers its 50 events
        var probe2 = tk.CreateTestProbe();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(events, Replay(tk, probe2, $"c-{i}", 1, long.MaxValue, long.MaxValue).Events.Count);
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Failed_batch_fails_only_the_culprit_and_nothing_of_it_is_stored(string provider)
    {
        using var store = new TestStore(provider);
        using var tk = new TK(store.Config());
        await Journal(tk).Ask<JournalMetrics>(GetJournalMetrics.Instance, Timeout, Ct); // journal actor started
        var writer = JournalWriters.Get(Journal(tk));
        Assert.NotNull(writer);
        // Inject a failure into any transaction that contains a write of "poison" (after its rows were inserted).
        writer!.BeforeCommit = entries =>
        {
            if (entries.Any(e => e.Rows.Any(r => r.PersistenceId == "poison"))) throw new InvalidOperationException("injected failure");
        };
        var probes = Enumerable.Range(0, 30).Select(_ => tk.CreateTestProbe()).ToList();
        for (var i = 0; i < probes.Count; i++)
        {
            var pid = i == 15 ? "poison" : $"p-{i}";
            var aw = new AtomicWrite(ImmutableList.Create<IPersistentRepresentation>(
                new Persistent(new TestEvent("x1"), 1, pid, "", false, ActorRefs.NoSender, "w"),
                new Persistent(new TestEvent("x2"), 2, pid, "", false, ActorRefs.NoSender, "w")));
            Journal(tk).Tell(new WriteMessages(new IPersistentEnvelope[] { aw }, probes[i].Ref, 1));
        }
        for (var i = 0; i < probes.Count; i++)
        {
            if (i == 15)
            {
                probes[i].ExpectMsg<WriteMessagesFailed>(Timeout, cancellationToken: Ct);
                probes[i].ExpectMsg<WriteMessageFailure>(Timeout, cancellationToken: Ct);
                probes[i].ExpectMsg<WriteMessageFailure>(Timeout, cancellationToken: Ct);
            }
            else
            {
                probes[i].ExpectMsg<WriteMessagesSuccessful>(Timeout, cancellationToken: Ct);
                probes[i].ExpectMsg<WriteMessageSuccess>(Timeout, cancellationToken: Ct);
                probes[i].ExpectMsg<WriteMessageSuccess>(Timeout, cancellationToken: Ct);
            }
        }
        writer.BeforeCommit = null;
        using var reader = DayTradingPersistence.CreateEventLogReader(tk.Sys);
        var all = await reader.ReadPageAsync(0, 1000, Ct);
        Assert.Equal(58, all.Count);
        Assert.DoesNotContain(all, e => e.PersistenceId == "poison");
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task Crash_mid_batch_keeps_acknowledged_writes_and_no_half_writes(string provider)
    {
        using var store = new TestStore(provider);
        var settings = store.Settings(maxBatchSize: 50);
        await DayTradingPersistence.InitializeAsync(settings, Ct);
        using var dialect = settings.CreateDialect();
        var inBatch = new ManualResetEventSlim();
        var release = new ManualResetEventSlim();
        var writer = new GroupCommitWriter(dialect.OpenWriter, settings.MaxBatchSize, retryIndividually: false);
        var batchNo = 0;
        writer.BeforeCommit = _ =>
        {
            if (Interlocked.Increment(ref batchNo) == 3)
            {
                inBatch.Set();      // rows of batch 3 are inserted but not committed
                release.Wait(TimeSpan.FromSeconds(30));
                throw new IOException("simulated process death before COMMIT");
            }
        };
        // 200 atomic writes of 3 events each, from 200 "actors"
        var tasks = new List<(string Pid, Task Task)>();
        for (var i = 0; i < 200; i++)
        {
            var pid = $"k-{i}";
            var rows = Enumerable.Range(1, 3).Select(s => new JournalRow
            {
                PersistenceId = pid, SequenceNr = s, Timestamp = 1, SerializerId = 1, Manifest = "", Payload = new byte[] { (byte)s },
            }).ToList();
            tasks.Add((pid, writer.WriteAsync(rows, 1)));
            if (i == 120) Assert.True(inBatch.Wait(TimeSpan.FromSeconds(30), Ct));
        }
        // While batch 3 hangs before COMMIT, a separate reader sees only committed data.
        var visible = await dialect.ReadAllAsync(0, 10_000, true, Ct);
        Assert.All(visible.GroupBy(r => r.PersistenceId), g => Assert.Equal(3, g.Count()));
        release.Set();
        try { await Task.WhenAll(tasks.Select(t => t.Task)); } catch { /* some failed by design */ }
        writer.Dispose(); // "process gone"

        // reopen from scratch
        using var reopened = settings.CreateDialect();
        var rowsAfter = await reopened.ReadAllAsync(0, 10_000, true, Ct);
        var byPid = rowsAfter.GroupBy(r => r.PersistenceId).ToDictionary(g => g.Key, g => g.Count());
        var acked = tasks.Where(t => t.Task.IsCompletedSuccessfully).Select(t => t.Pid).ToList();
        var failed = tasks.Where(t => t.Task.IsFaulted).Select(t => t.Pid).ToList();
        Assert.NotEmpty(failed);
        Assert.NotEmpty(acked);
        Assert.All(acked, pid => Assert.Equal(3, byPid.GetValueOrDefault(pid)));
        Assert.All(failed, pid => Assert.False(byPid.ContainsKey(pid), $"{pid} failed but is (half) present"));
        Assert.All(byPid.Values, n => Assert.Equal(3, n));
    }

    [Theory, MemberData(nameof(Providers))]
    public void Snapshot_save_load_delete(string provider)
    {
        using var store = new TestStore(provider);
        using var tk = new TK(store.Config());
        var probe = tk.CreateTestProbe();
        var t0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 1; i <= 3; i++)
        {
            Snapshots(tk).Tell(new SaveSnapshot(new SnapshotMetadata("s", i * 10, t0.AddMinutes(i)), new TestEvent($"snap{i}")), probe.Ref);
            probe.ExpectMsg<SaveSnapshotSuccess>(Timeout, cancellationToken: Ct);
        }
        Snapshots(tk).Tell(new LoadSnapshot("s", SnapshotSelectionCriteria.Latest, long.MaxValue), probe.Ref);
        var latest = probe.ExpectMsg<LoadSnapshotResult>(Timeout, cancellationToken: Ct);
        Assert.Equal(30, latest.Snapshot.Metadata.SequenceNr);
        Assert.Equal("snap3", ((TestEvent)latest.Snapshot.Snapshot).Text);
        Assert.Equal(t0.AddMinutes(3), latest.Snapshot.Metadata.Timestamp);

        Snapshots(tk).Tell(new LoadSnapshot("s", new SnapshotSelectionCriteria(25), long.MaxValue), probe.Ref);
        Assert.Equal(20, probe.ExpectMsg<LoadSnapshotResult>(Timeout, cancellationToken: Ct).Snapshot.Metadata.SequenceNr);
        Snapshots(tk).Tell(new LoadSnapshot("s", new SnapshotSelectionCriteria(long.MaxValue, t0.AddMinutes(1)), long.MaxValue), probe.Ref);
        Assert.Equal(10, probe.ExpectMsg<LoadSnapshotResult>(Timeout, cancellationToken: Ct).Snapshot.Metadata.SequenceNr);

        Snapshots(tk).Tell(new DeleteSnapshot(new SnapshotMetadata("s", 30, DateTime.MinValue)), probe.Ref);
        probe.ExpectMsg<DeleteSnapshotSuccess>(Timeout, cancellationToken: Ct);
        Snapshots(tk).Tell(new LoadSnapshot("s", SnapshotSelectionCriteria.Latest, long.MaxValue), probe.Ref);
        Assert.Equal(20, probe.ExpectMsg<LoadSnapshotResult>(Timeout, cancellationToken: Ct).Snapshot.Metadata.SequenceNr);

        Snapshots(tk).Tell(new DeleteSnapshots("s", new SnapshotSelectionCriteria(20)), probe.Ref);
        probe.ExpectMsg<DeleteSnapshotsSuccess>(Timeout, cancellationToken: Ct);
        Snapshots(tk).Tell(new LoadSnapshot("s", SnapshotSelectionCriteria.Latest, long.MaxValue), probe.Ref);
        Assert.Null(probe.ExpectMsg<LoadSnapshotResult>(Timeout, cancellationToken: Ct).Snapshot);
    }

    [Theory, MemberData(nameof(Providers))]
    public void Persistent_actor_recovers_end_to_end(string provider)
    {
        using var store = new TestStore(provider);
        using (var tk = new TK(store.Config()))
        {
            var probe = tk.CreateTestProbe();
            var a = tk.Sys.ActorOf(Props.Create(() => new AccumulatingActor("acc")));
            foreach (var w in new[] { "a", "b", "c" }) a.Tell(w, probe.Ref);
            a.Tell("snap", probe.Ref);
            probe.ExpectMsg("snapshotted", Timeout, cancellationToken: Ct);
            foreach (var w in new[] { "d", "e" }) a.Tell(w, probe.Ref);
            a.Tell("get", probe.Ref);
            probe.ExpectMsg("a,b,c,d,e", Timeout, cancellationToken: Ct);
        }
        using (var tk = new TK(store.Config()))
        {
            var probe = tk.CreateTestProbe();
            var a = tk.Sys.ActorOf(Props.Create(() => new AccumulatingActor("acc")));
            a.Tell("get", probe.Ref);
            probe.ExpectMsg("a,b,c,d,e", Timeout, cancellationToken: Ct);
            a.Tell("recovery", probe.Ref);
            probe.ExpectMsg("snapshot@3,replayed=2", Timeout, cancellationToken: Ct);
            a.Tell("f", probe.Ref);
            a.Tell("get", probe.Ref);
            probe.ExpectMsg("a,b,c,d,e,f", Timeout, cancellationToken: Ct);
        }
    }

    [Fact]
    public void Hocon_has_plugin_ids_and_keys()
    {
        var c = DayTradingPersistence.Config("sqlite", "Data Source=/tmp/x \"y\".db", maxBatchSize: 77, sqliteSynchronous: "NORMAL");
        Assert.Equal(DayTradingPersistence.JournalPluginId, c.GetString("akka.persistence.journal.plugin"));
        Assert.Equal(DayTradingPersistence.SnapshotPluginId, c.GetString("akka.persistence.snapshot-store.plugin"));
        var s = DayTradingDbSettings.FromConfig(c.GetConfig(DayTradingPersistence.JournalPluginId));
        Assert.Equal(PersistenceProvider.Sqlite, s.Provider);
        Assert.Equal("Data Source=/tmp/x \"y\".db", s.ConnectionString);
        Assert.Equal(77, s.MaxBatchSize);
        Assert.Equal("NORMAL", s.SqliteSynchronous);
        Assert.True(s.AutoInitialize);
        Assert.Equal(PersistenceProvider.PostgreSql,
            DayTradingDbSettings.FromConfig(DayTradingPersistence.Config("postgresql", "Host=x").GetConfig(DayTradingPersistence.SnapshotPluginId)).Provider);
    }
}

/// <summary>Persists N TestEvents one after another, then tells its id to the probe.</summary>
public sealed class CountingActor : ReceivePersistentActor
{
    private int _n;
    public override string PersistenceId { get; }

    public CountingActor(string pid, int events, IActorRef probe)
    {
        PersistenceId = pid;
        Recover<TestEvent>(_ => _n++);
        Recover<RecoveryCompleted>(_ => Self.Tell("next"));
        Command<string>(_ =>
        {
            if (_n >= events) { probe.Tell(PersistenceId); return; }
            Persist(new TestEvent($"{PersistenceId}:{_n + 1}"), _ => { _n++; Self.Tell("next"); });
        });
    }
}

/// <summary>Accumulates strings; "snap" saves a snapshot; "recovery" reports how it recovered.</summary>
public sealed class AccumulatingActor : ReceivePersistentActor
{
    private List<string> _items = new();
    private long _snapshotSeq = -1;
    private int _replayed;
    public override string PersistenceId { get; }

    public AccumulatingActor(string pid)
    {
        PersistenceId = pid;
        Recover<SnapshotOffer>(o => { _items = ((TestEvent)o.Snapshot).Text.Split(',').ToList(); _snapshotSeq = o.Metadata.SequenceNr; });
        Recover<TestEvent>(e => { _items.Add(e.Text); _replayed++; });
        Command<string>(s => s == "get", _ => Sender.Tell(string.Join(",", _items)));
        Command<string>(s => s == "recovery", _ => Sender.Tell($"snapshot@{_snapshotSeq},replayed={_replayed}"));
        Command<string>(s => s == "snap", _ =>
        {
            var replyTo = Sender;
            SaveSnapshot(new TestEvent(string.Join(",", _items)));
            BecomeStacked(() =>
            {
                Command<SaveSnapshotSuccess>(_ => { replyTo.Tell("snapshotted"); UnbecomeStacked(); Stash.UnstashAll(); });
                CommandAny(_ => Stash.Stash());
            });
        });
        Command<string>(s => Persist(new TestEvent(s), e => _items.Add(e.Text)));
    }
}
