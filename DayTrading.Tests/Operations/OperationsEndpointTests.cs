using System.Diagnostics;
using System.Net;
using System.Text.Json;
using DayTrading.Host;
using DayTrading.Tests.Cluster;
using DayTrading.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace DayTrading.Tests.Operations;

/// <summary>
/// The node's operations surface on its web port (docs/OPERATIONS.md): <c>/metrics</c> in the Prometheus text format
/// (valid for <c>promtool check metrics</c>, its counters moving with the traffic) and <c>/ready</c> following the
/// journal: 503 while the database refuses writes, with the TCP edge refusing new connections, 200 again after.
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class OperationsEndpointTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static InProcessNode WebNode(string name) =>
        new(o => o with { NodeName = name, WebEnabled = true, WebPort = 0 });

    private static async Task<HttpClient> WebClient(InProcessNode node)
    {
        var web = await node.Services.GetRequiredService<NodeReadiness>().Web.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        return new HttpClient { BaseAddress = web, Timeout = TimeSpan.FromSeconds(20) };
    }

    private static async Task<PrometheusText> Scrape(HttpClient http)
    {
        using var response = await http.GetAsync("/metrics", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        return new PrometheusText(await response.Content.ReadAsStringAsync(Ct));
    }

    /// <summary>Reads with <paramref name="read"/> every 200 ms until <paramref name="done"/> holds; fails saying what was last read.</summary>
    private static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan within, Func<T, string> failure)
    {
        var until = DateTime.UtcNow + within;
        while (true)
        {
            var last = await read();
            if (done(last)) return last;
            if (DateTime.UtcNow > until) Assert.Fail(failure(last));
            await Task.Delay(200, Ct);
        }
    }

    /// <summary>Scrapes until <paramref name="condition"/> holds: the exporter serves a cached scrape for a few hundred ms.</summary>
    private static Task<PrometheusText> ScrapeUntil(HttpClient http, Func<PrometheusText, bool> condition, string what) =>
        Eventually(() => Scrape(http), condition, TimeSpan.FromSeconds(20), last => $"{what} never showed on /metrics; last scrape:\n{last.Text}");

    [Fact]
    public async Task Metrics_are_valid_Prometheus_text_and_their_counters_move_with_a_workload()
    {
        await using var node = WebNode("metrics");
        await node.StartAsync(Ct);
        using var http = await WebClient(node);
        var before = await Scrape(http);
        Assert.Equal(0, before.Value("daytrading_gateway_requests_total", ("command", "ADD"), ("outcome", "ok")));

        using (var edge = await node.ConnectAsync(Ct))
        {
            string[] lines =
            [
                "[1] ADD,metrics1,10000.00", "[2] QUOTE,metrics1,MTR", "[3] BUY,metrics1,MTR,5000.00", "[4] COMMIT_BUY,metrics1",
                "[5] COMMIT_BUY,metrics1", "[6] QUOTE,metrics1,MTR", "[7] DUMPLOG,metrics1,metrics1.xml",
            ];
            await edge.SendAsync(string.Join("\n", lines) + "\n");
            var answers = new List<string>();
            for (var i = 0; i < lines.Length; i++) answers.Add(await edge.ReadLineAsync());
            output.WriteLine(string.Join("\n", answers));
            Assert.Equal(["OK ADD", "OK QUOTE", "OK BUY", "OK COMMIT_BUY", "ERR COMMIT_BUY", "OK QUOTE", "OK DUMPLOG"],
                answers.Select(a => string.Join(' ', a.Split(' ').Skip(1).Take(2))));
        }

        static double Requests(PrometheusText m, string command, string outcome) =>
            m.Value("daytrading_gateway_requests_total", ("command", command), ("outcome", outcome));
        var after = await ScrapeUntil(http, m => Requests(m, "DUMPLOG", "ok") == 1 && m.Value("daytrading_dumplog_duration_seconds_count") == 1,
            "the DUMPLOG");
        Assert.Equal(1, Requests(after, "ADD", "ok"));
        Assert.Equal(1, Requests(after, "COMMIT_BUY", "ok"));
        Assert.Equal(1, Requests(after, "COMMIT_BUY", "refused"));
        Assert.Equal(0, Requests(after, "COMMIT_BUY", "failed"));
        Assert.Equal(2, Requests(after, "QUOTE", "ok"));
        Assert.Equal(2, after.Value("daytrading_gateway_request_duration_seconds_count", ("command", "COMMIT_BUY")));
        Assert.Equal(2, after.Value("daytrading_gateway_request_duration_seconds_bucket", ("command", "COMMIT_BUY"), ("le", "+Inf")));
        // QUOTE, BUY, QUOTE: the first asks the QuoteManager (one hit on the simulator), the other two find it cached.
        Assert.Equal(3, after.Value("daytrading_quote_lookups_total"));
        Assert.Equal(2, after.Value("daytrading_quote_cache_hits_total"));
        Assert.Equal(1, after.Value("daytrading_quote_hits_total"));
        Assert.Equal(5, after.Value("daytrading_quote_cost_cents_total"));
        Assert.True(after.Value("daytrading_journal_batch_size_count") >= 1, "no journal batch counted");
        Assert.True(after.Value("daytrading_journal_batch_size_sum") >= 7, "fewer journaled writes than the 7 audited requests");
        Assert.Equal(after.Value("daytrading_journal_batch_size_count"), after.Value("daytrading_journal_commit_duration_seconds_count"));
        Assert.Equal(1, after.Value("daytrading_cluster_members", ("status", "Up")));
        Assert.Equal(0, after.Value("daytrading_cluster_unreachable"));
        Assert.True(after.Has("process_runtime_dotnet_gc_collections_count_total") || after.Has("dotnet_gc_collections_total"),
            "no .NET runtime metrics");
        var sampled = await ScrapeUntil(http, m => m.Value("daytrading_accounts_alive") >= 1 && m.Value("daytrading_shards") >= 1,
            "the sampled shard state");
        Assert.Equal(1, sampled.Value("daytrading_accounts_alive"));

        var (exit, lint) = await Promtool(after.Text);
        Assert.True(exit == 0, $"promtool check metrics: exit {exit}\n{lint}");
    }

    /// <summary><c>promtool check metrics</c> on <paramref name="exposition"/> (stdin): its exit code and what it said.</summary>
    private static async Task<(int Exit, string Output)> Promtool(string exposition)
    {
        var promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);
        if (promtool is null)
        {
            const string reason = "promtool is not installed (Debian package `prometheus`): run scripts/ensure-promtool.sh as root";
            if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 }) Assert.Fail(reason);
            Assert.Skip(reason);
        }
        var psi = new ProcessStartInfo(promtool, ["check", "metrics"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        return (process.ExitCode, await stdout + await stderr);
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Ready(HttpClient http)
    {
        using var response = await http.GetAsync("/ready", Ct);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.Clone();
        return (response.StatusCode, body);
    }

    private static async Task<JsonElement> ReadyUntil(HttpClient http, HttpStatusCode status, string what) =>
        (await Eventually(() => Ready(http), r => r.Status == status, TimeSpan.FromSeconds(30),
            last => $"/ready never answered {(int)status} ({what}); last {(int)last.Status}: {last.Body}")).Body;

    [Fact]
    public async Task Ready_turns_503_while_the_journal_refuses_writes_and_the_edge_refuses_new_connections_then_recovers()
    {
        await using var node = WebNode("ready");
        await node.StartAsync(Ct);
        using var http = await WebClient(node);
        var ready = await ReadyUntil(http, HttpStatusCode.OK, "a fresh node");
        Assert.Equal("ready", ready.GetProperty("status").GetString());
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("journal").GetProperty("status").GetString());
        using (var liveness = await http.GetAsync("/healthz", Ct)) Assert.Equal(HttpStatusCode.OK, liveness.StatusCode);

        // Another process holding the write lock is what a full disk or a stuck backup looks like to the node.
        await using (var holder = new SqliteConnection($"Data Source={Path.Combine(node.DataDirectory, "daytrading.db")};Pooling=False"))
        {
            await holder.OpenAsync(Ct);
            await using (var begin = holder.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE";
                await begin.ExecuteNonQueryAsync(Ct);
            }
            var notReady = await ReadyUntil(http, HttpStatusCode.ServiceUnavailable, "the database locked by another connection");
            output.WriteLine(notReady.ToString());
            Assert.Equal("not ready", notReady.GetProperty("status").GetString());
            Assert.Equal("Unhealthy", notReady.GetProperty("checks").GetProperty("journal").GetProperty("status").GetString());
            Assert.Equal("Healthy", notReady.GetProperty("checks").GetProperty("cluster-member").GetProperty("status").GetString());
            using (var liveness = await http.GetAsync("/healthz", Ct)) Assert.Equal(HttpStatusCode.OK, liveness.StatusCode);

            // The edge closes on the second failing evaluation in a row (a second after /ready turned 503).
            var refusedUntil = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (true)
            {
                using var connection = await node.ConnectAsync(Ct);
                string? line = null;
                try
                {
                    line = await connection.ReadLineAsync(TimeSpan.FromSeconds(1)); // a refused connection is told at once
                }
                catch (TimeoutException)
                {
                    // accepted: the edge waits for requests
                }
                if (line is not null)
                {
                    Assert.StartsWith("# ERR CONNECTION the node is not ready: ", line);
                    Assert.Contains("journal", line);
                    await Assert.ThrowsAnyAsync<IOException>(() => connection.ReadLineAsync(TimeSpan.FromSeconds(10)));
                    break;
                }
                Assert.True(DateTime.UtcNow < refusedUntil, "the edge still took connections 20 s after /ready turned 503");
                await Task.Delay(250, Ct);
            }

            await using var rollback = holder.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            await rollback.ExecuteNonQueryAsync(Ct);
        }

        await ReadyUntil(http, HttpStatusCode.OK, "the lock released");
        using var edge = await node.ConnectAsync(Ct);
        await edge.SendAsync("[1] ADD,ready1,100.00\n[2] DISPLAY_SUMMARY,ready1\n");
        Assert.Equal("[1] OK ADD", await edge.ReadLineAsync());
        Assert.StartsWith("[2] OK DISPLAY_SUMMARY", await edge.ReadLineAsync());
    }
}
