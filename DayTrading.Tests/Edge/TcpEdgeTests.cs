using System.Net.Sockets;
using System.Text;
using Akka.Configuration;
using DayTrading.Accounts;
using DayTrading.Edge;
using Xunit;

namespace DayTrading.Tests.Edge;

public sealed class TcpEdgeTests : Akka.TestKit.Xunit.TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly FakeGateway _gateway = new();
    private TcpEdgeBinding? _edge;

    public TcpEdgeTests(ITestOutputHelper output)
        : base(ConfigurationFactory.ParseString("akka.loglevel = INFO"), output: output)
    {
    }

    // Most tests read responses by position: they ask for position order; the ready-order tests below do not.
    private TcpEdgeOptions Options { get; set; } = new() { TxNumbers = new TxNumberGenerator(9_000_000_000_000_000), Order = ResponseOrder.Position };

    public override async ValueTask DisposeAsync()
    {
        if (_edge is not null) await _edge.UnbindAsync();
        await base.DisposeAsync();
    }

    private async Task<RawConnection> Connect()
    {
        _edge ??= await TcpEdge.StartAsync(Sys, _gateway, Options);
        return await RawConnection.Open(_edge.LocalEndPoint.Port);
    }

    [Fact]
    public async Task Pipelined_1000_lines_are_answered_once_each_in_order_despite_random_gateway_delays()
    {
        _gateway.Handler = async (r, _) =>
        {
            await Task.Delay(Random.Shared.Next(0, 4));
            return FakeGateway.DefaultReply(r);
        };
        await using var c = await Connect();
        var sb = new StringBuilder();
        for (var i = 1; i <= 1000; i++) sb.Append($"[{i}] {(i % 2 == 0 ? $"QUOTE,user{i % 7},S" : $"ADD,user{i % 7},1.5")}\n");
        await c.Write(sb.ToString());
        for (var i = 1; i <= 1000; i++)
        {
            var line = await c.ReadLine();
            Assert.StartsWith($"[{i}] OK {(i % 2 == 0 ? "QUOTE 12.34,S," : "ADD")}", line);
        }
        Assert.Equal(1000, _gateway.Executed.Count);
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), _gateway.Executed.Select(r => r.TxNum).Order());
        await c.ExpectNoMoreLines();
    }

    [Fact]
    public async Task Bad_lines_get_errors_in_order_are_recorded_and_the_connection_continues()
    {
        await using var c = await Connect();
        var bytes = new List<byte>();
        bytes.AddRange("[1] ADD,u,100\r\n[2] FOO,u\n[3] ADD,u,-5   \n"u8.ToArray());
        bytes.AddRange(Encoding.ASCII.GetBytes("[4] ADD,u," + new string('9', 3000) + "\n"));
        bytes.AddRange("[5] ADD,u,"u8.ToArray());
        bytes.AddRange(new byte[] { 0xFF, 0xFE });
        bytes.AddRange("\n\n[6] QUOTE,u,S\n[7] BUY,u,S\n[8] QUOTE,u,abc\n[9] DISPLAY_SUMMARY,u\n"u8.ToArray());
        await c.Write(bytes.ToArray());

        Assert.Equal("[1] OK ADD", await c.ReadLine());
        Assert.Equal("[2] ERR ? unknown command 'FOO'", await c.ReadLine());
        Assert.Equal("[3] ERR ADD amount must be greater than 0", await c.ReadLine());
        Assert.Equal("[4] ERR ADD line too long (more than 1024 bytes)", await c.ReadLine());
        Assert.Equal("[5] ERR ADD invalid UTF-8", await c.ReadLine());
        Assert.Equal("[6] OK QUOTE 12.34,S,u,1700000000000,key6", await c.ReadLine());
        Assert.Equal("[7] ERR BUY takes user,symbol,amount (got 2 arguments)", await c.ReadLine());
        Assert.Equal("[8] ERR QUOTE invalid symbol 'abc' (1-3 letters A-Z)", await c.ReadLine());
        // the summary body had raw newlines: still one line
        Assert.Equal("[9] OK DISPLAY_SUMMARY {\"cash\":\"1.00\", \"note\":\"two  lines\"}", await c.ReadLine());

        var rejected = _gateway.Rejected.ToArray();
        Assert.Equal([2L, 3, 4, 5, 7, 8], rejected.Select(r => r.TxNum));
        Assert.Equal([null, "ADD", "ADD", "ADD", "BUY", "QUOTE"], rejected.Select(r => r.Command));
        Assert.Equal("u", rejected[1].UserId);
        Assert.Equal([1L, 6, 9], _gateway.Executed.Select(r => r.TxNum));

        await c.Write("[10] COMMIT_BUY,u\n");
        Assert.Equal("[10] OK COMMIT_BUY", await c.ReadLine());
    }

    [Fact]
    public async Task In_position_order_a_slow_request_does_not_let_later_responses_overtake_it()
    {
        _gateway.Handler = async (r, _) =>
        {
            if (r.TxNum == 1) await Task.Delay(700);
            return FakeGateway.DefaultReply(r);
        };
        await using var c = await Connect();
        await c.Write("[1] ADD,slow,1\n[2] ADD,fast,1\n[3] ADD,fast,2\n");
        Assert.Equal("[1] OK ADD", await c.ReadLine());
        Assert.Equal("[2] OK ADD", await c.ReadLine());
        Assert.Equal("[3] OK ADD", await c.ReadLine());
        // the fast ones did run while the slow one was pending (pipelining)
        Assert.Equal([2L, 3, 1], _gateway.Completed.Select(r => r.TxNum));
    }

    [Fact]
    public async Task Quiet_mode_and_run_id_directives()
    {
        await using var c = await Connect();
        await c.Write("#RUN,run-7\n#QUIET,on\n[1] QUOTE,u,S\n[2] ADD,u,x\n#QUIET,off\n[3] QUOTE,u,S\n#QUIET,loud\n#NOPE\n#RUN,bad id\n[4] ADD,u,1\n");
        Assert.Equal("# OK RUN run-7", await c.ReadLine());
        Assert.Equal("# OK QUIET on", await c.ReadLine());
        Assert.Equal("[1] OK QUOTE", await c.ReadLine());
        Assert.StartsWith("[2] ERR ADD 'x' is not an amount", await c.ReadLine());
        Assert.Equal("# OK QUIET off", await c.ReadLine());
        Assert.Equal("[3] OK QUOTE 12.34,S,u,1700000000000,key3", await c.ReadLine());
        Assert.Equal("# ERR QUIET takes on or off", await c.ReadLine());
        Assert.Equal("# ERR ? unknown directive '#NOPE'", await c.ReadLine());
        Assert.StartsWith("# ERR RUN invalid run id 'bad id'", await c.ReadLine());
        Assert.Equal("[4] OK ADD", await c.ReadLine());
        Assert.All(_gateway.Executed, r => Assert.Equal("run-7", r.RunId));
        Assert.Equal(3, _gateway.Executed.Count);
        Assert.Single(_gateway.Rejected); // directives are never recorded as rejected commands
    }

    [Fact]
    public async Task Gateway_failures_become_error_responses()
    {
        // Time-outs are the gateway's (ClusterTradeGatewayTests): it answers "outcome unknown" itself.
        _gateway.Handler = (r, ct) => r.TxNum switch
        {
            1 => throw new InvalidOperationException("boom\nsecond line"),
            2 => Task.FromException<TradeReply>(new ArgumentException("async boom")),
            3 => Task.FromCanceled<TradeReply>(new CancellationToken(true)),
            _ => Task.FromResult(FakeGateway.DefaultReply(r)),
        };
        await using var c = await Connect();
        await c.Write("[1] ADD,u,1\n[2] ADD,u,1\n[3] ADD,u,1\n[4] ADD,u,1\n");
        Assert.Equal("[1] ERR ADD internal error: boom second line", await c.ReadLine());
        Assert.Equal("[2] ERR ADD internal error: async boom", await c.ReadLine());
        Assert.Equal("[3] ERR ADD internal error: cancelled", await c.ReadLine());
        Assert.Equal("[4] OK ADD", await c.ReadLine());
    }

    [Fact]
    public async Task Lines_without_N_get_an_assigned_number_and_a_final_line_without_newline_is_answered_on_half_close()
    {
        await using var c = await Connect();
        await c.Write("QUOTE,u,S\n[5] ADD,u,1");
        c.ShutdownSend();
        Assert.Equal("[9000000000000001] OK QUOTE 12.34,S,u,1700000000000,key9000000000000001", await c.ReadLine());
        Assert.Equal("[5] OK ADD", await c.ReadLine());
        Assert.Null(await c.ReadLine()); // the edge closes after answering everything
    }

    [Fact]
    public async Task Connections_are_independent_and_unbind_stops_accepting()
    {
        await using var a = await Connect();
        await using var b = await Connect();
        await a.Write("#QUIET,on\n");
        Assert.Equal("# OK QUIET on", await a.ReadLine());
        await b.Write("[1] QUOTE,u,S\n");
        Assert.StartsWith("[1] OK QUOTE 12.34", await b.ReadLine()); // b is not quiet
        var port = _edge!.LocalEndPoint.Port;
        await _edge.UnbindAsync();
        Assert.Null(await a.ReadLine()); // open connections are closed gracefully
        await Assert.ThrowsAnyAsync<SocketException>(async () =>
        {
            using var t = new TcpClient();
            await t.ConnectAsync("127.0.0.1", port, cancellationToken: TestContext.Current.CancellationToken);
        });
    }

    [Fact]
    public async Task One_users_pipelined_commands_run_one_at_a_time_in_order_and_an_admin_dump_waits_for_all()
    {
        _gateway.Handler = async (r, _) =>
        {
            await Task.Delay(Random.Shared.Next(0, 4));
            return FakeGateway.DefaultReply(r);
        };
        await using var c = await Connect();
        var sb = new StringBuilder();
        for (var i = 1; i <= 60; i++) sb.Append($"[{i}] ADD,{(i % 3 == 0 ? "v" : "u")},1\n");
        sb.Append("[61] DUMPLOG,./all\n[62] ADD,u,1\n");
        await c.Write(sb.ToString());
        for (var i = 1; i <= 62; i++) Assert.StartsWith($"[{i}] OK ", await c.ReadLine());
        Assert.Equal(1, _gateway.MaxInFlightPerUser);
        var executed = _gateway.Executed.ToArray();
        foreach (var g in executed.Where(r => r.UserId is not null).GroupBy(r => r.UserId))
            Assert.Equal(g.Select(r => r.TxNum).Order(), g.Select(r => r.TxNum));
        var dumpAt = Array.FindIndex(executed, r => r.TxNum == 61);
        Assert.All(executed[..dumpAt], r => Assert.True(r.TxNum < 61));
        var beforeDump = _gateway.Completed.TakeWhile(r => r.TxNum != 61).Select(r => r.TxNum).ToHashSet();
        Assert.True(Enumerable.Range(1, 60).All(i => beforeDump.Contains(i)), "the dump ran before all earlier requests were answered");
    }

    /// <summary>A gateway handler that holds the requests of one user until the test releases them.</summary>
    private static Func<TradeRequest, CancellationToken, Task<TradeReply>> Holding(string user, TaskCompletionSource release) => async (r, _) =>
    {
        if (r.UserId == user) await release.Task;
        return FakeGateway.DefaultReply(r);
    };

    [Fact]
    public async Task Requests_of_other_users_are_answered_while_one_request_waits()
    {
        Options = Options with { Order = ResponseOrder.Ready };
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _gateway.Handler = Holding("slow", release);
        await using var c = await Connect();
        await c.Write("[1] QUOTE,slow,X\n[2] ADD,fast,1\n[3] QUOTE,other,S\n[4] ADD,slow,1\n[5] ADD,fast,2\n");
        var early = new[] { await c.ReadLine(), await c.ReadLine(), await c.ReadLine() };
        Assert.Equal(["[2] OK ADD", "[3] OK QUOTE", "[5] OK ADD"], early.Select(l => l![..(l!.StartsWith("[3]") ? 12 : 10)]).Order());
        // slow's second request waits behind its first (per-user order), which waits for the release.
        Assert.DoesNotContain(_gateway.Executed, r => r.TxNum == 4);
        release.SetResult();
        Assert.Equal("[1] OK QUOTE 12.34,X,slow,1700000000000,key1", await c.ReadLine());
        Assert.Equal("[4] OK ADD", await c.ReadLine());
    }

    [Fact]
    public async Task One_users_requests_stay_in_order_while_responses_leave_out_of_order()
    {
        Options = Options with { Order = ResponseOrder.Ready };
        // Later requests finish faster: without per-user order, user a's would overtake each other.
        _gateway.Handler = async (r, _) =>
        {
            await Task.Delay(r.UserId == "a" ? 60 - (int)r.TxNum * 10 : 1);
            return FakeGateway.DefaultReply(r);
        };
        await using var c = await Connect();
        await c.Write("[1] ADD,a,1\n[2] ADD,a,1\n[3] ADD,b,1\n[4] ADD,a,1\n[5] ADD,b,1\n");
        var lines = new List<string>();
        for (var i = 0; i < 5; i++) lines.Add((await c.ReadLine())!);
        Assert.Equal(["[1] OK ADD", "[2] OK ADD", "[4] OK ADD"], lines.Where(l => l is "[1] OK ADD" or "[2] OK ADD" or "[4] OK ADD"));
        Assert.NotEqual(["[1] OK ADD", "[2] OK ADD", "[3] OK ADD", "[4] OK ADD", "[5] OK ADD"], lines); // b overtook a
        Assert.Equal([1L, 2, 4], _gateway.Executed.Where(r => r.UserId == "a").Select(r => r.TxNum));
        Assert.Equal(1, _gateway.MaxInFlightPerUser);
    }

    [Fact]
    public async Task The_position_order_directive_restores_strict_order_and_ready_lifts_it()
    {
        Options = Options with { Order = ResponseOrder.Ready };
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _gateway.Handler = Holding("slow", release);
        await using var c = await Connect();
        await c.Write("#ORDER,position\n[1] ADD,slow,1\n[2] ADD,fast,1\n#ORDER,ready\n[3] ADD,fast,2\n#ORDER,sideways\n");
        Assert.Equal("# OK ORDER position", await c.ReadLine());
        // [3] and the bad directive were read after #ORDER,ready: they leave at once; [2] and #ORDER,ready wait for [1].
        Assert.Equal(["# ERR ORDER takes position or ready", "[3] OK ADD"], new[] { await c.ReadLine(), await c.ReadLine() }.Order());
        Assert.Equal([2L, 3], _gateway.Completed.Select(r => r.TxNum).Order()); // [2] is done but waits for [1]
        release.SetResult();
        Assert.Equal("[1] OK ADD", await c.ReadLine());
        Assert.Equal("[2] OK ADD", await c.ReadLine());
        Assert.Equal("# OK ORDER ready", await c.ReadLine());
    }

    [Fact]
    public async Task Reading_stops_while_the_connection_has_its_limit_of_requests_in_flight()
    {
        Options = Options with { Order = ResponseOrder.Ready, MaxPendingPerConnection = 8 };
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _gateway.Handler = async (r, _) =>
        {
            await release.Task;
            return FakeGateway.DefaultReply(r);
        };
        await using var c = await Connect();
        var first = new StringBuilder();
        for (var i = 1; i <= 8; i++) first.Append($"[{i}] ADD,user{i},1\n");
        await c.Write(first.ToString());
        for (var wait = 0; _gateway.Executed.Count < 8 && wait < 200; wait++) await Task.Delay(25, TestContext.Current.CancellationToken);
        Assert.Equal(8, _gateway.Executed.Count);
        var rest = new StringBuilder();
        for (var i = 9; i <= 200; i++) rest.Append($"[{i}] ADD,user{i},1\n");
        await c.Write(rest.ToString());
        await Task.Delay(300, TestContext.Current.CancellationToken);
        Assert.Equal(8, _gateway.Executed.Count); // the limit is reached: the edge does not read the next chunk
        release.SetResult();
        var answered = new HashSet<string>();
        for (var i = 0; i < 200; i++) answered.Add((await c.ReadLine())!);
        Assert.Equal(200, answered.Count);
    }

    /// <summary>A plain socket: write raw bytes, read response lines.</summary>
    private sealed class RawConnection : IAsyncDisposable
    {
        private readonly TcpClient _tcp;
        private readonly StreamReader _reader;

        private RawConnection(TcpClient tcp)
        {
            _tcp = tcp;
            _reader = new StreamReader(tcp.GetStream(), new UTF8Encoding(false));
        }

        public static async Task<RawConnection> Open(int port)
        {
            var tcp = new TcpClient { NoDelay = true };
            await tcp.ConnectAsync("127.0.0.1", port);
            return new RawConnection(tcp);
        }

        public Task Write(string text) => Write(Encoding.UTF8.GetBytes(text));

        public async Task Write(byte[] bytes) => await _tcp.GetStream().WriteAsync(bytes);

        public void ShutdownSend() => _tcp.Client.Shutdown(SocketShutdown.Send);

        public async Task<string?> ReadLine() => await _reader.ReadLineAsync().WaitAsync(Wait);

        public async Task ExpectNoMoreLines()
        {
            var next = _reader.ReadLineAsync();
            var done = await Task.WhenAny(next, Task.Delay(200));
            Assert.NotSame(next, done);
        }

        public ValueTask DisposeAsync()
        {
            _tcp.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
