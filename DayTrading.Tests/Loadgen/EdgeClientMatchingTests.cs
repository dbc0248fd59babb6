using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using DayTrading.Loadgen.Cli;
using DayTrading.Loadgen.Client;
using DayTrading.Loadgen.Generation;
using DayTrading.Loadgen.Metrics;
using DayTrading.Loadgen.Replay;
using DayTrading.Loadgen.Workloads;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Loadgen;

/// <summary>The Loadgen's client pairs answers by N, whatever order the edge answers in.</summary>
public sealed class EdgeClientMatchingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>An edge the test drives by hand: one connection, lines read and answers written when the test says so.</summary>
    private sealed class ScriptedEdge : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task<TcpClient> _accepted;
        private StreamReader? _reader;
        private Stream? _stream;

        public ScriptedEdge()
        {
            _listener.Start();
            _accepted = _listener.AcceptTcpClientAsync(Ct).AsTask();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        private async Task<Stream> Stream()
        {
            if (_stream is null)
            {
                _stream = (await _accepted).GetStream();
                _reader = new StreamReader(_stream, new UTF8Encoding(false));
            }
            return _stream;
        }

        public async Task<List<string>> ReadLines(int count)
        {
            await Stream();
            var lines = new List<string>();
            while (lines.Count < count) lines.Add(await _reader!.ReadLineAsync(Ct) ?? throw new IOException("client closed"));
            return lines;
        }

        public async Task Answer(params string[] lines)
        {
            var s = await Stream();
            await s.WriteAsync(Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n"))), Ct);
            await s.FlushAsync(Ct);
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            if (_accepted.IsCompletedSuccessfully) _accepted.Result.Dispose();
            await Task.CompletedTask;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Pairs_answers_by_N_when_the_edge_holds_one_and_answers_later_ones_first(bool inline)
    {
        await using var edge = new ScriptedEdge();
        await using var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, new EdgeClientOptions { InlineCompletions = inline }, Ct);
        var tasks = Enumerable.Range(1, 6).Select(i => client.SendAsync($"[{i}] QUOTE,u{i},S{i}", Ct)).ToArray();
        Assert.Equal(Enumerable.Range(1, 6).Select(i => $"[{i}] QUOTE,u{i},S{i}"), await edge.ReadLines(6));

        // [1] is held; the others are answered in reverse.
        await edge.Answer("[6] OK QUOTE body-6", "[5] ERR QUOTE reason-5", "[4] OK QUOTE body-4", "[3] OK QUOTE body-3", "[2] OK QUOTE body-2");
        await Task.WhenAll(tasks[1..]);
        Assert.False(tasks[0].IsCompleted);
        Assert.Equal(1, client.Outstanding);
        await edge.Answer("[1] OK QUOTE body-1");

        var responses = await Task.WhenAll(tasks);
        for (var i = 1; i <= 6; i++)
        {
            var r = responses[i - 1];
            Assert.Equal(i, r.TxNum);
            Assert.Equal("QUOTE", r.Command);
            Assert.Equal(i == 5 ? "reason-5" : $"body-{i}", r.Text);
            Assert.Equal(i != 5, r.Ok);
        }
        Assert.Equal("[5] ERR QUOTE reason-5", responses[4].Raw);
        Assert.Equal(0, client.Outstanding);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Pooled_sends_pair_by_N_out_of_order_round_after_round(bool inline)
    {
        await using var edge = new ScriptedEdge();
        await using var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, new EdgeClientOptions { InlineCompletions = inline }, Ct);
        for (var round = 0; round < 5; round++)
        {
            var ns = Enumerable.Range(round * 10 + 1, 4).ToArray();
            var sends = ns.Select(n => client.SendValueAsync($"[{n}] ADD,u{n},1", Ct)).ToArray();
            await edge.ReadLines(4);
            await edge.Answer(ns.Reverse().Select(n => $"[{n}] ERR ADD r{n}").ToArray());
            for (var i = 0; i < ns.Length; i++)
            {
                var r = await sends[i]; // each awaited once; the sources go back to the pool
                Assert.Equal((ns[i], $"r{ns[i]}"), (r.TxNum!.Value, r.Reason));
            }
        }
        Assert.Equal(0, client.Outstanding);
    }

    [Fact]
    public async Task Directive_answers_pair_first_in_first_out_even_when_they_overtake_requests()
    {
        await using var edge = new ScriptedEdge();
        await using var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, cancellationToken: Ct);
        var run = client.SendAsync("#RUN,r1", Ct);
        var add = client.SendAsync("[1] ADD,u,10", Ct);
        var order = client.SendAsync("#ORDER,ready", Ct);
        var quiet = client.SendAsync("#QUIET,bogus", Ct);
        await edge.ReadLines(4);

        await edge.Answer("# OK RUN r1", "# OK ORDER ready", "# ERR QUIET expected on or off", "[1] OK ADD");

        var (r, o, q, a) = (await run, await order, await quiet, await add);
        Assert.True(r.IsDirective && r.Ok && r.Command == "RUN" && r.Text == "r1", r.Raw);
        Assert.True(o.IsDirective && o.Ok && o.Command == "ORDER" && o.Text == "ready", o.Raw);
        Assert.True(q.IsDirective && !q.Ok && q.Command == "QUIET" && q.Reason == "expected on or off", q.Raw);
        Assert.True(a is { TxNum: 1, Ok: true, Command: "ADD" }, a.Raw);
    }

    [Theory]
    [InlineData("[2] OK ADD")]            // an N nobody awaits (and no line without N in flight)
    [InlineData("# OK RUN x")]            // a directive answer with no directive in flight
    [InlineData("[1]OKADD")]              // no known form
    public async Task A_response_that_matches_no_request_fails_the_client(string answer)
    {
        await using var edge = new ScriptedEdge();
        await using var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, cancellationToken: Ct);
        var pending = client.SendAsync("[1] ADD,u,10", Ct);
        await edge.ReadLines(1);

        await edge.Answer(answer);

        var ex = await Assert.ThrowsAsync<IOException>(() => pending);
        Assert.Contains(answer, ex.InnerException?.Message ?? ex.Message);
        await Assert.ThrowsAsync<IOException>(() => client.SendAsync("[3] ADD,u,1", Ct));
    }

    [Fact]
    public async Task The_same_N_in_flight_twice_pairs_oldest_first()
    {
        await using var edge = new ScriptedEdge();
        await using var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, cancellationToken: Ct);
        var first = client.SendAsync("[7] BUY,a,ABC,10", Ct);
        var other = client.SendAsync("[8] ADD,b,1", Ct);
        var second = client.SendAsync("[7] BUY,b,ABC,20", Ct);
        var third = client.SendAsync("[7] SELL,c,ABC,30", Ct);
        await edge.ReadLines(4);

        await edge.Answer("[7] ERR BUY first", "[8] OK ADD", "[7] ERR BUY second");
        Assert.Equal("first", (await first).Reason);
        Assert.Equal("second", (await second).Reason);
        Assert.True((await other).Ok);
        Assert.False(third.IsCompleted);
        await edge.Answer("[7] ERR SELL third");
        Assert.Equal(("SELL", "third"), ((await third).Command, (await third).Reason));
    }

    [Fact]
    public async Task Lines_without_N_take_answers_whose_N_no_numbered_request_awaits()
    {
        await using var edge = new ScriptedEdge();
        await using var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, cancellationToken: Ct);
        var bare = client.SendAsync("ADD,u,1", Ct);
        var numbered = client.SendAsync("[3] QUOTE,u,ABC", Ct);
        var refused = client.SendAsync("[0] ADD,u,2", Ct); // refused under an assigned N
        await edge.ReadLines(3);

        // The numbered request's answer comes first: it is not taken by the older line without N.
        await edge.Answer("[3] OK QUOTE q", "[1700000000000001] OK ADD", "[1700000000000002] ERR ? malformed transaction number");

        Assert.Equal(("QUOTE", "q"), ((await numbered).Command, (await numbered).Body));
        Assert.Equal(1700000000000001, (await bare).TxNum);
        Assert.Equal(1700000000000002, (await refused).TxNum);
        Assert.False((await refused).Ok);
    }

    [Fact]
    public async Task Without_KeepBodies_ok_answers_carry_no_body_but_errors_keep_their_reason()
    {
        await using var edge = new ScriptedEdge();
        await using var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, new EdgeClientOptions { KeepBodies = false }, Ct);
        var ok = client.SendAsync("[1] QUOTE,u,ABC", Ct);
        var err = client.SendAsync("[2] BUY,u,ABC,5", Ct);
        await edge.ReadLines(2);
        await edge.Answer("[2] ERR BUY insufficient funds: need 5.00, have 0.00", "[1] OK QUOTE 12.34,ABC,u,1,k");
        Assert.True((await ok) is { Ok: true, Command: "QUOTE", Body: null });
        Assert.Equal("insufficient funds: need 5.00, have 0.00", (await err).Reason);
    }

    private static LoadOptions Options(FakeEdgeServer server) => new()
    {
        Targets = [new Target("127.0.0.1", server.Port)],
        RunId = "ooo-run",
        ConnectionsPerTarget = 2,
    };

    [Fact]
    public async Task A_replay_against_an_out_of_order_edge_answers_everything_and_keeps_per_user_order()
    {
        await using var server = new FakeEdgeServer { OutOfOrder = true };
        var commands = WorkloadReader.Parse(WorkloadGenerator.Generate(new GeneratorOptions(24, 2_000, 9)));
        var answers = new ConcurrentBag<(WorkloadCommand Command, EdgeResponse Response)>();
        var metrics = new RunMetrics();
        var runner = new LoadRunner(Options(server), metrics) { OnAnswer = (c, r, _) => answers.Add((c, r)) };

        var outcome = await runner.RunAsync(commands, Ct);

        Assert.Null(outcome.FatalError);
        Assert.Equal(commands.Count, outcome.Answered);
        Assert.Equal(commands.Count, metrics.Overall.Ok + metrics.Dumps.Ok); // the DUMPLOG is counted apart
        Assert.True(server.Overtaken > 0, "some answers came out of order");
        // Every command got the answer carrying its own N.
        Assert.All(answers, a => Assert.Equal(a.Command.TxNum, a.Response.TxNum));
        Assert.Equal(commands.Select(c => c.TxNum).Order(), answers.Select(a => a.Response.TxNum).Order());
        // Per user: received in file order, each only after the previous one was answered.
        var received = server.ReceivedLines.OrderBy(r => r.Seq).ToList();
        var answeredAt = server.AnsweredLines.Where(x => x.N is not null).ToDictionary(x => x.N!.Value, x => x.At);
        foreach (var user in commands.Where(c => !c.IsAdminDump).GroupBy(c => c.UserId))
        {
            var expected = user.Select(c => c.TxNum!.Value).ToList();
            var seen = received.Where(r => r.Line.Contains($",{user.Key}")).ToList();
            Assert.Equal(expected, seen.Select(r => r.N!.Value));
            for (var i = 1; i < seen.Count; i++) Assert.True(answeredAt[seen[i - 1].N!.Value] <= seen[i].At);
        }
        Assert.Contains("DUMPLOG", received[^1].Line);
    }

    [Fact]
    public async Task The_replay_command_completes_against_an_out_of_order_edge()
    {
        await using var server = new FakeEdgeServer { OutOfOrder = true };
        using var dir = new TempDirectory();
        var workload = Path.Combine(dir.Path, "w.txt");
        WorkloadGenerator.WriteFile(workload, new GeneratorOptions(10, 600, 4));
        var output = new StringWriter();

        var exit = await LoadgenCli.BuildRoot(output).Parse(["replay", workload, "--target", server.Endpoint, "--no-live", "--quiet",
            "--report-dir", Path.Combine(dir.Path, "r")]).InvokeAsync(cancellationToken: Ct);

        Assert.True(exit == ExitCodes.Ok, output.ToString());
        Assert.Contains("answered 600/600", output.ToString());
        Assert.Equal(600, server.AnsweredLines.Count(a => a.N is not null));
    }
}
