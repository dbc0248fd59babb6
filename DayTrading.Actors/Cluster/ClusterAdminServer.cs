using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;

namespace DayTrading.Cluster;

public sealed record ClusterAdminOptions
{
    /// <summary>Loopback by default: only the machine's own users reach it (and they still need the secret).</summary>
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = ClusterAdminProtocol.DefaultPort;

    /// <summary>The shared secret every connection sends first (<see cref="AdminSecret"/>); required.</summary>
    public string Secret { get; init; } = "";

    /// <summary>Connections served at once; one more is answered <c>ERR too many …</c> and closed.</summary>
    public int MaxConnections { get; init; } = ClusterAdminProtocol.DefaultMaxConnections;

    /// <summary>How long a connection has, from accept, to send its whole request (secret and command lines).</summary>
    public TimeSpan IdleTimeout { get; init; } = ClusterAdminProtocol.DefaultIdleTimeout;

    /// <summary>The longest request line read; a longer one is answered <c>ERR request line longer than …</c> and closed.</summary>
    public int MaxLineBytes { get; init; } = ClusterAdminProtocol.MaxLineBytes;

    /// <summary>The clock of <see cref="IdleTimeout"/> (tests move it by hand).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>The shard type whose regions <c>shards</c> reports and whose coordinator <c>singletons</c> locates.</summary>
    public string ShardTypeName { get; init; } = "account";

    /// <summary>Singletons (manager actor names under /user) that <c>singletons</c> locates.</summary>
    public IReadOnlyList<string> Singletons { get; init; } = [];

    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// The node's membership admin channel: plain TCP, one request per connection (<see cref="ClusterAdminProtocol"/>:
/// the shared secret, then one command line), answered from this node's view of the cluster. The CLI
/// (<c>DayTrading.Host cluster &lt;verb&gt; --node host:port</c>) is its client. Nothing is done for a connection
/// without the right secret; every line is bounded (<see cref="ClusterAdminOptions.MaxLineBytes"/>), and so are
/// the connections served at once and the time each has to send its request (docs/SECURITY.md).
/// </summary>
public sealed class ClusterAdminServer : IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly ClusterAdminOptions _options;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _active;

    private ClusterAdminServer(ActorSystem system, ClusterAdminOptions options)
    {
        if (AdminSecret.Problem(options.Secret) is { } problem) throw new AdminSecretException($"cluster admin channel: {problem}");
        if (options.MaxConnections < 1) throw new ArgumentException("MaxConnections must be at least 1", nameof(options));
        if (options.IdleTimeout <= TimeSpan.Zero) throw new ArgumentException("IdleTimeout must be positive", nameof(options));
        if (options.MaxLineBytes < 64) throw new ArgumentException("MaxLineBytes must be at least 64", nameof(options));
        _system = system;
        _options = options;
        var address = options.Host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.Host);
        _listener = new TcpListener(address, options.Port);
        _listener.Start();
        LocalEndPoint = (IPEndPoint)_listener.LocalEndpoint;
        _accepting = Task.Run(AcceptLoop);
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Connections being served right now.</summary>
    public int ActiveConnections => Volatile.Read(ref _active);

