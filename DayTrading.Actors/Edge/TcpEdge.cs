using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using DayTrading.Accounts;

namespace DayTrading.Edge;

/// <summary>When a connection's responses leave (docs/PROTOCOL.md, <c>#ORDER</c>).</summary>
public enum ResponseOrder : byte
{
    /// <summary>Each response as soon as its request is done; one user's requests still run in the order sent.</summary>
    Ready = 0,
    /// <summary>Responses in the order the requests were read (what a client matching by position needs).</summary>
    Position = 1,
}

/// <summary>Settings of <see cref="TcpEdge"/>.</summary>
public sealed record TcpEdgeOptions
{
    /// <summary>Interface to bind; "0.0.0.0" for all IPv4 interfaces.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="TcpEdgeBinding.LocalEndPoint"/>).</summary>
    public int Port { get; init; } = 0;

    public int Backlog { get; init; } = 512;

    /// <summary>Connections open at once; one more is told so in one line and closed.</summary>
    public int MaxConnections { get; init; } = 10_000;

    /// <summary>
    /// Requests of one connection read and not yet answered. At this the edge stops reading from the socket until
    /// half of them are answered (TCP back-pressure), so a connection holds at most this many requests in memory.
    /// </summary>
    public int MaxPendingPerConnection { get; init; } = 65_536;

    /// <summary>Response bytes the client has not taken yet; past this the edge stops reading its requests.</summary>
    public int MaxUnsentBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>How a new connection orders its responses until the client says otherwise with <c>#ORDER</c>.</summary>
    public ResponseOrder Order { get; init; } = ResponseOrder.Ready;

    /// <summary>A connection with no traffic in either direction and nothing in flight for this long is closed. Null: never.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    public int MaxLineBytes { get; init; } = LineFramer.MaxLineBytes;

    /// <summary>Why the node takes no new connection now (not ready: its journal unwritable, not Up), or null; null: always takes them.</summary>
    public Func<string?>? NotReady { get; init; }

    /// <summary>Source of numbers for lines without <c>[N]</c>; null uses <see cref="TxNumberGenerator.Shared"/>.</summary>
    public TxNumberGenerator? TxNumbers { get; init; }
}

/// <summary>A bound <see cref="TcpEdge"/>: the listening socket, its accept loop and its open connections.</summary>
public sealed class TcpEdgeBinding : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly ITradeGateway _gateway;
    private readonly TcpEdgeOptions _options;
    private readonly ILoggingAdapter? _log;
    private readonly ConcurrentDictionary<EdgeConnection, byte> _open = new();
    private readonly Timer? _idleSweep;
    private readonly Task _accepting;
    private int _unbound;

    internal TcpEdgeBinding(Socket listener, ITradeGateway gateway, TcpEdgeOptions options, ILoggingAdapter? log)
    {
        _listener = listener;
        _gateway = gateway;
        _options = options;
        _log = log;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        if (options.IdleTimeout is { } idle)
        {
            var period = TimeSpan.FromMilliseconds(Math.Clamp(idle.TotalMilliseconds / 4, 10, 1000));
            _idleSweep = new Timer(_ => CloseIdle(idle), null, period, period);
        }
        _accepting = AcceptLoop();
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Connections currently open.</summary>
    public int OpenConnections => _open.Count;

    private async Task AcceptLoop()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                if (Volatile.Read(ref _unbound) == 1) return;
                _log?.Warning("TCP edge: accept failed: {0}", ex.Message);
                continue;
            }
            socket.NoDelay = true;
            if (Volatile.Read(ref _unbound) == 1 || _open.Count >= _options.MaxConnections)
            {
                Refuse(socket, Volatile.Read(ref _unbound) == 1 ? "the node is shutting down" : $"too many connections (limit {_options.MaxConnections})");
                continue;
            }
            if (_options.NotReady?.Invoke() is { } notReady)
            {
                Refuse(socket, $"the node is not ready: {notReady}");
                continue;
            }
            var connection = new EdgeConnection(socket, _gateway, _options, _log, Closed);
            _open[connection] = 0;
            _log?.Debug("TCP edge: connection from {0} opened", connection.Remote);
            connection.Start();
        }
    }

    private static void Refuse(Socket socket, string reason)
    {
        try
        {
            socket.Send(System.Text.Encoding.UTF8.GetBytes($"# ERR CONNECTION {reason}\n"));
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // the client is gone already
        }
        socket.Dispose();
    }

    private void Closed(EdgeConnection connection)
    {
        _open.TryRemove(connection, out _);
        _log?.Debug("TCP edge: connection from {0} closed", connection.Remote);
    }

    private void CloseIdle(TimeSpan idle)
    {
        var now = Environment.TickCount64;
        foreach (var c in _open.Keys) c.CloseIfIdle(now, (long)idle.TotalMilliseconds);
    }

    /// <summary>
    /// Stops listening, then closes the open connections gracefully — they stop reading new lines, answer every
    /// complete line already read, and close — waiting up to <paramref name="drainTimeout"/> (default 5 s) for that;
    /// connections still busy then are closed at once.
    /// </summary>
    public async Task UnbindAsync(TimeSpan? drainTimeout = null)
    {
        if (Interlocked.Exchange(ref _unbound, 1) == 1) return;
        _listener.Dispose();
        _idleSweep?.Dispose();
        try
        {
            await _accepting.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _log?.Warning("TCP edge: accept loop ended with {0}", ex.Message);
        }
        var connections = _open.Keys.ToArray();
        foreach (var c in connections) c.StopReading();
        var drained = Task.WhenAll(connections.Select(c => c.Terminated));
        if (await Task.WhenAny(drained, Task.Delay(drainTimeout ?? TimeSpan.FromSeconds(5))).ConfigureAwait(false) != drained)
        {
            foreach (var c in connections) c.Abort();
        }
    }

    public ValueTask DisposeAsync() => new(UnbindAsync());
}

/// <summary>
/// The TCP edge (SPEC §4): one workload line in, one response line out, per connection, over plain sockets:
/// <see cref="LineFramer"/> → <see cref="LineParser"/> (+ session directives) → <see cref="ITradeGateway.Submit"/>
/// → <see cref="ResponseBuffer"/>. Responses leave as soon as they are ready (or in request order after
/// <c>#ORDER,position</c>), coalesced into large socket writes; a user's requests run one after another in the
/// order sent. Back-pressure: a connection with too many requests in flight or too many unread responses is not
/// read from until they drain.
/// </summary>
public static class TcpEdge
{
    public static Task<TcpEdgeBinding> StartAsync(ActorSystem system, ITradeGateway gateway, TcpEdgeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(gateway);
        options ??= new TcpEdgeOptions();
        if (options.MaxPendingPerConnection < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxPendingPerConnection must be >= 1");
        if (options.MaxConnections < 1) throw new ArgumentOutOfRangeException(nameof(options), "MaxConnections must be >= 1");

        var log = Logging.GetLogger(system, typeof(TcpEdge));
        var address = options.Host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.Host);
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(address, options.Port));
            listener.Listen(options.Backlog);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        var edge = new TcpEdgeBinding(listener, gateway, options, log);
        log.Info("TCP edge listening on {0}", edge.LocalEndPoint);
        return Task.FromResult(edge);
    }
}
