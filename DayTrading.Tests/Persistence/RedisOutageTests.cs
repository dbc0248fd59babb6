using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using DayTrading.Accounts;
using DayTrading.Loadgen.Client;
using DayTrading.Loadgen.Workloads;
using DayTrading.Persistence;
using DayTrading.Tests.Cluster;
using DayTrading.Tests.Support;
using DayTrading.Tests.Workloads;
using StackExchange.Redis;
using Xunit;

namespace DayTrading.Tests.Persistence;

/// <summary>
/// The Redis server itself SIGKILLed in the middle of a run and started again on its data: nothing acknowledged is
/// lost, requests made meanwhile get a clear "journal unavailable" error instead of hanging, and the node takes
/// traffic again by itself once the server is back (docs/PERSISTENCE-REDIS.md, "When the server goes away").
/// </summary>
[Collection(ClusterProcessCollection.Name)] // a node process and a Redis server of its own, killed and restarted
public sealed class RedisOutageTests(ITestOutputHelper output)
{
    private const string RunId = "redis-outage";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30); // the node's --request-timeout-seconds default

    [SharedDataFact]
    public async Task Killing_the_Redis_server_mid_run_loses_nothing_acknowledged_and_the_node_recovers_when_it_is_back()
    {
        var ct = TestContext.Current.CancellationToken;
        using var redis = OwnRedisServer.Start();
        using var data = new TempDirectory();
        await using var node = await NodeProcess.StartAsync(["--data-dir", data.Path, "--tcp-port", "0", "--cluster-port", "0", "--node-name", "outage-node",
            "--auto-tx", "false", "--journal", "redis", "--redis", redis.Endpoint, "--db-schema", "outage", "--web", "true", "--web-port", "0"]);
        try
        {
            await Run(node, redis, ct);
        }
        catch
        {
            output.WriteLine("node output (warnings and errors):\n" + string.Join("\n", node.Output.Where(l => l.Contains("WARN", StringComparison.OrdinalIgnoreCase) || l.Contains("ERR", StringComparison.Ordinal)).TakeLast(60)));
            throw;
        }
    }

    private async Task Run(NodeProcess node, OwnRedisServer redis, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = await node.WebUri.WaitAsync(TimeSpan.FromSeconds(10), ct), Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, (await Readiness(http, ct)).Status);

        var commands = WorkloadReader.ReadFile(SharedData.Workload("10User_testWorkLoad")).Where(c => !c.IsAdminDump).ToList();
        var byUser = commands.GroupBy(c => c.UserId ?? "").Select(g => g.ToList()).ToList();
        var answers = new ConcurrentDictionary<int, EdgeResponse>(); // by line number, the latest answer
        await using var clients = await WorkloadChecks.Clients(node.EdgePort, 4, RunId, ct);

        // Phase 1: the workload until ~30 % is settled, then SIGKILL the Redis server with requests in flight. Each
        // user then sends its next request once, while the server is down: a clear error, well before the gateway's
        // time-out would have answered "no answer from account".
        var killAt = commands.Count * 3 / 10;
        var killing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var down = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var duringOutage = new ConcurrentBag<(WorkloadCommand Command, EdgeResponse Answer)>();
        var settled = 0;
        await Task.WhenAll(byUser.Select((list, i) => Task.Run(async () =>
        {
            var client = clients.Clients[i % clients.Clients.Count];
            foreach (var c in list)
            {
                var serverWasDown = down.Task.IsCompleted;
                // Bounded: a hang (past the node's own time-out) fails here rather than stalling the test.
                var answer = await client.SendAsync(c.Line, ct).WaitAsync(RequestTimeout + TimeSpan.FromSeconds(15), ct);
                answers[c.LineNumber] = answer;
                if (serverWasDown)
                {
                    duringOutage.Add((c, answer));
                    return;
                }
                if (WorkloadChecks.Settles(answer) && Interlocked.Increment(ref settled) >= killAt && killing.TrySetResult())
                {
                    redis.Kill();
                    down.SetResult();
                }
                // Every other user waits for the kill to be done, so its next request is one made while the server is down.
                if (killing.Task.IsCompleted) await down.Task;
            }
        }, ct)));
        output.WriteLine($"Redis server killed after {settled} of {commands.Count} requests were settled; {duringOutage.Count} sent while it was down");
        Assert.NotEmpty(duringOutage);
        output.WriteLine("e.g. " + duringOutage.First().Answer.Raw);
        foreach (var (command, answer) in duringOutage)
        {
            Assert.False(answer.Ok, $"'{command.Line}' while the Redis server was down: {answer.Raw}");
            Assert.StartsWith(AccountActor.JournalUnavailablePrefix, answer.Reason);
            Assert.Contains("retry with the same run id", answer.Reason);
        }

        // A user with no account: its refusal is the node's audit recorder's to write, and that write fails too. The
        // answer is the same clear error (not the gateway's "no answer from account" at its time-out). It is not sent
        // again later, so it never reaches the log the checks below compare with the workload.
        var ghost = await clients.Clients[0].SendAsync("[900001] BUY,outage-ghost-user,ABC,10.00", ct).WaitAsync(RequestTimeout + TimeSpan.FromSeconds(15), ct);
        output.WriteLine("a user with no account, while the server was down: " + ghost.Raw);
        Assert.False(ghost.Ok, ghost.Raw);
        Assert.StartsWith(AccountActor.JournalUnavailablePrefix, ghost.Reason);

        // The node says it is not ready while the server is down, and turns new TCP connections away with the reason.
        var (status, body) = await WaitForReadiness(http, HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30), ct);
        Assert.Contains("journal", body);
        var refusal = await FirstLineOfANewConnection(node.EdgePort, TimeSpan.FromSeconds(30), ct);
        Assert.StartsWith("# ERR CONNECTION the node is not ready", refusal);

        // Phase 2: the server again, on the same data directory and port. The node is ready by itself, and each user
        // sends again what was not settled (same run id and transaction number) and the rest of its requests.
        redis.Restart();
        (status, body) = await WaitForReadiness(http, HttpStatusCode.OK, TimeSpan.FromSeconds(60), ct);
        var retried = new ConcurrentBag<(WorkloadCommand Command, EdgeResponse Before, EdgeResponse After)>();
        await Task.WhenAll(byUser.Select((list, i) => Task.Run(async () =>
        {
            var client = clients.Clients[i % clients.Clients.Count];
            var lastSettled = list.LastOrDefault(c => answers.TryGetValue(c.LineNumber, out var a) && WorkloadChecks.Settles(a));
            if (lastSettled is not null && lastSettled.Kind != CommandKind.DisplaySummary)
            {
                // Acknowledged before the kill, sent again after it: answered as the first time, not applied again.
                retried.Add((lastSettled, answers[lastSettled.LineNumber], await client.SendAsync(lastSettled.Line, ct)));
            }
            foreach (var c in list.Where(c => !answers.TryGetValue(c.LineNumber, out var a) || !WorkloadChecks.Settles(a)))
            {
                var answer = await client.SendAsync(c.Line, ct).WaitAsync(RequestTimeout + TimeSpan.FromSeconds(15), ct);
                Assert.True(WorkloadChecks.Settles(answer), $"'{c.Line}' after the Redis server was back: {answer.Raw}");
                answers[c.LineNumber] = answer;
            }
        }, ct)));

        Assert.Equal(commands.Count, answers.Count);
        Assert.NotEmpty(retried);
        foreach (var (command, before, after) in retried)
            Assert.True(before.Ok == after.Ok && before.Text == after.Text, $"retry of '{command.Line}': before {before.Raw}, after {after.Raw}");
        await WorkloadChecks.AssertBooksEqualTheModel(clients.Clients[0], commands, answers, ct);
        await WorkloadChecks.AssertAuditLogHasEveryRequestOnce(clients.Clients[1], commands, answers, ct);
    }

    [Fact]
    public async Task A_batch_sent_again_after_its_answer_was_lost_is_taken_as_committed_and_another_writers_row_is_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        using var store = new TestStore("redis");
        using var dialect = new RedisDialect(store.Settings());
        JournalRow Row(string pid, long seq, string writer) => new()
        {
            PersistenceId = pid, SequenceNr = seq, Timestamp = 1_764_072_000_000 + seq, Manifest = "m", SerializerId = 9,
            Payload = Encoding.UTF8.GetBytes($"{pid}/{seq}/{writer}"), Tags = "t", WriterUuid = writer,
        };
        JournalRow[] batch = [Row("a", 1, "w1"), Row("b", 1, "w1"), Row("a", 2, "w1")];
        using (var first = dialect.OpenWriter()) first.WriteBatch(batch);

        // The same batch again, as the group-commit writer sends it after an attempt whose answer it never got.
        using (var again = dialect.OpenWriter()) again.WriteBatch(batch);
        var log = (await dialect.ReadAllAsync(0, 100, includeDeleted: true, ct));
        Assert.Equal(["a/1", "b/1", "a/2"], log.Select(r => $"{r.PersistenceId}/{r.SequenceNr}"));

        // Another writer's event at a place already taken, or a batch only partly there, is a conflict.
        using var other = dialect.OpenWriter();
        var conflict = Assert.Throws<RedisServerException>(() => other.WriteBatch([Row("a", 2, "w2")]));
        Assert.StartsWith("DUPLICATE a 2", conflict.Message);
        Assert.Throws<RedisServerException>(() => other.WriteBatch([Row("b", 1, "w1"), Row("b", 2, "w1")]));
        Assert.Equal(3, (await dialect.ReadAllAsync(0, 100, includeDeleted: true, ct)).Count);
    }

    private static async Task<(HttpStatusCode Status, string Body)> Readiness(HttpClient http, CancellationToken ct)
    {
        using var response = await http.GetAsync("ready", ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }

    private static async Task<(HttpStatusCode Status, string Body)> WaitForReadiness(HttpClient http, HttpStatusCode wanted, TimeSpan within, CancellationToken ct)
    {
        var until = DateTime.UtcNow + within;
        while (true)
        {
            var (status, body) = await Readiness(http, ct);
            if (status == wanted) return (status, body);
            Assert.True(DateTime.UtcNow < until, $"/ready still {(int)status} after {within.TotalSeconds:0} s, not {(int)wanted}: {body}");
            await Task.Delay(250, ct);
        }
    }

    /// <summary>The first line a new connection to the TCP edge gets without sending anything, once the edge refuses new connections.</summary>
    private static async Task<string> FirstLineOfANewConnection(int port, TimeSpan within, CancellationToken ct)
    {
        var until = DateTime.UtcNow + within;
        while (true)
        {
            using (var tcp = new TcpClient())
            {
                await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
                using var reader = new StreamReader(tcp.GetStream(), Encoding.UTF8);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(TimeSpan.FromSeconds(1));
                try
                {
                    if (await reader.ReadLineAsync(wait.Token) is { } line) return line;
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // still accepted: the edge closes only after the journal check failed twice in a row
                }
            }
            Assert.True(DateTime.UtcNow < until, $"the TCP edge still takes new connections {within.TotalSeconds:0} s after the Redis server went down");
            await Task.Delay(250, ct);
        }
    }

    /// <summary>
    /// A Redis server of the test's own on a free port and a private data directory, durable as the node requires
    /// (AOF fsynced on every write, no RDB snapshots); SIGKILLed and started again on the same data by the test;
    /// killed and its directory removed on dispose, whatever happened.
    /// </summary>
    private sealed class OwnRedisServer : IDisposable
    {
        private readonly TempDirectory _dir = new();
        private readonly List<string> _output = [];
        private Process? _server;

        private OwnRedisServer() => Port = NodeCluster.FreePort();

        public int Port { get; }
        public string Endpoint => $"127.0.0.1:{Port}";

        public static OwnRedisServer Start()
        {
            var redis = new OwnRedisServer();
            try
            {
                redis.StartProcess();
            }
            catch
            {
                redis.Dispose();
                throw;
            }
            return redis;
        }

        /// <summary>Starts the server (again) on the same port and data directory and waits until it answers PING (its AOF loaded).</summary>
        private void StartProcess()
        {
            var server = Process.Start(new ProcessStartInfo("redis-server",
                ["--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", _dir.Path, "--appendonly", "yes", "--appendfsync", "always", "--save", ""])
            {
                RedirectStandardOutput = true, UseShellExecute = false,
            }) ?? throw new InvalidOperationException("redis-server did not start (scripts/ensure-redis.sh installs it)");
            _server = server;
            server.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null) lock (_output) _output.Add(e.Data);
            };
            server.BeginOutputReadLine();
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!AnswersPing())
            {
                if (server.HasExited || DateTime.UtcNow > until)
                {
                    lock (_output) throw new InvalidOperationException($"redis-server on {Endpoint} did not answer PING:\n{string.Join("\n", _output)}");
                }
                Thread.Sleep(100);
            }
        }

        /// <summary>The server again, after <see cref="Kill"/>: same port, same data.</summary>
        public void Restart() => StartProcess();

        private bool AnswersPing()
        {
            try
            {
                using var tcp = new TcpClient();
                tcp.Connect(IPAddress.Loopback, Port);
                tcp.ReceiveTimeout = 1000;
                var stream = tcp.GetStream();
                stream.Write("PING\r\n"u8);
                var buffer = new byte[64];
                var n = stream.Read(buffer);
                return Encoding.ASCII.GetString(buffer, 0, n).StartsWith("+PONG", StringComparison.Ordinal); // not "-LOADING"
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                return false;
            }
        }

        /// <summary>SIGKILL: no AOF rewrite, no shutdown save, exactly what a crash does.</summary>
        public void Kill()
        {
            if (_server is null) return;
            if (!_server.HasExited) _server.Kill();
            _server.WaitForExit();
            _server.Dispose();
            _server = null;
        }

        public void Dispose()
        {
            try
            {
                Kill();
            }
            finally
            {
                _dir.Dispose();
            }
        }
    }
}