    public static ClusterAdminServer Start(ActorSystem system, ClusterAdminOptions options) => new(system, options);

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            if (Interlocked.Increment(ref _active) > _options.MaxConnections)
            {
                Interlocked.Decrement(ref _active);
                _ = Task.Run(() => Refuse(client, $"too many admin connections (at most {_options.MaxConnections} at once); try again"));
                continue;
            }
            _ = Task.Run(async () =>
            {
                try
                {
                    await Serve(client).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _active);
                }
            });
        }
    }

    private async Task Refuse(TcpClient client, string message)
    {
        using var _ = client;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await Answer(client, "ERR " + message + "\n", timeout.Token).ConfigureAwait(false);
            await Discard(client.GetStream(), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // the client went away
        }
    }

    private static async Task Answer(TcpClient client, string answer, CancellationToken ct)
    {
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(answer), ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
        client.Client.Shutdown(SocketShutdown.Send);
    }

    /// <summary>
    /// After a refusal with request bytes still coming: reads and drops a bounded amount (so the answer is not lost
    /// to a reset while the client still sends), then the connection closes.
    /// </summary>
    private static async Task Discard(Stream stream, CancellationToken ct)
    {
        var scratch = new byte[4096];
        var left = 64 * 1024;
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(ct);
        linger.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            while (left > 0)
            {
                var n = await stream.ReadAsync(scratch.AsMemory(0, Math.Min(scratch.Length, left)), linger.Token).ConfigureAwait(false);
                if (n == 0) return;
                left -= n;
            }
        }
        catch (Exception)
        {
            // enough
        }
    }

    private async Task Serve(TcpClient client)
    {
        using var _ = client;
        // The whole request (secret and command) within the idle timeout; the answer within 30 s more.
        using var idle = new CancellationTokenSource(_options.IdleTimeout, _options.Clock);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, idle.Token);
        using var answering = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        answering.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            var stream = client.GetStream();
            var reader = new BoundedLineReader(stream, _options.MaxLineBytes);
            string answer;
            var drain = false;
            try
            {
                var auth = await reader.ReadLineAsync(reading.Token).ConfigureAwait(false);
                if (!Authenticated(auth))
                {
                    throw new AdminException(auth is not null && auth.StartsWith(ClusterAdminProtocol.AuthVerb + " ", StringComparison.OrdinalIgnoreCase)
                        ? "authentication failed: wrong admin secret"
                        : $"authentication required: send '{ClusterAdminProtocol.AuthVerb} <secret>' first (the node's admin secret: " +
                          $"--admin-secret-file, default <data dir>/{AdminSecret.DefaultFileName}, or {AdminSecret.EnvironmentVariable})");
                }
                var line = await reader.ReadLineAsync(reading.Token).ConfigureAwait(false) ?? "";
                answer = "OK\n" + await HandleAsync(line.Trim()).ConfigureAwait(false) + "\n";
            }
            catch (LineTooLongException e)
            {
                answer = $"ERR {e.Message}: refused\n";
                drain = true;
            }
            catch (OperationCanceledException) when (idle.IsCancellationRequested && !_stop.IsCancellationRequested)
            {
                answer = $"ERR no complete request within {_options.IdleTimeout.TotalSeconds:0.###} s: closed\n";
            }
            catch (AdminException e)
            {
                answer = "ERR " + e.Message + "\n";
                drain = true;
            }
            catch (Exception e) when (e is not OperationCanceledException and not IOException and not SocketException)
            {
                answer = $"ERR {e.GetType().Name}: {e.Message}\n";
            }
            await Answer(client, answer, answering.Token).ConfigureAwait(false);
            if (drain) await Discard(stream, answering.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // the client went away or was too slow: nothing to answer to
        }
    }

    private bool Authenticated(string? line)
    {
        if (line is null) return false;
        var space = line.IndexOf(' ');
        if (space < 0 || !line.AsSpan(0, space).Equals(ClusterAdminProtocol.AuthVerb, StringComparison.OrdinalIgnoreCase)) return false;
        return AdminSecret.Matches(_options.Secret, line[(space + 1)..].Trim());
    }

    private sealed class AdminException(string message) : Exception(message);

    /// <summary>
    /// Answers one (already authenticated) request line with its JSON document; throws <see cref="AdminException"/>
    /// for a refusal.
    /// </summary>
    public async Task<string> HandleAsync(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var verb = parts.Length > 0 ? parts[0].ToLowerInvariant() : "";
        var argument = parts.Length > 1 ? parts[1] : null;
        if (parts.Length > 2) throw new AdminException($"too many arguments in '{line}'");
        var cluster = Akka.Cluster.Cluster.Get(_system);
        switch (verb)
        {
            case "members":
                return Serialize(ClusterView.Members(cluster));
            case "join":
            {
                var address = ParseAddress(argument, verb);
                cluster.Join(address);
                return Serialize(new VerbDone(verb, address.ToString(), $"{cluster.SelfAddress} asked to join the cluster at {address}"));
            }
            case "leave":
            case "down":
            {
                var address = ParseAddress(argument, verb);
                var member = cluster.State.Members.FirstOrDefault(m => m.Address == address);
                if (member is null)
                    throw new AdminException($"unknown address {address}: not a member of the cluster seen by {cluster.SelfAddress}");
                if (verb == "leave")
                {
                    cluster.Leave(address);
                    return Serialize(new VerbDone(verb, address.ToString(), $"{address} is leaving (was {member.Status}): it hands its shards and singletons over, then exits"));
                }
                cluster.Down(address);
                return Serialize(new VerbDone(verb, address.ToString(), $"{address} marked down (was {member.Status}); it will be removed from the cluster"));
            }
            case "shards":
                return Serialize(await Shards().ConfigureAwait(false));
            case "singletons":
                return Serialize(await Singletons(cluster).ConfigureAwait(false));
            case "":
                throw new AdminException($"empty request; verbs: {string.Join(", ", ClusterAdminProtocol.Verbs)}");
            default:
                throw new AdminException($"unknown verb '{verb}'; verbs: {string.Join(", ", ClusterAdminProtocol.Verbs)}");
        }
    }

    private static string Serialize<T>(T value) => JsonSerializer.Serialize(value, ClusterAdminProtocol.Json);

    private Address ParseAddress(string? text, string verb)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new AdminException($"{verb} needs an address (host:port or akka.tcp://{_system.Name}@host:port)");
        var full = text.Contains("://", StringComparison.Ordinal) ? text : $"akka.tcp://{_system.Name}@{text}";
        try
        {
            var address = Address.Parse(full);
            if (address.Host is null || address.Port is null or <= 0) throw new UriFormatException("no host or port");
            return address;
        }
        catch (Exception e) when (e is not AdminException)
        {
            throw new AdminException($"'{text}' is not an address (host:port or akka.tcp://{_system.Name}@host:port): {e.Message}");
        }
    }

    private Task<ShardsReport> Shards()
    {
        IActorRef region;
        try
        {
            region = ClusterSharding.Get(_system).ShardRegion(_options.ShardTypeName);
        }
        catch (ArgumentException)
        {
            throw new AdminException($"no shard region '{_options.ShardTypeName}' on this node");
        }
        return ClusterView.ShardsAsync(region, _options.ShardTypeName, _options.AskTimeout);
    }

    private async Task<SingletonsReport> Singletons(Akka.Cluster.Cluster cluster)
    {
        var up = cluster.State.Members.Where(m => m.Status == MemberStatus.Up || m.Status == MemberStatus.Leaving).ToArray();
        var oldest = up.Length == 0 ? null : up.Aggregate((a, b) => b.IsOlderThan(a) ? b : a).Address.ToString();
        // A singleton runs as a child of its manager on the oldest node: Akka.Hosting names it after the singleton,
        // plain Akka "singleton" (the sharding coordinator's manager).
        var paths = _options.Singletons.Select(n => (Name: n, Paths: new[] { $"/user/{n}/{n}", $"/user/{n}/singleton" }))
            .Append((Name: $"sharding coordinator ({_options.ShardTypeName})", Paths: [$"/system/sharding/{_options.ShardTypeName}Coordinator/singleton"]))
            .ToArray();
        async Task<SingletonInfo> Locate(string name, string[] candidates)
        {
            var probes = up.Select(async m =>
            {
                foreach (var path in candidates)
                {
                    try
                    {
                        var id = await _system.ActorSelection(m.Address + path).Ask<ActorIdentity>(new Identify(name), TimeSpan.FromSeconds(3)).ConfigureAwait(false);
                        if (id.Subject is not null) return m.Address.ToString();
                    }
                    catch (Exception)
                    {
                        // the node did not answer
                    }
                }
                return null;
            });
            var found = (await Task.WhenAll(probes).ConfigureAwait(false)).Where(a => a is not null).ToArray();
            return new SingletonInfo(name, found.Length > 0 ? string.Join(" AND ", found) : null, oldest);
        }
        return new SingletonsReport(await Task.WhenAll(paths.Select(p => Locate(p.Name, p.Paths))).ConfigureAwait(false));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        try
        {
            await _accepting.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // stopping
        }
        _stop.Dispose();
    }
}
