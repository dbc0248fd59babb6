using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DayTrading.Quotes;

/// <summary>Settings of <see cref="LegacyQuoteClient"/>.</summary>
public sealed record LegacyQuoteClientOptions
{
    /// <summary>IP literal or DNS name of the quote server.</summary>
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 4444;
    /// <summary>Longest wait for the TCP connection to be accepted, per attempt.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Longest wait from sending the query to the end of the answer line, per attempt.
    /// The default is above the 4 s tail of the <c>lab</c> profile.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Attempts per <see cref="LegacyQuoteClient.FetchAsync"/> (1 = no retry).</summary>
    public int MaxAttempts { get; init; } = 3;
    /// <summary>Wait before the 2nd attempt; doubles for each further one, capped by <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(50);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Clock for time-outs and back-off.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host)) throw new ArgumentException("quote client: Host is empty");
        if (Port is < 1 or > 65535) throw new ArgumentException($"quote client: Port {Port} is not in 1..65535");
        if (ConnectTimeout <= TimeSpan.Zero) throw new ArgumentException("quote client: ConnectTimeout must be positive");
        if (ReadTimeout <= TimeSpan.Zero) throw new ArgumentException("quote client: ReadTimeout must be positive");
        if (MaxAttempts is < 1 or > 100) throw new ArgumentException($"quote client: MaxAttempts {MaxAttempts} is not in 1..100");
        if (InitialBackoff < TimeSpan.Zero || MaxBackoff < TimeSpan.Zero) throw new ArgumentException("quote client: back-off must not be negative");
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}

/// <summary>
/// <see cref="IQuoteSource"/> over the legacy quote server's TCP protocol (<see cref="LegacyQuoteProtocol"/>),
/// one query per connection. Thread-safe; many fetches may run at once.
/// <para>
/// Retries (up to <see cref="LegacyQuoteClientOptions.MaxAttempts"/>, exponential back-off) on transport
/// failures: connection refused/unreachable, connect time-out, read time-out, reset, closed without an
/// answer. A malformed answer, a wrong echo or a server <c>ERROR</c> line fails at once (retrying would
/// only cost more hits). Every failure surfaces as <see cref="QuoteUnavailableException"/> with the server
/// address and the reason; cancellation through the caller's token surfaces as
/// <see cref="OperationCanceledException"/>.
/// </para>
/// </summary>
public sealed class LegacyQuoteClient : IQuoteSource
{
    private readonly LegacyQuoteClientOptions _options;
    private readonly EndPoint _endPoint;
    private readonly string _display;
    private readonly string _connectMs;
    private readonly string _readMs;
    private long _queriesSent;
    private long _answers;

    public LegacyQuoteClient(LegacyQuoteClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _endPoint = IPAddress.TryParse(options.Host, out var ip)
            ? new IPEndPoint(ip, options.Port)
            : new DnsEndPoint(options.Host, options.Port);
        _display = ip is not null ? ((IPEndPoint)_endPoint).ToString() : $"{options.Host}:{options.Port}";
        _connectMs = Ms(options.ConnectTimeout);
        _readMs = Ms(options.ReadTimeout);
    }

    public LegacyQuoteClientOptions Options => _options;

    /// <summary>Queries written to the server (each is a paid hit, whether or not it was answered).</summary>
    public long QueriesSent => Interlocked.Read(ref _queriesSent);

    /// <summary>Valid answers received.</summary>
    public long Answers => Interlocked.Read(ref _answers);

