using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit;
using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Persistence;
using DayTrading.Serialization;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>
/// The Auditor singleton and the gateway's way of asking it: a dump asked for again (its answer late, or the
/// singleton moving) joins the dump already running or gets its result; a file is never written twice at once.
/// </summary>
public sealed class AuditorActorTests : TestKit, IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Config TestConfig = ConfigurationFactory.ParseString("""
        akka.actor.serialize-messages = on
        akka.loglevel = WARNING
        """).WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon));

    private readonly TempDirectory _dir = new();

    public AuditorActorTests() : base(TestConfig) { }

    void IDisposable.Dispose()
    {
        _dir.Dispose();
        base.Dispose();
    }

    /// <summary>Event logs that count how often they are opened and hold every reader at its first page until the gate opens.</summary>
    private sealed class GatedLogs
    {
        public readonly SemaphoreSlim Gate = new(0);
        public int Opened;

        public IEventLogReader Open()
        {
            Interlocked.Increment(ref Opened);
            var events = SyntheticLog.EveryKind();
            return new FakeEventLogReader(events.Count, o => FakeEventLogReader.Entry(o, events[(int)o - 1].Pid, events[(int)o - 1].Event), page =>
            {
                if (page != 1) return;
                Gate.Wait(); // the dump runs on its own task: blocking it holds only that dump
                Gate.Release(); // once open, it stays open for everyone
            });
        }
    }

    [Fact]
    public void Asking_again_with_the_same_dump_id_joins_the_running_dump_and_later_gets_its_result()
    {
        var logs = new GatedLogs();
        var auditor = Sys.ActorOf(AuditorActor.Props(_dir.Path, logs.Open));
        var first = CreateTestProbe();
        var second = CreateTestProbe();

        auditor.Tell(new WriteDump("all.xml", null, "run-1:9"), first.Ref);
        AwaitCondition(() => Volatile.Read(ref logs.Opened) == 1, TimeSpan.FromSeconds(5), cancellationToken: Ct);
        auditor.Tell(new WriteDump("all.xml", null, "run-1:9"), second.Ref); // the first asker gave up waiting
        logs.Gate.Release();

        var result = second.ExpectMsg<DumpResult>(TimeSpan.FromSeconds(10), cancellationToken: Ct);
        Assert.True(result.Ok, result.Text);
        Assert.Contains("all.xml", result.Text);
        first.ExpectNoMsg(TimeSpan.FromMilliseconds(200), cancellationToken: Ct);
        Assert.Equal(1, logs.Opened);
        Assert.True(File.Exists(Path.Combine(_dir.Path, "all.xml")));

        // Asked again after it finished: the same answer, and the file is not written again.
        var third = CreateTestProbe();
        auditor.Tell(new WriteDump("all.xml", null, "run-1:9"), third.Ref);
        Assert.Equal(result, third.ExpectMsg<DumpResult>(TimeSpan.FromSeconds(5), cancellationToken: Ct));
        Assert.Equal(1, logs.Opened);
    }

    [Fact]
    public void Two_dumps_to_one_file_run_one_after_the_other_and_other_files_do_not_wait()
    {
        var logs = new GatedLogs();
        var auditor = Sys.ActorOf(AuditorActor.Props(_dir.Path, logs.Open));
        var probe = CreateTestProbe();

        auditor.Tell(new WriteDump("same.xml", null, "a:1"), probe.Ref);
        auditor.Tell(new WriteDump("same.xml", null, "b:1"), probe.Ref);
        auditor.Tell(new WriteDump("other.xml", null, "c:1"), probe.Ref);
        AwaitCondition(() => Volatile.Read(ref logs.Opened) == 2, TimeSpan.FromSeconds(5), cancellationToken: Ct); // same.xml (first) and other.xml
        Thread.Sleep(200);
        Assert.Equal(2, Volatile.Read(ref logs.Opened)); // the second dump to same.xml waits for the first
        logs.Gate.Release();

        var results = probe.ReceiveN(3, TimeSpan.FromSeconds(10), cancellationToken: Ct).Cast<DumpResult>().ToList();
        Assert.All(results, r => Assert.True(r.Ok, r.Text));
        Assert.Equal(3, logs.Opened);
        Assert.Equal(2, results.Count(r => r.Text.Contains("same.xml")));
    }

    [Fact]
    public void A_different_dump_under_a_used_dump_id_is_refused_not_answered_with_the_others_result()
    {
        var logs = new GatedLogs();
        logs.Gate.Release();
        var auditor = Sys.ActorOf(AuditorActor.Props(_dir.Path, logs.Open));
        var probe = CreateTestProbe();

        auditor.Tell(new WriteDump("a.xml", "alice", "run-1:5"), probe.Ref);
        var first = probe.ExpectMsg<DumpResult>(TimeSpan.FromSeconds(10), cancellationToken: Ct);
        Assert.True(first.Ok, first.Text);

        // Same id, another user and file: refused, and nothing written for it.
        auditor.Tell(new WriteDump("b.xml", "bob", "run-1:5"), probe.Ref);
        var refused = probe.ExpectMsg<DumpResult>(TimeSpan.FromSeconds(5), cancellationToken: Ct);
        Assert.False(refused.Ok);
        Assert.Equal("dump id 'run-1:5' (run id and transaction number) was already used for a different DUMPLOG; nothing written", refused.Text);
        Assert.DoesNotContain("a.xml", refused.Text);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "b.xml")));
        auditor.Tell(new WriteDump("a.xml", null, "run-1:5"), probe.Ref); // the same file for everyone: different too
        Assert.False(probe.ExpectMsg<DumpResult>(TimeSpan.FromSeconds(5), cancellationToken: Ct).Ok);

        // The real repeat still gets its result; the log was opened once.
        auditor.Tell(new WriteDump("a.xml", "alice", "run-1:5"), probe.Ref);
        Assert.Equal(first, probe.ExpectMsg<DumpResult>(TimeSpan.FromSeconds(5), cancellationToken: Ct));
        Assert.Equal(1, logs.Opened);
    }

    [Fact]
    public void A_different_dump_under_the_id_of_a_running_one_is_refused_and_the_running_one_answers_its_asker()
    {
        var logs = new GatedLogs();
        var auditor = Sys.ActorOf(AuditorActor.Props(_dir.Path, logs.Open));
        var first = CreateTestProbe();
        var other = CreateTestProbe();

        auditor.Tell(new WriteDump("a.xml", "alice", "run-2:5"), first.Ref);
        AwaitCondition(() => Volatile.Read(ref logs.Opened) == 1, TimeSpan.FromSeconds(5), cancellationToken: Ct);
        auditor.Tell(new WriteDump("b.xml", "bob", "run-2:5"), other.Ref);
        Assert.False(other.ExpectMsg<DumpResult>(TimeSpan.FromSeconds(5), cancellationToken: Ct).Ok);
        logs.Gate.Release();
        Assert.True(first.ExpectMsg<DumpResult>(TimeSpan.FromSeconds(10), cancellationToken: Ct).Ok);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "b.xml")));
    }

    /// <summary>Records what the gateway asks the recorder, answering like the real one (Done).</summary>
    private sealed class ListeningRecorder : ReceiveActor
    {
        public ListeningRecorder(List<object> records) => ReceiveAny(m =>
        {
            lock (records) records.Add(m);
            Sender.Tell(Akka.Done.Instance);
        });
    }

    private sealed class FailingAuditor : ReceiveActor
    {
        public FailingAuditor() => Receive<WriteDump>(w => Sender.Tell(new DumpResult(false, $"writing the dump to {w.FileName} failed: File name too long")));
    }

    [Fact]
    public async Task A_dump_that_fails_after_its_request_was_recorded_gets_its_errorEvent()
    {
        var records = new List<object>();
        var recorder = Sys.ActorOf(Props.Create(() => new ListeningRecorder(records)));
        var auditor = Sys.ActorOf(Props.Create(() => new FailingAuditor()));
        var gateway = new ClusterTradeGateway(new GatewaySettings(Sys, ActorRefs.Nobody, recorder, auditor, "test-node", TimeProvider.System, _dir.Path)).WithAdminRights();

        var reply = await gateway.Execute(new TradeRequest(12, CommandKind.DumpLog, null, FileName: "all.xml", RunId: "run-8"), TestContext.Current.CancellationToken);

        const string error = "writing the dump to all.xml failed: File name too long";
        Assert.False(reply.Ok);
        Assert.Equal(error, reply.Error);
        Assert.Collection(records,
            r => Assert.Equal(new AdminDumpRequested(0, "", 12, "run-8", "all.xml", null), Assert.IsType<AdminDumpRequested>(r) with { TimestampMs = 0, Server = "" }),
            r => Assert.Equal(new DumpFailed(0, "", 12, "run-8", null, "all.xml", error), Assert.IsType<DumpFailed>(r) with { TimestampMs = 0, Server = "" }));
    }

    private sealed class RefusingRecorder : ReceiveActor
    {
        public RefusingRecorder() => ReceiveAny(_ => Sender.Tell(new DumpResult(false, "transaction 12 of run run-9 was already used for a different request; nothing was done")));
    }

    [Fact]
    public async Task An_admin_DUMPLOG_the_recorder_refuses_is_not_dumped()
    {
        var asks = new List<WriteDump>();
        var auditor = Sys.ActorOf(Props.Create(() => new MovingAuditor(asks)));
        var recorder = Sys.ActorOf(Props.Create(() => new RefusingRecorder()));
        var gateway = new ClusterTradeGateway(new GatewaySettings(Sys, ActorRefs.Nobody, recorder, auditor, "test-node", TimeProvider.System, _dir.Path)).WithAdminRights();

        var reply = await gateway.Execute(new TradeRequest(12, CommandKind.DumpLog, null, FileName: "all.xml", RunId: "run-9"), TestContext.Current.CancellationToken);

        Assert.False(reply.Ok);
        Assert.Contains("already used for a different request", reply.Error);
        Assert.Empty(asks);
    }

    /// <summary>Stands in for the Auditor singleton while it moves: the first ask is lost.</summary>
    private sealed class MovingAuditor : ReceiveActor
    {
        public MovingAuditor(List<WriteDump> asks)
        {
            Receive<WriteDump>(w =>
            {
                lock (asks) asks.Add(w);
                if (asks.Count > 1) Sender.Tell(new DumpResult(true, $"wrote 3 entries to {w.FileName}"));
            });
        }
    }

    private sealed class Recorder : ReceiveActor
    {
        public Recorder() => ReceiveAny(_ => Sender.Tell(Akka.Done.Instance));
    }

    [Fact]
    public async Task The_gateway_asks_again_under_the_same_dump_id_when_the_auditor_does_not_answer()
    {
        var asks = new List<WriteDump>();
        var auditor = Sys.ActorOf(Props.Create(() => new MovingAuditor(asks)));
        var recorder = Sys.ActorOf(Props.Create(() => new Recorder()));
        var gateway = new ClusterTradeGateway(new GatewaySettings(Sys, ActorRefs.Nobody, recorder, auditor, "test-node", TimeProvider.System, _dir.Path)
        {
            ResendAfter = TimeSpan.FromMilliseconds(300),
        }).WithAdminRights();

        var reply = await gateway.Execute(new TradeRequest(12, CommandKind.DumpLog, null, FileName: "all.xml", RunId: "run-7"), TestContext.Current.CancellationToken);

        Assert.True(reply.Ok, reply.Error);
        Assert.Equal(2, asks.Count);
        Assert.Equal("run-7:12", asks[0].DumpId);
        Assert.Equal(asks[0], asks[1]);
    }
}
