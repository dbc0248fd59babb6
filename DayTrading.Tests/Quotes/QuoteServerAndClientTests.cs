using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using DayTrading.Quotes;
using Xunit;

namespace DayTrading.Tests.Quotes;

public class QuoteServerAndClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly IPEndPoint AnyLoopback = new(IPAddress.Loopback, 0);

    private static LegacyQuoteClientOptions ClientFor(IPEndPoint ep) => new()
    {
        Host = ep.Address.ToString(),
        Port = ep.Port,
        ConnectTimeout = TimeSpan.FromMilliseconds(500),
        ReadTimeout = TimeSpan.FromMilliseconds(1_000),
        MaxAttempts = 3,
        InitialBackoff = TimeSpan.FromMilliseconds(10),
        MaxBackoff = TimeSpan.FromMilliseconds(40),
    };

    /// <summary>A raw TCP server for misbehaviour: reads the query line, then runs <paramref name="onQuery"/>.</summary>
    private sealed class FakeServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _cts = new();
        private readonly Task _loop;
        private readonly List<TcpClient> _held = new();
        public int Connections;

        public FakeServer(Func<string, NetworkStream, Task> onQuery)
        {
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (!_cts.IsCancellationRequested)
                {
                    TcpClient c;
                    try { c = await _listener.AcceptTcpClientAsync(_cts.Token); } catch { return; }
                    Interlocked.Increment(ref Connections);
                    lock (_held) _held.Add(c);
                    _ = Task.Run(async () =>
                    {
                        try
                        {
                            var s = c.GetStream();
                            var sb = new StringBuilder();
                            var b = new byte[1];
                            while (await s.ReadAsync(b, _cts.Token) == 1 && b[0] != '\n') sb.Append((char)b[0]);
                            await onQuery(sb.ToString(), s);
                        }
                        catch { }
                    });
                }
            });
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public async ValueTask DisposeAsync()
        {
            _cts.Cancel();
            _listener.Stop();
            await _loop;
            lock (_held) foreach (var c in _held) c.Dispose();
        }
    }

    [Fact]
    public async Task Client_gets_the_simulators_quote()
    {
        await using var server = await QuoteSimServer.StartAsync(AnyLoopback, new QuoteSimOptions { Seed = 42 }, CancellationToken.None);
        Assert.NotEqual(0, server.EndPoint.Port);
        var client = new LegacyQuoteClient(ClientFor(server.EndPoint));

        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var q = await client.FetchAsync("ABC", "user1", Ct);
        long after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        Assert.Equal("ABC", q.Symbol);
        Assert.Equal("user1", q.UserId);
        Assert.InRange(q.TimestampMs, before, after);
        Assert.Equal(new QuotePriceModel(42).QuoteAt("ABC", "user1", q.TimestampMs), q);
        Assert.Equal(1, server.Hits);
        Assert.Equal(1, client.QueriesSent);
        Assert.Equal(1, client.Answers);
    }

    [Fact]
    public async Task Client_resolves_a_host_name()
    {
        await using var server = await QuoteSimServer.StartAsync(AnyLoopback, new QuoteSimOptions { Seed = 1 }, CancellationToken.None);
        var client = new LegacyQuoteClient(ClientFor(server.EndPoint) with { Host = "localhost" });
        var q = await client.FetchAsync("ABC", "user1", Ct);
        Assert.Equal(new QuotePriceModel(1).PriceAt("ABC", q.TimestampMs), q.Price);
    }

    [Fact]
    public async Task Mismatched_echo_is_an_error_without_retry()
    {
        await using var fake = new FakeServer(async (_, s) =>
        {
            await s.WriteAsync("12.34,XYZ,user1,1700000000000,KEY\n"u8.ToArray());
            s.Close();
        });
        var client = new LegacyQuoteClient(ClientFor(fake.EndPoint));
        var e = await Assert.ThrowsAsync<QuoteUnavailableException>(() => client.FetchAsync("ABC", "user1", Ct));
        Assert.Contains($"quote server {fake.EndPoint}", e.Message);
        Assert.Contains("echoed symbol 'XYZ' does not match the requested 'ABC'", e.Message);
        Assert.Equal(1, fake.Connections);
    }

    [Fact]
    public async Task Server_that_never_answers_times_out_after_the_read_timeout_on_every_attempt()
    {
        await using var fake = new FakeServer((_, _) => Task.Delay(Timeout.Infinite));
        var client = new LegacyQuoteClient(ClientFor(fake.EndPoint) with { ReadTimeout = TimeSpan.FromMilliseconds(200), MaxAttempts = 2 });
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<QuoteUnavailableException>(() => client.FetchAsync("ABC", "user1", Ct));
        sw.Stop();
        Assert.Equal($"quote server {fake.EndPoint} did not answer within 200 ms after 2 attempts", e.Message);
        Assert.InRange(sw.ElapsedMilliseconds, 390, 2_000);
        Assert.Equal(2, fake.Connections);
        Assert.Equal(2, client.QueriesSent);
    }

    [Fact]
    public async Task Nothing_listening_fails_clearly_after_bounded_retries()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        var client = new LegacyQuoteClient(ClientFor(new IPEndPoint(IPAddress.Loopback, port)));
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<QuoteUnavailableException>(() => client.FetchAsync("ABC", "user1", Ct));
        Assert.True(sw.ElapsedMilliseconds < 2_000, $"{sw.ElapsedMilliseconds} ms");
        Assert.Equal($"quote server 127.0.0.1:{port} refused the connection (nothing listening?) after 3 attempts", e.Message);
        Assert.Equal(0, client.QueriesSent);
    }

    [Fact]
    public async Task Closed_without_answer_is_retried_then_reported()
    {
        await using var fake = new FakeServer((_, s) => { s.Close(); return Task.CompletedTask; });
        var client = new LegacyQuoteClient(ClientFor(fake.EndPoint));
        var e = await Assert.ThrowsAsync<QuoteUnavailableException>(() => client.FetchAsync("ABC", "user1", Ct));
        Assert.Contains("closed the connection without answering after 3 attempts", e.Message);
        Assert.Equal(3, fake.Connections);
    }

    [Fact]
    public async Task Cancellation_is_honoured_while_waiting_for_the_answer()
    {
        await using var fake = new FakeServer((_, _) => Task.Delay(Timeout.Infinite));
        var client = new LegacyQuoteClient(ClientFor(fake.EndPoint) with { ReadTimeout = TimeSpan.FromSeconds(30) });
        using var cts = new CancellationTokenSource(100);
        var sw = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.FetchAsync("ABC", "user1", cts.Token));
        Assert.True(sw.ElapsedMilliseconds < 2_000, $"{sw.ElapsedMilliseconds} ms");
        Assert.Equal(1, fake.Connections);
    }

    [Fact]
    public async Task Cancellation_is_honoured_during_back_off()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var client = new LegacyQuoteClient(ClientFor(new IPEndPoint(IPAddress.Loopback, port)) with
        {
            MaxAttempts = 10, InitialBackoff = TimeSpan.FromSeconds(30), MaxBackoff = TimeSpan.FromSeconds(30),
        });
        using var cts = new CancellationTokenSource(100);
        var sw = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.FetchAsync("ABC", "user1", cts.Token));
        Assert.True(sw.ElapsedMilliseconds < 2_000, $"{sw.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void Back_off_is_exponential_and_capped()
    {
        var client = new LegacyQuoteClient(new LegacyQuoteClientOptions
        {
            InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(300),
        });
        Assert.Equal([50.0, 100, 200, 300, 300], Enumerable.Range(1, 5).Select(r => client.Backoff(r).TotalMilliseconds));
        Assert.Equal(TimeSpan.FromMilliseconds(300), client.Backoff(1000));
    }

    [Theory]
    [InlineData("", 4444)]
    [InlineData("127.0.0.1", 0)]
    [InlineData("127.0.0.1", 70000)]
    public void Invalid_options_are_rejected(string host, int port) =>
        Assert.Throws<ArgumentException>(() => new LegacyQuoteClient(new LegacyQuoteClientOptions { Host = host, Port = port }));

    [Fact]
    public async Task Invalid_query_is_rejected_before_any_connection()
    {
        var client = new LegacyQuoteClient(new LegacyQuoteClientOptions { Port = 1 });
        var e = await Assert.ThrowsAsync<QuoteUnavailableException>(() => client.FetchAsync("AB,C", "u", Ct));
        Assert.Contains("invalid quote query", e.Message);
        Assert.Equal(0, client.QueriesSent);
    }

    [Fact]
    public async Task Many_concurrent_requests_are_all_answered()
    {
        await using var server = await QuoteSimServer.StartAsync(AnyLoopback,
            new QuoteSimOptions { Seed = 5, Latency = LatencyProfile.Fixed(100) }, CancellationToken.None);
        var client = new LegacyQuoteClient(ClientFor(server.EndPoint) with { ReadTimeout = TimeSpan.FromSeconds(5) });
        const int n = 200;
        var sw = Stopwatch.StartNew();
        var quotes = await Task.WhenAll(Enumerable.Range(0, n).Select(i => client.FetchAsync("S" + (i % 37), "user" + i)));
        sw.Stop();
        var model = new QuotePriceModel(5);
        for (int i = 0; i < n; i++)
            Assert.Equal(model.QuoteAt("S" + (i % 37), "user" + i, quotes[i].TimestampMs), quotes[i]);
        Assert.Equal(n, server.Hits);
        Assert.True(sw.ElapsedMilliseconds < 5_000, $"{n} requests took {sw.ElapsedMilliseconds} ms: not concurrent?");
    }

    private static async Task<string> RawQueryAsync(IPEndPoint ep, byte[] query)
    {
        using var c = new TcpClient();
        await c.ConnectAsync(ep);
        var s = c.GetStream();
        await s.WriteAsync(query);
        using var reader = new StreamReader(s, Encoding.UTF8);
        var all = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(3));
        return all;
    }

    [Theory]
    [InlineData("ABC\n", "ERROR,query must be 'SYM,userid' (exactly 2 fields), got 'ABC'\n")]
    [InlineData("ABC,u,x\n", "ERROR,query must be 'SYM,userid' (exactly 2 fields), got 'ABC,u,x'\n")]
    [InlineData(",u\n", "ERROR,symbol is empty\n")]
    [InlineData("ABC,\r\n", "ERROR,user id is empty\n")]
    public async Task Server_answers_malformed_queries_with_an_error_line_and_closes(string query, string expected)
    {
        await using var server = await QuoteSimServer.StartAsync(AnyLoopback, new QuoteSimOptions(), CancellationToken.None);
        Assert.Equal(expected, await RawQueryAsync(server.EndPoint, Encoding.UTF8.GetBytes(query)));
        Assert.Equal(0, server.Hits);
        Assert.Equal(1, server.MalformedQueries);
    }

    [Fact]
    public async Task Server_rejects_an_overlong_line_and_a_silent_client()
    {
        await using var server = await QuoteSimServer.StartAsync(AnyLoopback,
            new QuoteSimOptions { QueryTimeout = TimeSpan.FromMilliseconds(150) }, CancellationToken.None);
        var longLine = Encoding.ASCII.GetBytes(new string('A', 2_000));
        Assert.Equal($"ERROR,query line longer than {LegacyQuoteProtocol.MaxLineBytes} bytes\n", await RawQueryAsync(server.EndPoint, longLine));
        Assert.Equal("ERROR,no complete query line within 150 ms\n", await RawQueryAsync(server.EndPoint, Array.Empty<byte>()));
    }

    [Fact]
    public async Task Server_answers_a_raw_query_in_the_exact_format()
    {
        await using var server = await QuoteSimServer.StartAsync(AnyLoopback, new QuoteSimOptions { Seed = 42 }, CancellationToken.None);
        var answer = await RawQueryAsync(server.EndPoint, "ABC,user1\n"u8.ToArray());
        Assert.Matches(new Regex(@"^\d+\.\d\d,ABC,user1,\d{13},[A-Za-z0-9+/]{43}=\n$"), answer);
    }

    [Fact]
    public async Task Stop_aborts_pending_answers_promptly()
    {
        var server = await QuoteSimServer.StartAsync(AnyLoopback,
            new QuoteSimOptions { Latency = LatencyProfile.Fixed(60_000) }, CancellationToken.None);
        var client = new LegacyQuoteClient(ClientFor(server.EndPoint) with { ReadTimeout = TimeSpan.FromSeconds(30), MaxAttempts = 1 });
        var fetch = client.FetchAsync("ABC", "u", Ct);
        while (server.Hits == 0) await Task.Delay(5, Ct);
        var sw = Stopwatch.StartNew();
        await server.DisposeAsync();
        var e = await Assert.ThrowsAsync<QuoteUnavailableException>(() => fetch);
        Assert.True(sw.ElapsedMilliseconds < 2_000);
        Assert.Contains("closed the connection without answering after 1 attempt", e.Message);
    }

    [Fact]
    public async Task RunAsync_prints_the_ready_line_serves_and_stops_on_cancel()
    {
        var output = new StringWriter();
        using var cts = new CancellationTokenSource();
        var run = QuoteSimServer.RunAsync(0, "none", 42, TextWriter.Synchronized(output), cts.Token);
        var sw = Stopwatch.StartNew();
        string text;
        while ((text = output.ToString()).Length == 0 && sw.ElapsedMilliseconds < 3_000) await Task.Delay(10, Ct);
        var m = Regex.Match(text, @"^quote simulator listening on 127\.0\.0\.1:(\d+) \(latency none, seed 42\)\r?\n$");
        Assert.True(m.Success, text);

        var client = new LegacyQuoteClient(new LegacyQuoteClientOptions { Port = int.Parse(m.Groups[1].Value) });
        var q = await client.FetchAsync("ABC", "user1", Ct);
        Assert.Equal(new QuotePriceModel(42).PriceAt("ABC", q.TimestampMs), q.Price);

        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(3), Ct);
    }

    [Fact]
    public async Task RunAsync_rejects_an_unknown_latency_profile()
    {
        var e = await Assert.ThrowsAsync<FormatException>(() => QuoteSimServer.RunAsync(0, "slow", 1, TextWriter.Null, CancellationToken.None));
        Assert.Contains("unknown latency profile 'slow'", e.Message);
    }
}
