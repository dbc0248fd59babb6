using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Tasks.Sources;

namespace DayTrading.Loadgen.Client;

public sealed record EdgeClientOptions
{
    /// <summary>Sent as <c>#RUN,id</c> right after connecting (makes retries idempotent, SPEC §4).</summary>
    public string? RunId { get; init; }

    /// <summary>Sends <c>#QUIET,on</c> after connecting: OK responses then carry no body.</summary>
    public bool Quiet { get; init; }

    /// <summary>
    /// Keep the body of OK responses in <see cref="EdgeResponse.Text"/> (default). Off, OK responses come without
    /// one (no string allocated per answer); ERR reasons are always kept.
    /// </summary>
    public bool KeepBodies { get; init; } = true;

    /// <summary>
    /// Complete a request's task on the client's reading loop, so the awaiting code runs right there (no thread-pool
    /// hop per answer) and the requests it sends go out in the same socket write as the others sent while that
    /// batch of answers was read. Only for callers whose continuations are short and never block (a blocking wait
    /// there stalls every answer of the connection). Off by default: continuations run on the thread pool.
    /// Directive answers and failures are never completed inline.
    /// </summary>
    public bool InlineCompletions { get; init; }

    /// <summary>
    /// Makes the (unconnected) socket to connect with; null: a plain TCP socket. For callers that must place it
    /// somewhere first, e.g. the partition test, whose nodes live in network namespaces of their own.
    /// </summary>
    public Func<Socket>? SocketFactory { get; init; }
}

/// <summary>
/// A pipelined client of the TCP edge. Any number of <see cref="SendAsync"/> calls may be outstanding; lines are
/// written in call order (coalesced into large socket writes), and each response is matched to its request:
/// <list type="bullet">
/// <item>a request with an <c>[N]</c> by its N, whatever the order the edge answers in; if the same N is in flight
/// twice, the oldest request gets the first answer carrying it;</item>
/// <item>a directive (<c>#…</c>) to the oldest unanswered directive (the edge answers directives in the order they
/// were sent);</item>
/// <item>a line without an <c>[N]</c> (or with one the edge refuses, e.g. <c>[0]</c>; the edge then assigns a
/// number) to the oldest such line, by the first answer whose N no numbered request awaits. That pairing is only
/// right when such lines are answered in the order they were sent (e.g. under <c>#ORDER,position</c>, or one at a
/// time): with out-of-order answers send your own N.</item>
/// </list>
/// A response that matches no request (an N nobody awaits and no line without N waiting, a directive answer with
/// no directive waiting, a line of no known form) is a protocol error: it fails the client and every request in
/// flight, answers are never paired by guess. Thread-safe.
/// </summary>
public sealed class EdgeClient : IAsyncDisposable
{
    private const int BufferSize = 64 * 1024;

    private readonly TcpClient _tcp;
    private readonly Socket _socket;
    private readonly bool _keepBodies;
    private readonly bool _inline;
    private readonly Lock _gate = new();

    // Under _gate: what is awaited, what is to be written.
    private readonly Dictionary<long, Pending> _byN = [];
    private readonly Queue<Pending> _directives = new();
    private readonly Queue<Pending> _unnumbered = new();
    private int _outstanding;
    private Exception? _failure;
    private byte[] _out = new byte[BufferSize];
    private int _outLength;
    private bool _writerScheduled; // the write loop was signalled or is sending: it will see what is added now
    private bool _readerBatch;     // the read loop is completing a batch of answers and writes what they send after it
    private bool _closing;
    private readonly Stack<PooledPending> _pool = new(); // sources of SendValueAsync, reused

    private readonly Signal _writeSignal = new();
    private readonly Task _writer;
    private readonly Task _reader;

    /// <summary>One request in flight.</summary>
    private abstract class Pending
    {
        /// <summary>The next younger request in flight with the same N.</summary>
        public Pending? Next;

        public abstract void Complete(EdgeResponse response);
        public abstract void Fail(Exception error);
    }

    /// <summary>A request of <see cref="SendAsync"/>: completes a task.</summary>
    private sealed class TaskPending(bool inline) : Pending
    {
        private readonly TaskCompletionSource<EdgeResponse> _tcs =
            new(inline ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<EdgeResponse> Task => _tcs.Task;
        public override void Complete(EdgeResponse response) => _tcs.TrySetResult(response);
        public override void Fail(Exception error) => _tcs.TrySetException(error);
    }

    /// <summary>A request of <see cref="SendValueAsync"/>: a reusable value-task source, back in the client's pool once awaited.</summary>
    private sealed class PooledPending(EdgeClient owner, bool inline) : Pending, IValueTaskSource<EdgeResponse>
    {
        private ManualResetValueTaskSourceCore<EdgeResponse> _core = new() { RunContinuationsAsynchronously = !inline };
        private int _done;

        public ValueTask<EdgeResponse> Task => new(this, _core.Version);

        public override void Complete(EdgeResponse response)
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) _core.SetResult(response);
        }

