using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using DayTrading.Cluster;
using DayTrading.Host;
using DayTrading.Host.Cluster;
using DayTrading.Tests.Support;
using DayTrading.Tests.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DayTrading.Tests.Cluster;

/// <summary>A one-member cluster (this process, Up) for the admin channel's security tests; no PostgreSQL needed.</summary>
public sealed class OneMemberCluster : IAsyncLifetime
{
    public ActorSystem System { get; private set; } = null!;
    public Address Self => Akka.Cluster.Cluster.Get(System).SelfAddress;

    public async ValueTask InitializeAsync()
    {
        System = ActorSystem.Create("daytrading", ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp.hostname = 127.0.0.1
            akka.remote.dot-netty.tcp.port = 0
            """));
        var cluster = Akka.Cluster.Cluster.Get(System);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        cluster.Join(cluster.SelfAddress);
        await up.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public MemberStatus? SelfStatus => Akka.Cluster.Cluster.Get(System).State.Members.FirstOrDefault(m => m.Address == Self)?.Status;

    public async ValueTask DisposeAsync() => await System.Terminate();
}

/// <summary>
/// Issue 13, items 2 and 4 on the cluster admin channel: a shared secret before any command (constant-time
/// compare, clear refusals, nothing done without it), bounded lines, a cap on connections, an idle timeout, and
/// the secret file the node creates and the CLI reads.
/// </summary>
public sealed class ClusterAdminSecurityTests(OneMemberCluster cluster) : IClassFixture<OneMemberCluster>
{
    private const string Secret = "test-admin-secret-0123456789abcdef";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ClusterAdminServer Start(Func<ClusterAdminOptions, ClusterAdminOptions>? change = null)
    {
        var options = new ClusterAdminOptions { Host = "127.0.0.1", Port = 0, Secret = Secret };
        return ClusterAdminServer.Start(cluster.System, change is null ? options : change(options));
    }

    private static async Task<string> Send(ClusterAdminServer server, string payload)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.LocalEndPoint);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(payload));
        client.Client.Shutdown(SocketShutdown.Send);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public static TheoryData<string> Verbs => ["members", "shards", "singletons", "join 127.0.0.1:1", "leave SELF", "down SELF"];

    [Theory]
    [MemberData(nameof(Verbs))]
    public async Task Every_command_without_the_secret_is_refused_and_changes_nothing(string verb)
    {
        await using var server = Start();
        var line = verb.Replace("SELF", cluster.Self.ToString(), StringComparison.Ordinal);
        // The reproduction: "down <self>" from any local process stopped the node.
        var answer = await Send(server, line + "\n");
        Assert.StartsWith("ERR authentication required: send 'AUTH <secret>' first", answer);
        Assert.DoesNotContain("OK", answer);
        Assert.Equal(MemberStatus.Up, cluster.SelfStatus);
    }

    [Theory]
    [InlineData("AUTH wrong-secret-but-long-enough")]
    [InlineData("AUTH test-admin-secret-0123456789abcdeX")]
    [InlineData("AUTH test-admin-secret-0123456789abcdef-and-more")]
    [InlineData("AUTH ")]
    [InlineData("auth")]
    public async Task A_wrong_or_missing_secret_is_refused_and_changes_nothing(string auth)
    {
        await using var server = Start();
        var answer = await Send(server, $"{auth}\ndown {cluster.Self}\n");
        Assert.StartsWith("ERR authentication", answer);
        Assert.Equal(MemberStatus.Up, cluster.SelfStatus);
    }

    [Fact]
    public async Task The_right_secret_opens_the_channel_through_the_cli()
    {
        await using var server = Start();
        var target = $"127.0.0.1:{server.LocalEndPoint.Port}";
        var (output, error) = (new StringWriter(), new StringWriter());
        Assert.Equal(ClusterCommand.ExitOk, await ClusterCommand.RunAsync(target, Secret, "members", json: false, output, error, CancellationToken.None));
        Assert.Contains("1 member(s), 0 unreachable", output.ToString());

        (output, error) = (new StringWriter(), new StringWriter());
        Assert.Equal(ClusterCommand.ExitRefused, await ClusterCommand.RunAsync(target, "not-the-secret-at-all", $"down {cluster.Self}", json: false, output, error, CancellationToken.None));
        Assert.Contains("error: authentication failed: wrong admin secret", error.ToString());
        Assert.Equal(MemberStatus.Up, cluster.SelfStatus);

        // Authenticated, a bad command is still refused with its own reason.
        Assert.StartsWith("ERR unknown address", await Send(server, $"AUTH {Secret}\ndown 127.0.0.1:1\n"));
    }

    [Fact]
    public void Loopback_is_the_default_and_a_missing_or_weak_secret_is_refused_at_start()
    {
        Assert.Equal("127.0.0.1", new ClusterAdminOptions().Host);
        Assert.Equal("127.0.0.1", new NodeOptions().AdminHost);
        var e = Assert.Throws<AdminSecretException>(() => ClusterAdminServer.Start(cluster.System, new ClusterAdminOptions { Port = 0 }));
        Assert.Contains("empty", e.Message);
        e = Assert.Throws<AdminSecretException>(() => ClusterAdminServer.Start(cluster.System, new ClusterAdminOptions { Port = 0, Secret = "short" }));
        Assert.Contains($"at least {AdminSecret.MinLength}", e.Message);
    }

    [Fact]
    public async Task An_overlong_line_is_refused_with_an_error_before_or_after_the_secret()
    {
        await using var server = Start();
        var noNewline = new string('x', 8 * 1024);
        Assert.Equal($"ERR request line longer than {ClusterAdminProtocol.MaxLineBytes} bytes: refused\n", await Send(server, noNewline));
        Assert.StartsWith("ERR request line longer than", await Send(server, $"AUTH {Secret}\nmembers {noNewline}\n"));
        // Just under the limit is read (and refused for what it says).
        Assert.StartsWith("ERR too many arguments", await Send(server, $"AUTH {Secret}\nmembers a {new string('y', ClusterAdminProtocol.MaxLineBytes - 20)}\n"));
    }

    [Fact]
    public async Task The_line_reader_holds_at_most_the_limit_of_an_endless_line()
    {
        // The reproduction: 400 MiB without a newline was all kept. Here an endless stream: the reader stops.
        var endless = new EndlessStream();
        var reader = new BoundedLineReader(endless, 4096);
        await Assert.ThrowsAsync<LineTooLongException>(() => reader.ReadLineAsync(CancellationToken.None));
        Assert.InRange(endless.Served, 4097, 4096 + 1024);
        Assert.Equal(endless.Served, reader.BytesRead);

        var two = new BoundedLineReader(new MemoryStream("AUTH s\r\nmembers\n"u8.ToArray()), 16);
        Assert.Equal("AUTH s", await two.ReadLineAsync(CancellationToken.None));
        Assert.Equal("members", await two.ReadLineAsync(CancellationToken.None));
        Assert.Null(await two.ReadLineAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Connections_sending_without_end_are_cut_off_early()
    {
        await using var server = Start();
        var block = new byte[64 * 1024];
        Array.Fill(block, (byte)'x');
        async Task<long> Flood()
        {
            using var client = new TcpClient();
            await client.ConnectAsync(server.LocalEndPoint);
            var stream = client.GetStream();
            long written = 0;
            try
            {
                while (written < 256L * 1024 * 1024)
                {
                    await stream.WriteAsync(block).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                    written += block.Length;
                }
            }
            catch (IOException)
            {
                // the node closed the connection
            }
            return written;
        }
        // Four connections, as in the report; each is closed long before its 256 MiB.
        var written = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Flood()));
        Assert.All(written, w => Assert.True(w < 64L * 1024 * 1024, $"{w} bytes accepted"));
        await WebTestApp.Until(() => server.ActiveConnections == 0, "every flooding connection released");
    }

    [Fact]
    public async Task Connections_beyond_the_cap_are_refused_until_one_ends()
    {
        await using var server = Start(o => o with { MaxConnections = 3, IdleTimeout = TimeSpan.FromMinutes(10) });
        var idle = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var c = new TcpClient();
                await c.ConnectAsync(server.LocalEndPoint, Ct);
                idle.Add(c);
            }
            await WebTestApp.Until(() => server.ActiveConnections == 3, "three connections served");
            Assert.Equal("ERR too many admin connections (at most 3 at once); try again\n", await Send(server, $"AUTH {Secret}\nmembers\n"));

            idle[0].Dispose();
            await WebTestApp.Until(() => server.ActiveConnections == 2, "the closed connection released");
            Assert.StartsWith("OK\n", await Send(server, $"AUTH {Secret}\nmembers\n"));
        }
        finally
        {
            foreach (var c in idle) c.Dispose();
        }
    }

    [Fact]
    public async Task A_connection_that_sends_nothing_is_closed_at_the_idle_timeout()
    {
        var clock = new TestTimeProvider();
        await using var server = Start(o => o with { Clock = clock, IdleTimeout = TimeSpan.FromSeconds(10) });
        using var client = new TcpClient();
        await client.ConnectAsync(server.LocalEndPoint, Ct);
        await client.GetStream().WriteAsync(Encoding.UTF8.GetBytes($"AUTH {Secret}\nmemb"), Ct); // a slow client: never ends its line
        await WebTestApp.Until(() => server.ActiveConnections == 1 && clock.PendingTimers == 1, "the connection is being served");
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(1, server.ActiveConnections);
        clock.Advance(TimeSpan.FromSeconds(1));
        using var reader = new StreamReader(client.GetStream(), Encoding.UTF8);
        Assert.Equal("ERR no complete request within 10 s: closed\n", await reader.ReadToEndAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct));
        await WebTestApp.Until(() => server.ActiveConnections == 0, "the connection released");
    }

    [Fact]
    public async Task A_node_creates_its_secret_file_mode_0600_and_the_cli_finds_it_in_the_data_directory()
    {
        using var dir = new TempDirectory();
        var host = NodeHost.Build(new NodeOptions { DataDirectory = dir.Path, TcpPort = 0, ClusterPort = 0, AdminPort = 0, WebEnabled = false, AutoTx = false }, TextWriter.Null);
        await host.StartAsync(Ct);
        try
        {
            var admin = await host.Services.GetRequiredService<NodeReadiness>().Admin.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
            var file = Path.Combine(dir.Path, AdminSecret.DefaultFileName);
            Assert.True(File.Exists(file));
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            var secret = AdminSecret.Read(file);
            Assert.Matches("^[0-9a-f]{64}$", secret);

            var target = $"127.0.0.1:{admin.Port}";
            var found = ClusterCommand.ResolveSecret(null, null, dir.Path);
            Assert.Equal(secret, found);
            var (output, error) = (new StringWriter(), new StringWriter());
            Assert.Equal(ClusterCommand.ExitOk, await ClusterCommand.RunAsync(target, found, "members", json: true, output, error, CancellationToken.None));
            Assert.Contains("\"members\"", output.ToString());
            Assert.Equal(ClusterCommand.ExitRefused, await ClusterCommand.RunAsync(target, AdminSecret.NewSecret(), "members", json: true, output, error, CancellationToken.None));
        }
        finally
        {
            await host.StopAsync(TimeSpan.FromSeconds(30));
            host.Dispose();
        }

        // A restart keeps the secret.
        var before = File.ReadAllText(Path.Combine(dir.Path, AdminSecret.DefaultFileName));
        Assert.Equal(before.Trim(), ClusterAdminHosting.ResolveSecret(new NodeOptions { DataDirectory = dir.Path }));
    }

    [Fact]
    public void The_secret_comes_from_the_named_file_else_the_environment_else_the_data_directory_and_a_bad_one_is_refused()
    {
        using var dir = new TempDirectory();
        var named = Path.Combine(dir.Path, "shared", "cluster.secret");
        var fromFile = ClusterAdminHosting.ResolveSecret(new NodeOptions { DataDirectory = dir.Path, AdminSecretFile = named, AdminSecret = Secret });
        Assert.NotEqual(Secret, fromFile);
        Assert.Equal(fromFile, AdminSecret.Read(named));
        Assert.Equal(fromFile, ClusterCommand.ResolveSecret(named, Secret, dir.Path));

        Assert.Equal(Secret, ClusterAdminHosting.ResolveSecret(new NodeOptions { DataDirectory = dir.Path, AdminSecret = Secret }));
        Assert.Equal(Secret, ClusterCommand.ResolveSecret(null, Secret, dir.Path));
        Assert.False(File.Exists(Path.Combine(dir.Path, AdminSecret.DefaultFileName)));

        var weak = Assert.Throws<AdminSecretException>(() => ClusterAdminHosting.ResolveSecret(new NodeOptions { DataDirectory = dir.Path, AdminSecret = "1234" }));
        Assert.Contains(AdminSecret.EnvironmentVariable, weak.Message);
        var bad = Path.Combine(dir.Path, "bad.secret");
        File.WriteAllText(bad, "has a space in it somewhere\n");
        Assert.Contains("spaces", Assert.Throws<AdminSecretException>(() => AdminSecret.Read(bad)).Message);

        // The CLI never creates one: it says where it looked and what to pass.
        var missing = Assert.Throws<AdminSecretException>(() => ClusterCommand.ResolveSecret(null, null, Path.Combine(dir.Path, "nowhere")));
        Assert.Contains("--secret-file", missing.Message);
        Assert.Contains(AdminSecret.EnvironmentVariable, missing.Message);
    }

    [Fact]
    public void The_secret_compare_is_exact()
    {
        Assert.True(AdminSecret.Matches(Secret, Secret));
        Assert.False(AdminSecret.Matches(Secret, Secret[..^1]));
        Assert.False(AdminSecret.Matches(Secret, Secret + "x"));
        Assert.False(AdminSecret.Matches(Secret, Secret.ToUpperInvariant()));
        Assert.False(AdminSecret.Matches(Secret, null));
    }

    private sealed class EndlessStream : Stream
    {
        public long Served { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Fill(buffer, (byte)'x', offset, count);
            Served += count;
            return count;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Served; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
