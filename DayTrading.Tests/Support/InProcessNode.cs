using System.Net.Sockets;
using System.Text;
using DayTrading.Host;
using DayTrading.Quotes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DayTrading.Tests.Support;

/// <summary>
/// A whole node in the test process (<see cref="NodeHost.Build"/>) on a fresh data directory, its edge on a free
/// port; stopped and its directory removed on dispose.
/// </summary>
public sealed class InProcessNode : IAsyncDisposable
{
    private readonly TempDirectory _dir = new();
    private bool _started;
    private bool _disposed;

    /// <param name="options">changed from single-node test defaults: free ports, no admin channel, no web, no triggers</param>
    public InProcessNode(Func<NodeOptions, NodeOptions>? options = null, IQuoteSource? quotes = null)
    {
        var defaults = new NodeOptions { AdminPort = -1, DataDirectory = _dir.Path, TcpPort = 0, ClusterPort = 0, WebEnabled = false, AutoTx = false };
        Options = options?.Invoke(defaults) ?? defaults;
        Host = NodeHost.Build(Options, TextWriter.Null, quotes);
    }

    public NodeOptions Options { get; }
    public IHost Host { get; }
    public IServiceProvider Services => Host.Services;
    public string DataDirectory => _dir.Path;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await Host.StartAsync(cancellationToken);
        _started = true;
    }

    /// <summary>A connection to the node's TCP edge (once it listens).</summary>
    public async Task<EdgeConnectionForTests> ConnectAsync(CancellationToken cancellationToken)
    {
        var edge = await Services.GetRequiredService<NodeReadiness>().Edge.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", edge.Port, cancellationToken);
        return new EdgeConnectionForTests(tcp, cancellationToken);
    }

    /// <summary>Stops the node (graceful leave) and disposes it; the runtime log is flushed and closed after this.</summary>
    public async Task StopAsync()
    {
        if (_disposed) return;
        if (_started) await Host.StopAsync(CancellationToken.None);
        _started = false;
        _disposed = true;
        Host.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _dir.Dispose();
    }
}

/// <summary>Lines to and from a node's TCP edge.</summary>
public sealed class EdgeConnectionForTests(TcpClient tcp, CancellationToken cancellationToken) : IDisposable
{
    private readonly NetworkStream _stream = tcp.GetStream();
    private StreamReader? _reader;

    private StreamReader Reader => _reader ??= new StreamReader(_stream, new UTF8Encoding(false));

    public Task SendAsync(string text) => _stream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken).AsTask();

    /// <summary>The next answer line; fails after <paramref name="timeout"/> (30 s by default).</summary>
    public async Task<string> ReadLineAsync(TimeSpan? timeout = null) =>
        await Reader.ReadLineAsync(cancellationToken).AsTask().WaitAsync(timeout ?? TimeSpan.FromSeconds(30), cancellationToken)
        ?? throw new IOException("the node closed the connection");

    public void Dispose()
    {
        _reader?.Dispose();
        tcp.Dispose();
    }
}
