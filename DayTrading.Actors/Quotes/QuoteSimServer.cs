using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DayTrading.Quotes;

/// <summary>Settings of <see cref="QuoteSimServer"/>.</summary>
public sealed record QuoteSimOptions
{
    /// <summary>Price seed (see <see cref="QuotePriceModel"/>).</summary>
    public int Seed { get; init; } = 42;
    public LatencyProfile Latency { get; init; } = LatencyProfile.None;
    /// <summary>Seed of the latency sampler; defaults to <see cref="Seed"/>.</summary>
    public int? LatencySeed { get; init; }
    /// <summary>Clock for answer delays and quote timestamps.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
    /// <summary>How long a connection may take to send its query line before it is answered with an error and closed (real time).</summary>
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public int Backlog { get; init; } = 1024;
}

/// <summary>
/// TCP quote simulator speaking exactly the legacy protocol (<see cref="LegacyQuoteProtocol"/>): reads one
/// line <c>SYM,userid\n</c>, waits the latency profile's delay, answers
/// <c>price,SYM,userid,timestampMillis,cryptokey\n</c> from <see cref="QuotePriceModel"/> and closes.
/// A malformed query (wrong field count, empty/invalid field, line over
/// <see cref="LegacyQuoteProtocol.MaxLineBytes"/> bytes, or no line within <see cref="QuoteSimOptions.QueryTimeout"/>)
/// is answered with <c>ERROR,&lt;reason&gt;\n</c> and closed. Connections are handled concurrently.
/// </summary>
public sealed class QuoteSimServer : IAsyncDisposable
{
    private static readonly Encoding Utf8 = new UTF8Encoding(false);

    private readonly Socket _listener;
    private readonly QuoteSimOptions _options;
    private readonly QuotePriceModel _model;
    private readonly Random _random;
    private readonly Lock _randomLock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _stopLock = new();
    private readonly CancellationTokenRegistration _externalStop;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _acceptLoop = Task.CompletedTask;
    private Task? _stopTask;
    private int _active;
    private long _hits;
    private long _malformed;
    private long _connections;

    private QuoteSimServer(Socket listener, QuoteSimOptions options, CancellationToken ct)
    {
        _listener = listener;
        _options = options;
        _model = new QuotePriceModel(options.Seed);
        _random = new Random(options.LatencySeed ?? options.Seed);
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _externalStop = ct.Register(static s => { _ = ((QuoteSimServer)s!).StopAsync(); }, this);
    }

