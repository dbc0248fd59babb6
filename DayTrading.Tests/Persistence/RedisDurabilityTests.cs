using System.Diagnostics;
using DayTrading.Tests.Cluster;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Persistence;

/// <summary>
/// A node on <c>--journal redis</c> answers only after the event is durable, so it refuses to start against a Redis
/// server that does not fsync every write — unless <c>--redis-unsafe</c> says the run may lose data (benchmarks).
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class RedisDurabilityTests
{
    /// <summary>A throwaway Redis server on a free port with the AOF off (Redis's default durability: none).</summary>
    private sealed class UnsafeRedis : IDisposable
    {
        private readonly Process _server;
        private readonly TempDirectory _dir = new();

        public UnsafeRedis()
        {
            Port = NodeCluster.FreePort();
            _server = Process.Start(new ProcessStartInfo("redis-server",
                ["--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _dir.Path])
            {
                RedirectStandardOutput = true, UseShellExecute = false,
            }) ?? throw new InvalidOperationException("redis-server did not start (scripts/ensure-redis.sh installs it)");
            _server.OutputDataReceived += (_, _) => { };
            _server.BeginOutputReadLine();
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (!Answers() && DateTime.UtcNow < until) Thread.Sleep(100);
        }

        public int Port { get; }

        private bool Answers()
        {
            try
            {
                using var tcp = new System.Net.Sockets.TcpClient("127.0.0.1", Port);
                return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
                return false;
            }
        }

        public void Dispose()
        {
            if (!_server.HasExited) _server.Kill();
            _server.WaitForExit();
            _server.Dispose();
            _dir.Dispose();
        }
    }

    [Fact]
    public async Task A_node_refuses_a_Redis_that_does_not_fsync_every_write_and_starts_with_redis_unsafe()
    {
        using var redis = new UnsafeRedis();
        using var data = new TempDirectory();
        string[] args = ["--data-dir", data.Path, "--tcp-port", "0", "--cluster-port", "0", "--journal", "redis", "--redis", $"127.0.0.1:{redis.Port}"];

        await using (var refused = NodeProcess.Launch(args))
        {
            Assert.Equal(2, await refused.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            var said = string.Join("\n", refused.Output);
            Assert.Contains($"error: the Redis server at 127.0.0.1:{redis.Port} has appendonly no", said);
            Assert.Contains("--appendonly yes --appendfsync always", said);
            Assert.DoesNotContain("ready:", said);
        }

        await using var unsafeNode = await NodeProcess.StartAsync([.. args, "--redis-unsafe", "true"]);
        Assert.Contains(unsafeNode.Output, line => line.Contains("journal Redis", StringComparison.Ordinal) && line.Contains("UNSAFE", StringComparison.Ordinal));
    }
}