    public async Task<Quote> FetchAsync(string symbol, string userId, CancellationToken cancellationToken = default)
    {
        var invalid = LegacyQuoteProtocol.ValidateField(symbol, "symbol") ?? LegacyQuoteProtocol.ValidateField(userId, "user id");
        if (invalid is not null) throw new QuoteUnavailableException($"invalid quote query: {invalid}");

        byte[] buffer = ArrayPool<byte>.Shared.Rent(LegacyQuoteProtocol.MaxLineBytes);
        try
        {
            AttemptFailure? last = null;
            int max = _options.MaxAttempts;
            for (int attempt = 1; attempt <= max; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (attempt > 1)
                    await Task.Delay(Backoff(attempt - 1), _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                try
                {
                    var quote = await AttemptAsync(symbol, userId, buffer, cancellationToken).ConfigureAwait(false);
                    Interlocked.Increment(ref _answers);
                    return quote;
                }
                catch (AttemptFailure failure) when (failure.Retryable)
                {
                    last = failure;
                }
                catch (AttemptFailure failure)
                {
                    throw new QuoteUnavailableException(failure.Message, failure.InnerException);
                }
            }
            string times = max == 1 ? "after 1 attempt" : $"after {max} attempts";
            throw new QuoteUnavailableException($"{last!.Message} {times}", last.InnerException);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Back-off before attempt <c>retry + 1</c>: Initial × 2^(retry−1), capped at Max.</summary>
    internal TimeSpan Backoff(int retry)
    {
        double factor = Math.Pow(2, Math.Min(retry - 1, 30));
        double ticks = Math.Min(_options.InitialBackoff.Ticks * factor, _options.MaxBackoff.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    private async Task<Quote> AttemptAsync(string symbol, string userId, byte[] buffer, CancellationToken cancellationToken)
    {
        using var socket = _endPoint is IPEndPoint ipe
            ? new Socket(ipe.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        socket.NoDelay = true;
        using var timeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var token = linked.Token;

        // Connect.
        timeout.CancelAfter(_options.ConnectTimeout);
        try
        {
            await socket.ConnectAsync(_endPoint, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AttemptFailure(true, $"quote server {_display} did not accept the connection within {_connectMs} ms");
        }
        catch (SocketException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string what = e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "refused the connection (nothing listening?)",
                SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "could not be resolved",
                SocketError.TimedOut => $"did not accept the connection within {_connectMs} ms",
                _ => $"could not be reached ({e.SocketErrorCode})",
            };
            throw new AttemptFailure(true, $"quote server {_display} {what}", e);
        }

        // Query and answer share the read time-out.
        timeout.CancelAfter(_options.ReadTimeout);
        int total = 0;
        try
        {
            int n = LegacyQuoteProtocol.WriteRequest(symbol, userId, buffer);
            Interlocked.Increment(ref _queriesSent);
            int sent = 0;
            while (sent < n)
                sent += await socket.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, token).ConfigureAwait(false);

            while (true)
            {
                if (total == buffer.Length)
                    throw new AttemptFailure(false,
                        $"quote server {_display} sent an answer longer than {buffer.Length} bytes to {symbol},{userId}");
                int read = await socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, token).ConfigureAwait(false);
                if (read == 0) break; // server closed
                int start = total;
                total += read;
                if (buffer.AsSpan(start, read).Contains((byte)'\n')) break;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AttemptFailure(true, $"quote server {_display} did not answer within {_readMs} ms");
        }
        catch (SocketException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new AttemptFailure(true, $"quote server {_display} broke the connection ({e.SocketErrorCode}) before answering", e);
        }

        if (total == 0)
            throw new AttemptFailure(true, $"quote server {_display} closed the connection without answering");
        return ParseAnswer(buffer.AsSpan(0, total), symbol, userId);
    }

    private Quote ParseAnswer(ReadOnlySpan<byte> bytes, string symbol, string userId)
    {
        int nl = bytes.IndexOf((byte)'\n');
        if (nl >= 0) bytes = bytes[..nl]; // a line without '\n' before close is accepted too
        Span<char> chars = stackalloc char[LegacyQuoteProtocol.MaxLineBytes];
        int count;
        try
        {
            count = Utf8Strict.GetChars(bytes, chars);
        }
        catch (DecoderFallbackException e)
        {
            throw new AttemptFailure(false, $"quote server {_display} sent an answer to {symbol},{userId} that is not valid UTF-8", e);
        }
        var line = chars[..count];
        if (LegacyQuoteProtocol.TryParseResponse(line, symbol, userId, out var quote, out var error))
            return quote;
        throw new AttemptFailure(false,
            $"quote server {_display} gave an unusable answer to {symbol},{userId}: {error} (line '{LegacyQuoteProtocol.Printable(line)}')");
    }

    private static readonly Encoding Utf8Strict = new UTF8Encoding(false, throwOnInvalidBytes: true);

    private static string Ms(TimeSpan t) => ((long)Math.Round(t.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);

    private sealed class AttemptFailure(bool retryable, string message, Exception? inner = null) : Exception(message, inner)
    {
        public bool Retryable { get; } = retryable;
    }
}