    /// <summary>The bound address (the real port when started with port 0).</summary>
    public IPEndPoint EndPoint { get; }
    public QuoteSimOptions Options => _options;
    /// <summary>Well-formed queries received (each one is a hit, answered unless the server stops first).</summary>
    public long Hits => Interlocked.Read(ref _hits);
    /// <summary>Queries answered with an <c>ERROR</c> line.</summary>
    public long MalformedQueries => Interlocked.Read(ref _malformed);
    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>
    /// Binds <paramref name="endpoint"/> (port 0 → ephemeral) and starts accepting. Cancelling
    /// <paramref name="ct"/> later stops the server too; <see cref="DisposeAsync"/> stops it and waits for it.
    /// </summary>
    public static Task<QuoteSimServer> StartAsync(IPEndPoint endpoint, QuoteSimOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ct.ThrowIfCancellationRequested();
        options ??= new QuoteSimOptions();
        ArgumentNullException.ThrowIfNull(options.Latency);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);

        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(endpoint);
            listener.Listen(options.Backlog);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        var server = new QuoteSimServer(listener, options, ct);
        server._acceptLoop = Task.Run(server.AcceptLoopAsync);
        return Task.FromResult(server);
    }

    /// <summary>
    /// Runs a simulator on 127.0.0.1:<paramref name="port"/> until <paramref name="ct"/> is cancelled, after
    /// printing one ready line to the console, e.g.
    /// <c>quote simulator listening on 127.0.0.1:4444 (latency lab, seed 42)</c>.
    /// </summary>
    /// <exception cref="FormatException">Unknown latency profile.</exception>
    public static Task RunAsync(int port, string latency, int seed, CancellationToken ct) =>
        RunAsync(port, latency, seed, Console.Out, ct);

    /// <inheritdoc cref="RunAsync(int, string, int, CancellationToken)"/>
    public static async Task RunAsync(int port, string latency, int seed, TextWriter output, CancellationToken ct, IPAddress? bindAddress = null)
    {
        var profile = LatencyProfile.Parse(latency);
        await using var server = await StartAsync(new IPEndPoint(bindAddress ?? IPAddress.Loopback, port),
            new QuoteSimOptions { Seed = seed, Latency = profile }, ct).ConfigureAwait(false);
        await output.WriteLineAsync($"quote simulator listening on {server.EndPoint} (latency {profile.Name}, seed {seed})").ConfigureAwait(false);
        await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Stops accepting, aborts pending answers and waits (up to 5 s) for connection handlers to end.</summary>
    public Task StopAsync()
    {
        lock (_stopLock)
        {
            return _stopTask ??= StopCoreAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _externalStop.Dispose();
    }

    private async Task StopCoreAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        try { await _acceptLoop.ConfigureAwait(false); } catch { /* loop ends on dispose */ }
        if (Volatile.Read(ref _active) > 0)
        {
            try { await _drained.Task.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
            catch (TimeoutException) { }
        }
    }

    private async Task AcceptLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException)
            {
                if (token.IsCancellationRequested) break;
                continue; // e.g. a client that gave up before accept
            }
            Interlocked.Increment(ref _connections);
            Interlocked.Increment(ref _active);
            _ = HandleAsync(client, token);
        }
    }

    private async Task HandleAsync(Socket client, CancellationToken serverToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(LegacyQuoteProtocol.MaxLineBytes);
        try
        {
            client.NoDelay = true;
            using var queryTimeout = CancellationTokenSource.CreateLinkedTokenSource(serverToken);
            queryTimeout.CancelAfter(_options.QueryTimeout);

            int total = 0;
            bool sawNewline = false;
            string? error = null;
            try
            {
                while (total < LegacyQuoteProtocol.MaxLineBytes)
                {
                    int read = await client.ReceiveAsync(buffer.AsMemory(total, LegacyQuoteProtocol.MaxLineBytes - total),
                        SocketFlags.None, queryTimeout.Token).ConfigureAwait(false);
                    if (read == 0) break;
                    int start = total;
                    total += read;
                    if (buffer.AsSpan(start, read).Contains((byte)'\n')) { sawNewline = true; break; }
                }
                if (!sawNewline && total == LegacyQuoteProtocol.MaxLineBytes)
                    error = $"query line longer than {LegacyQuoteProtocol.MaxLineBytes} bytes";
            }
            catch (OperationCanceledException) when (!serverToken.IsCancellationRequested)
            {
                error = $"no complete query line within {(long)_options.QueryTimeout.TotalMilliseconds} ms";
            }

            if (error is null && total == 0) return; // connected and closed without a query: nothing to answer

            string? symbol = null, userId = null;
            if (error is null && !TryParseQuery(buffer.AsSpan(0, total), out symbol, out userId, out error)) { }

            string answer;
            if (error is not null)
            {
                Interlocked.Increment(ref _malformed);
                answer = LegacyQuoteProtocol.FormatError(error);
            }
            else
            {
                Interlocked.Increment(ref _hits);
                TimeSpan delay;
                lock (_randomLock) delay = _options.Latency.NextDelay(_random);
                if (delay > TimeSpan.Zero)
                    await Task.Delay(delay, _options.TimeProvider, serverToken).ConfigureAwait(false);
                long now = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
                answer = LegacyQuoteProtocol.FormatResponse(_model.QuoteAt(symbol!, userId!, now));
            }

            int n = Utf8.GetBytes(answer, buffer);
            int sent = 0;
            while (sent < n)
                sent += await client.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, serverToken).ConfigureAwait(false);
            client.Shutdown(SocketShutdown.Send);

            if (error is not null)
            {
                // Lingering close: the client may have sent more than we read (overlong line). Closing with
                // unread input makes the kernel send RST, which can destroy the error line before the client
                // reads it, so drain briefly until the client closes its side.
                using var linger = CancellationTokenSource.CreateLinkedTokenSource(serverToken);
                linger.CancelAfter(TimeSpan.FromMilliseconds(500));
                while (await client.ReceiveAsync(buffer, SocketFlags.None, linger.Token).ConfigureAwait(false) > 0) { }
            }
        }
        catch (Exception)
        {
            // Client went away, server stopping, etc.: nothing to report to anyone.
        }
        finally
        {
            client.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
            if (Interlocked.Decrement(ref _active) == 0 && serverToken.IsCancellationRequested)
                _drained.TrySetResult();
        }
    }

    private static bool TryParseQuery(ReadOnlySpan<byte> bytes, out string? symbol, out string? userId, out string? error)
    {
        int nl = bytes.IndexOf((byte)'\n');
        if (nl >= 0) bytes = bytes[..nl];
        Span<char> chars = stackalloc char[LegacyQuoteProtocol.MaxLineBytes];
        int count = Utf8.GetChars(bytes, chars);
        return LegacyQuoteProtocol.TryParseRequest(chars[..count], out symbol, out userId, out error);
    }
}