        public override void Fail(Exception error)
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) _core.SetException(error);
        }

        public EdgeResponse GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                _core.Reset();
                Next = null;
                _done = 0;
                owner.Return(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }

    private void Return(PooledPending p)
    {
        lock (_gate)
        {
            if (_pool.Count < 4096) _pool.Push(p);
        }
    }

    private EdgeClient(TcpClient tcp, EdgeClientOptions? options)
    {
        _tcp = tcp;
        _tcp.NoDelay = true;
        _socket = tcp.Client;
        _keepBodies = options?.KeepBodies ?? true;
        _inline = options?.InlineCompletions ?? false;
        _writer = Task.Run(WriteLoop);
        _reader = Task.Run(ReadLoop);
    }

    public static async Task<EdgeClient> ConnectAsync(string host, int port, EdgeClientOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var tcp = options?.SocketFactory is { } factory ? new TcpClient { Client = factory() } : new TcpClient();
        try
        {
            await tcp.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
        var client = new EdgeClient(tcp, options);
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
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>Sends one request or directive line (no line break inside, not blank: the edge answers blank lines with nothing) and returns its response.</summary>
    public Task<EdgeResponse> SendAsync(string line, CancellationToken cancellationToken = default)
    {
        var directive = Check(line, cancellationToken);
        var pending = new TaskPending(_inline && !directive);
        return Enqueue(line, directive, pending) is { } error ? Task.FromException<EdgeResponse>(error) : pending.Task;
    }

    /// <summary>
    /// <see cref="SendAsync"/> without a task allocated per request (the replay's hot path): the result must be
    /// awaited exactly once (its source is reused right after), never awaited twice or read after the await.
    /// </summary>
    public ValueTask<EdgeResponse> SendValueAsync(string line, CancellationToken cancellationToken = default)
    {
        var directive = Check(line, cancellationToken);
        if (directive) return new ValueTask<EdgeResponse>(SendAsync(line, cancellationToken));
        PooledPending? pending;
        lock (_gate) _pool.TryPop(out pending);
        pending ??= new PooledPending(this, _inline);
        var task = pending.Task;
        return Enqueue(line, false, pending) is { } error ? ValueTask.FromException<EdgeResponse>(error) : task;
    }

    private static bool Check(string line, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (line.AsSpan().IndexOfAny('\n', '\r') >= 0) throw new ArgumentException("a request is one line", nameof(line));
        if (line.AsSpan().Trim(" \t").IsEmpty) throw new ArgumentException("the edge does not answer a blank line", nameof(line));
        cancellationToken.ThrowIfCancellationRequested();
        return line.StartsWith('#');
    }

    /// <summary>Registers the request and queues its line; the connection's failure when it is closed.</summary>
    private Exception? Enqueue(string line, bool directive, Pending pending)
    {
        var n = directive ? 0 : ExpectedTxNum(line);
        bool signal;
        lock (_gate)
        {
            if (_failure is not null) return new IOException("edge connection is closed", _failure);
            if (directive) _directives.Enqueue(pending);
            else if (n == 0) _unnumbered.Enqueue(pending);
            else
            {
                ref var head = ref CollectionsMarshal.GetValueRefOrAddDefault(_byN, n, out var exists);
                if (!exists) head = pending;
                else
                {
                    var tail = head!;
                    while (tail.Next is not null) tail = tail.Next;
                    tail.Next = pending;
                }
            }
            _outstanding++;
            Append(line);
            signal = !_writerScheduled && !_readerBatch;
            if (signal) _writerScheduled = true;
        }
        if (signal) _writeSignal.Set();
        return null;
    }

    /// <summary>The request's N, or 0 when it has none the edge accepts (the edge then assigns one).</summary>
    private static long ExpectedTxNum(string line)
    {
        var s = line.AsSpan().TrimStart(" \t");
        if (s.Length == 0 || s[0] != '[') return 0;
        var close = s.IndexOf(']');
        // The edge reads at most 18 digits; a longer number is refused and answered under an assigned N.
        return close > 1 && close <= 19 && long.TryParse(s[1..close], System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 0;
    }

    /// <summary>Adds the line and its LF to the output buffer as UTF-8 (under _gate).</summary>
    private void Append(string line)
    {
        var max = line.Length * 3 + 1; // UTF-8 worst case per UTF-16 unit
        if (_out.Length - _outLength < max) Array.Resize(ref _out, Math.Max(_out.Length * 2, _outLength + max));
        _outLength += Encoding.UTF8.GetBytes(line, _out.AsSpan(_outLength));
        _out[_outLength++] = (byte)'\n';
    }

    private async Task WriteLoop()
    {
        var free = new byte[BufferSize];
        try
        {
            while (true)
            {
                await _writeSignal.WaitAsync().ConfigureAwait(false);
                while (true)
                {
                    byte[] sending;
                    int length;
                    lock (_gate)
                    {
                        if (_outLength == 0)
                        {
                            _writerScheduled = false;
                            if (_closing) return;
                            break;
                        }
                        sending = _out;
                        length = _outLength;
                        _out = free;
                        _outLength = 0;
                    }
                    for (var sent = 0; sent < length;)
                        sent += await _socket.SendAsync(sending.AsMemory(sent, length - sent), SocketFlags.None).ConfigureAwait(false);
                    free = sending;
                }
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private async Task ReadLoop()
    {
        var buffer = new byte[BufferSize];
        int start = 0, end = 0;
        try
        {
            while (true)
            {
                if (end == buffer.Length)
                {
                    if (start > 0)
                    {
                        buffer.AsSpan(start, end - start).CopyTo(buffer);
                        end -= start;
                        start = 0;
                    }
                    else
                    {
                        Array.Resize(ref buffer, buffer.Length * 2); // one line longer than the buffer
                    }
                }
                var read = await _socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                if (read == 0) break;
                end += read;
                lock (_gate) _readerBatch = true;
                int lf;
                while ((lf = buffer.AsSpan(start, end - start).IndexOf((byte)'\n')) >= 0)
                {
                    var line = buffer.AsSpan(start, lf);
                    start += lf + 1;
                    Deliver(line);
                }
                if (start == end) start = end = 0;
                bool signal;
                lock (_gate)
                {
                    _readerBatch = false;
                    signal = _outLength > 0 && !_writerScheduled;
                    if (signal) _writerScheduled = true;
                }
                if (signal) _writeSignal.Set();
            }
            Fail(new IOException("edge closed the connection"));
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    /// <summary>Pairs one response line with its request and completes it; throws on a line that matches nothing.</summary>
    private void Deliver(ReadOnlySpan<byte> line)
    {
        line = line.TrimEnd(" \t\r"u8);
        if (line.IsEmpty) return;
        Pending? p;
        EdgeResponse response;
        if (line[0] == (byte)'#')
        {
            var text = Encoding.UTF8.GetString(line);
            response = EdgeResponse.Parse(text);
            lock (_gate)
            {
                if (!response.IsDirective || !_directives.TryDequeue(out p))
                    throw new IOException($"response '{text}' does not answer any directive in flight");
                _outstanding--;
            }
        }
        else
        {
            if (!EdgeResponse.TryParseNumbered(line, _keepBodies, out response))
                throw new IOException($"malformed response '{Encoding.UTF8.GetString(line)}'");
            var n = response.TxNum!.Value;
            lock (_gate)
            {
                ref var head = ref CollectionsMarshal.GetValueRefOrNullRef(_byN, n);
                if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref head))
                {
                    p = head;
                    if (p.Next is { } next) head = next;
                    else _byN.Remove(n);
                }
                else if (!_unnumbered.TryDequeue(out p))
                {
                    throw new IOException($"response '{Encoding.UTF8.GetString(line)}' answers no request in flight (no request with [{n}], none without an N)");
                }
                _outstanding--;
            }
        }
        p.Complete(response);
    }

    private void Fail(Exception ex)
    {
        var failed = new List<Pending>();
        lock (_gate)
        {
            _failure ??= ex;
            _closing = true;
            foreach (var head in _byN.Values)
            {
                for (var p = head; p is not null; p = p.Next) failed.Add(p);
            }
            _byN.Clear();
            failed.AddRange(_directives);
            _directives.Clear();
            failed.AddRange(_unnumbered);
            _unnumbered.Clear();
            _outstanding = 0;
        }
        _writeSignal.Set();
        if (failed.Count == 0) return;
        var error = new IOException("edge connection is closed", ex);
        if (!_inline)
        {
            foreach (var p in failed) p.Fail(error); // continuations run on the thread pool anyway
            return;
        }
        // Off this thread (often the read loop): a caller's continuation may well reconnect or dispose this client.
        ThreadPool.UnsafeQueueUserWorkItem(list =>
        {
            foreach (var p in list) p.Fail(error);
        }, failed, preferLocal: false);
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _failure ??= new ObjectDisposedException(nameof(EdgeClient));
            _closing = true;
        }
        _writeSignal.Set();
        try
        {
            await _writer.ConfigureAwait(false); // writes what was sent before, then ends
            _socket.Shutdown(SocketShutdown.Send);
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

    /// <summary>An auto-reset event for the one write loop, awaited without allocating.</summary>
    private sealed class Signal : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
        private readonly Lock _lock = new();
        private bool _set;
        private bool _waiting;

        public ValueTask WaitAsync()
        {
            lock (_lock)
            {
                if (_set)
                {
                    _set = false;
                    return ValueTask.CompletedTask;
                }
                _core.Reset();
                _waiting = true;
                return new ValueTask(this, _core.Version);
            }
        }

        public void Set()
        {
            lock (_lock)
            {
                if (!_waiting)
                {
                    _set = true;
                    return;
                }
                _waiting = false;
            }
            _core.SetResult(true);
        }

        public void GetResult(short token) => _core.GetResult(token);
        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
