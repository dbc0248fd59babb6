using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace DayTrading.Loadgen.Client;

public sealed record EdgeClientOptions
{
    /// <summary>Sent as <c>#RUN,id</c> right after connecting (makes retries idempotent, SPEC §4).</summary>
    public string? RunId { get; init; }

    /// <summary>Sends <c>#QUIET,on</c> after connecting: OK responses then carry no body.</summary>
    public bool Quiet { get; init; }
}

/// <summary>
/// A pipelined client of the TCP edge. Any number of <see cref="SendAsync"/> calls may be outstanding; lines are
/// written in call order and, because the edge answers a connection's lines in order, each response is matched
/// to its request by position and checked against the request's <c>[N]</c> (a mismatch closes the client with an
/// error, it never silently pairs wrong answers). Thread-safe.
/// </summary>
public sealed class EdgeClient : IAsyncDisposable
{
    private static readonly UTF8Encoding Utf8 = new(false);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly Channel<string> _outbox = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentQueue<Pending> _pending = new();
    private readonly Lock _gate = new();
    private readonly Task _writer;
    private readonly Task _reader;
    private Exception? _failure;

    private sealed record Pending(TaskCompletionSource<EdgeResponse> Tcs, long? ExpectedTx, bool Directive);

    private EdgeClient(TcpClient tcp)
    {
        _tcp = tcp;
        _tcp.NoDelay = true;
        _stream = tcp.GetStream();
        _writer = Task.Run(WriteLoop);
        _reader = Task.Run(ReadLoop);
    }

    public static async Task<EdgeClient> ConnectAsync(string host, int port, EdgeClientOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
        var client = new EdgeClient(tcp);
        try
        {
            if (options?.RunId is { } runId) await client.ExpectDirective($"#RUN,{runId}").ConfigureAwait(false);
            if (options?.Quiet == true) await client.ExpectDirective("#QUIET,on").ConfigureAwait(false);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return client;
    }

    private async Task ExpectDirective(string line)
    {
        var r = await SendAsync(line).ConfigureAwait(false);
        if (!r.Ok) throw new InvalidOperationException($"edge refused '{line}': {r.Reason}");
    }

    /// <summary>Number of requests sent and not yet answered.</summary>
    public int Outstanding => _pending.Count;

    /// <summary>Sends one request or directive line (no line break inside) and returns its response.</summary>
    public Task<EdgeResponse> SendAsync(string line, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (line.AsSpan().IndexOfAny('\n', '\r') >= 0) throw new ArgumentException("a request is one line", nameof(line));
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new Pending(new TaskCompletionSource<EdgeResponse>(TaskCreationOptions.RunContinuationsAsynchronously),
            ExpectedTxNum(line), line.StartsWith('#'));
        lock (_gate)
        {
            if (_failure is not null) return Task.FromException<EdgeResponse>(new IOException("edge connection is closed", _failure));
            // Enqueue and write under one lock: the order of the pending queue is the order on the wire.
            _pending.Enqueue(pending);
            _outbox.Writer.TryWrite(line);
        }
        return pending.Tcs.Task;
    }

    private static long? ExpectedTxNum(string line)
    {
        var s = line.AsSpan().TrimStart(" \t");
        if (s.Length == 0 || s[0] != '[') return null;
        var close = s.IndexOf(']');
        // The edge reads at most 18 digits; a longer number is refused and answered under an assigned N.
        return close > 1 && close <= 19 && long.TryParse(s[1..close], System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;
    }

    private async Task WriteLoop()
    {
        try
        {
            await using var writer = new StreamWriter(_stream, Utf8, 64 * 1024, leaveOpen: true) { AutoFlush = false };
            var reader = _outbox.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var line))
                {
                    await writer.WriteAsync(line).ConfigureAwait(false);
                    await writer.WriteAsync('\n').ConfigureAwait(false);
                }
                await writer.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private async Task ReadLoop()
    {
        try
        {
            using var reader = new StreamReader(_stream, Utf8, false, 64 * 1024, leaveOpen: true);
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (!_pending.TryDequeue(out var p))
                    throw new IOException($"unexpected response without a request: {line}");
                var response = EdgeResponse.Parse(line);
                if (p.Directive != response.IsDirective || (p.ExpectedTx is { } tx && response.TxNum != tx))
                {
                    var ex = new IOException($"response '{line}' does not match the request it answers (expected {(p.Directive ? "a directive response" : $"[{p.ExpectedTx}]")})");
                    p.Tcs.TrySetException(ex);
                    throw ex;
                }
                p.Tcs.TrySetResult(response);
            }
            Fail(new IOException("edge closed the connection"));
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private void Fail(Exception ex)
    {
        lock (_gate)
        {
            _failure ??= ex;
            _outbox.Writer.TryComplete();
        }
        while (_pending.TryDequeue(out var p)) p.Tcs.TrySetException(new IOException("edge connection is closed", ex));
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _failure ??= new ObjectDisposedException(nameof(EdgeClient));
            _outbox.Writer.TryComplete();
        }
        try
        {
            await _writer.ConfigureAwait(false);
            _tcp.Client.Shutdown(SocketShutdown.Send);
        }
        catch
        {
            // closing anyway
        }
        // Give the edge a moment to answer what it already read, then close.
        await Task.WhenAny(_reader, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        _tcp.Dispose();
        try
        {
            await _reader.ConfigureAwait(false);
        }
        catch
        {
            // already reported to the pending requests
        }
        Fail(new ObjectDisposedException(nameof(EdgeClient)));
    }
}
