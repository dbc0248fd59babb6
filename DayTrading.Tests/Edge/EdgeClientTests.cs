using Akka.Configuration;
using DayTrading.Accounts;
using DayTrading.Edge;
using DayTrading.Loadgen.Client;
using DayTrading.Loadgen.Workloads;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Edge;

public sealed class EdgeClientTests : Akka.TestKit.Xunit.TestKit
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly FakeGateway _gateway = new();
    private TcpEdgeBinding? _edge;

    public EdgeClientTests(ITestOutputHelper output) : base(ConfigurationFactory.ParseString("akka.loglevel = INFO"), output: output)
    {
    }

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        _edge = await TcpEdge.StartAsync(Sys, _gateway, new TcpEdgeOptions { TxNumbers = new TxNumberGenerator(1_000_000) });
    }

    public override async ValueTask DisposeAsync()
    {
        if (_edge is not null) await _edge.UnbindAsync();
        await base.DisposeAsync();
    }

    private int Port => _edge!.LocalEndPoint.Port;

    [Fact]
    public void Response_lines_parse()
    {
        var ok = EdgeResponse.Parse("[12] OK QUOTE 12.34,S,u,1,k");
        Assert.Equal((12L, true, "QUOTE", "12.34,S,u,1,k"), (ok.TxNum!.Value, ok.Ok, ok.Command, ok.Body));
        var bare = EdgeResponse.Parse("[3] OK ADD");
        Assert.Equal((3L, true, "ADD", null), (bare.TxNum!.Value, bare.Ok, bare.Command, bare.Body));
        var err = EdgeResponse.Parse("[4] ERR ? unknown command 'X'");
        Assert.Equal((4L, false, "?", "unknown command 'X'"), (err.TxNum!.Value, err.Ok, err.Command, err.Reason));
        var dir = EdgeResponse.Parse("# OK RUN abc");
        Assert.True(dir.IsDirective);
        Assert.Equal(("RUN", "abc"), (dir.Command, dir.Body));
        Assert.False(EdgeResponse.Parse("garbage").Ok);
    }

    [Fact]
    public void Workload_reader_is_tolerant()
    {
        var cmds = WorkloadReader.Parse("[1] ADD,u1,10.00 \r\n\n  \n[2] QUOTE,u1,S   \n[3] FOO,u2\n[4] DUMPLOG,u1,./x\n[5] DUMPLOG,./all");
        Assert.Equal(5, cmds.Count);
        Assert.Equal(new WorkloadCommand(1, "[1] ADD,u1,10.00", CommandKind.Add, "u1", 1), cmds[0]);
        Assert.Equal("[2] QUOTE,u1,S", cmds[1].Line);
        Assert.Equal(4, cmds[1].LineNumber);
        Assert.Null(cmds[2].Kind);
        Assert.Equal("u2", cmds[2].UserId);
        Assert.False(cmds[3].IsAdminDump);
        Assert.True(cmds[4].IsAdminDump);
        Assert.Null(cmds[4].UserId);
    }

    [Fact]
    public async Task Client_pipelines_and_matches_responses_with_run_id_and_quiet()
    {
        _gateway.Handler = async (r, _) =>
        {
            await Task.Delay(Random.Shared.Next(0, 3));
            return FakeGateway.DefaultReply(r);
        };
        await using var client = await EdgeClient.ConnectAsync("127.0.0.1", Port, new EdgeClientOptions { RunId = "r1" }, cancellationToken: Ct);
        var tasks = Enumerable.Range(1, 500).Select(i => client.SendAsync($"[{i}] QUOTE,u{i % 5},S")).ToArray();
        var responses = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(20), Ct);
        for (var i = 0; i < responses.Length; i++)
        {
            Assert.Equal(i + 1, responses[i].TxNum);
            Assert.Equal($"12.34,S,u{(i + 1) % 5},1700000000000,key{i + 1}", responses[i].Body);
        }
        Assert.All(_gateway.Executed, r => Assert.Equal("r1", r.RunId));

        var noN = await client.SendAsync("ADD,u,1", Ct);
        Assert.True(noN.TxNum > 1_000_000);
        var bad = await client.SendAsync("[501] ADD,u,1e3", Ct);
        Assert.False(bad.Ok);
        Assert.Equal("ADD", bad.Command);

        await using var quiet = await EdgeClient.ConnectAsync("127.0.0.1", Port, new EdgeClientOptions { Quiet = true }, cancellationToken: Ct);
        var q = await quiet.SendAsync("[600] QUOTE,u,S", Ct);
        Assert.True(q.Ok);
        Assert.Null(q.Body);
    }

    [Fact]
    public async Task Pending_requests_fail_when_the_connection_goes_away()
    {
        var never = new TaskCompletionSource<TradeReply>();
        _gateway.Handler = (_, _) => never.Task;
        var client = await EdgeClient.ConnectAsync("127.0.0.1", Port, cancellationToken: Ct);
        var pending = client.SendAsync("[1] ADD,u,1", Ct);
        await _edge!.UnbindAsync(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<IOException>(() => pending.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        await Assert.ThrowsAnyAsync<IOException>(() => client.SendAsync("[2] ADD,u,1", Ct));
        await client.DisposeAsync();
    }

    [Fact]
    public async Task Replayer_keeps_per_user_order_one_request_per_user_in_flight_and_sends_admin_dump_last()
    {
        _gateway.Handler = async (r, _) =>
        {
            await Task.Delay(Random.Shared.Next(0, 3));
            return FakeGateway.DefaultReply(r);
        };
        var lines = new List<string>();
        var n = 0;
        for (var round = 0; round < 40; round++)
        {
            foreach (var user in new[] { "alice", "bob", "carol", "dave", "erin" })
                lines.Add($"[{++n}] {(round % 3 == 0 ? $"ADD,{user},1.00" : $"QUOTE,{user},S")}");
            if (round == 20) lines.Add($"[{++n}] DUMPLOG,./mid"); // admin dump in the middle of the file: still last
        }
        lines.Add($"[{++n}] DUMPLOG,alice,./alice");
        lines.Add($"[{++n}] FOO,alice"); // refused line: answered, not executed
        lines.Add($"[{++n}] DUMPLOG,./all");
        var commands = WorkloadReader.Parse(string.Join("\n", lines));

        var result = await WorkloadReplayer.ReplayAsync("127.0.0.1", Port, commands, connections: 3, cancellationToken: Ct);

        Assert.Equal(n, result.Responses.Count);
        Assert.Equal(Enumerable.Range(1, n).Select(i => (long)i), result.Responses.Keys.Order());
        Assert.Equal(1, result.Errors);
        Assert.False(result.Responses[n - 1].Ok);

        var executed = _gateway.Executed.ToArray();
        Assert.Equal(n - 1, executed.Length);
        foreach (var group in executed.Where(r => r.UserId is not null).GroupBy(r => r.UserId))
            Assert.Equal(group.Select(r => r.TxNum).Order(), group.Select(r => r.TxNum));
        Assert.Equal(1, _gateway.MaxInFlightPerUser);
        // the two admin dumps come after everything else, in file order
        Assert.Equal(["./mid", "./all"], executed[^2..].Select(r => r.FileName));
        Assert.All(executed[^2..], r => Assert.Null(r.UserId));
        Assert.True(result.WallTime > TimeSpan.Zero);
    }

    [SharedDataFact]
    public async Task Replays_the_course_1user_workload()
    {
        var commands = WorkloadReader.ReadFile(SharedData.Workload("1userWorkLoad"));
        Assert.Equal(100, commands.Count);
        Assert.True(commands[^1].IsAdminDump);

        var result = await WorkloadReplayer.ReplayAsync("127.0.0.1", Port, commands, connections: 2,
            new EdgeClientOptions { RunId = "course-1user" });

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), result.Responses.Keys.Order());
        Assert.Equal(0, result.Errors);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), _gateway.Executed.Select(r => r.TxNum));
        Assert.Equal(CommandKind.DumpLog, _gateway.Executed.Last().Kind);
        Assert.Null(_gateway.Executed.Last().UserId);
        Assert.Empty(_gateway.Rejected);
    }

    [SharedDataFact]
    public async Task Every_line_of_the_course_workloads_parses_except_its_negative_amounts()
    {
        var numbers = new TxNumberGenerator(0);
        foreach (var file in Directory.GetFiles(SharedData.PathOf("workloads")))
        {
            foreach (var cmd in WorkloadReader.ReadFile(file))
            {
                var parsed = LineParser.Parse(cmd.Line, null, numbers);
                if (parsed.Kind == ParsedLineKind.Rejected && cmd.Line.Contains(",-"))
                {
                    // the 10-user file deliberately holds a negative ADD (SPEC §1: an error)
                    Assert.Equal("amount must be greater than 0", parsed.Reason);
                    Assert.Equal(cmd.TxNum, parsed.TxNum);
                    continue;
                }
                Assert.True(parsed.Kind == ParsedLineKind.Request, $"{Path.GetFileName(file)}:{cmd.LineNumber}: {parsed}");
                Assert.Equal(cmd.TxNum, parsed.TxNum);
                Assert.Equal(cmd.Kind, parsed.Request!.Kind);
                Assert.Equal(cmd.UserId, parsed.Request.UserId);
            }
        }
        await Task.CompletedTask;
    }

    [SharedDataFact]
    public async Task Replays_the_course_10user_workload()
    {
        var commands = WorkloadReader.ReadFile(SharedData.Workload("10User_testWorkLoad"));
        var result = await WorkloadReplayer.ReplayAsync("127.0.0.1", Port, commands, connections: 2);
        Assert.Equal(commands.Count, result.Responses.Count);
        var negative = commands.Where(c => c.Line.Contains(",-")).Select(c => c.TxNum!.Value).Order().ToArray();
        Assert.NotEmpty(negative);
        Assert.Equal(negative.Length, result.Errors);
        Assert.Equal(negative, _gateway.Rejected.Select(r => r.TxNum).Order());
        Assert.Equal(commands.Count - negative.Length, _gateway.Executed.Count);
        Assert.Equal(1, _gateway.MaxInFlightPerUser);
        Assert.True(_gateway.Executed.Last().Kind == CommandKind.DumpLog && _gateway.Executed.Last().UserId is null);
    }
}
