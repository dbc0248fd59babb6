using System.Net;
using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Dsl;
using DayTrading.Accounts;
using Tcp = Akka.Streams.Dsl.Tcp;

namespace DayTrading.Edge;

/// <summary>Settings of <see cref="TcpEdge"/>.</summary>
public sealed record TcpEdgeOptions
{
    /// <summary>Interface to bind; "0.0.0.0" for all IPv4 interfaces.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="TcpEdgeBinding.LocalEndPoint"/>).</summary>
    public int Port { get; init; } = 0;

    public int Backlog { get; init; } = 100;

    /// <summary>Requests of one connection in flight at once (pipelining); responses still leave in request order.</summary>
    public int Parallelism { get; init; } = 64;

    /// <summary>After this the client gets <c>ERR … timed out</c> for the request (its outcome is then unknown).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>What <see cref="RequestTimeout"/> is for a DUMPLOG: writing millions of entries takes a while.</summary>
    public TimeSpan DumpTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>A connection with no traffic in either direction for this long is closed. Null: never.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    public int MaxLineBytes { get; init; } = LineFraming.MaxLineBytes;

    /// <summary>
    /// True (default): a request is handed to the gateway only after the previous request of the same user on the
    /// same connection has been answered, and an admin DUMPLOG only after everything before it on the connection
    /// (SPEC §2: one user's commands take effect in the order sent). Different users still run in parallel.
    /// False: requests are handed over in arrival order without waiting; then the gateway must keep a user's
    /// requests in call order itself.
    /// </summary>
    public bool OrderPerUser { get; init; } = true;

    /// <summary>Source of numbers for lines without <c>[N]</c>; null uses <see cref="TxNumberGenerator.Shared"/>.</summary>
    public TxNumberGenerator? TxNumbers { get; init; }
}

/// <summary>The live connections of one <see cref="TcpEdge"/>: a kill switch for all of them and their termination tasks.</summary>
internal sealed class EdgeConnections
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, Task> _live = new();
    private long _nextId;

    public SharedKillSwitch KillSwitch { get; } = KillSwitches.Shared("tcp-edge-connections");

    public int Count => _live.Count;

    public void Track(Task terminated)
    {
        var id = Interlocked.Increment(ref _nextId);
        _live[id] = terminated;
        terminated.ContinueWith(_ => _live.TryRemove(id, out Task? _), TaskScheduler.Default);
    }

    public Task AllTerminated() => Task.WhenAll(_live.Values.ToArray());
}

/// <summary>A bound <see cref="TcpEdge"/>.</summary>
public sealed class TcpEdgeBinding : IAsyncDisposable
{
    private readonly Tcp.ServerBinding _binding;
    private readonly EdgeConnections _connections;
    private int _unbound;

    internal TcpEdgeBinding(Tcp.ServerBinding binding, EdgeConnections connections)
    {
        _binding = binding;
        _connections = connections;
        LocalEndPoint = binding.LocalAddress as IPEndPoint
            ?? throw new InvalidOperationException($"unexpected local address {binding.LocalAddress}");
    }

    public IPEndPoint LocalEndPoint { get; }

    private static readonly TimeSpan CloseGrace = TimeSpan.FromMilliseconds(300);

    /// <summary>Connections currently open.</summary>
    public int OpenConnections => _connections.Count;

    /// <summary>
    /// Closes the open connections gracefully — they stop reading new lines, answer every complete line already
    /// read, and close — waiting up to <paramref name="drainTimeout"/> (default 5 s) for that, then stops
    /// listening. (In Akka.IO the accepted connections are children of the listener, so unbinding first would
    /// abort them; hence this order.) Connections accepted meanwhile are closed at once.
    /// </summary>
    public async Task UnbindAsync(TimeSpan? drainTimeout = null)
    {
        if (Interlocked.Exchange(ref _unbound, 1) == 1) return;
        _connections.KillSwitch.Shutdown();
        try
        {
            var hadConnections = _connections.Count > 0;
            await _connections.AllTerminated().WaitAsync(drainTimeout ?? TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            // The flows are done; give the connection actors a moment to process their Close before the listener
            // (their parent) stops. Without this a just-closed connection may still be reset.
            if (hadConnections) await Task.Delay(CloseGrace).ConfigureAwait(false);
        }
        catch
        {
            // timed out or a connection failed: unbind anyway
        }
        await _binding.Unbind().ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => new(UnbindAsync());
}

/// <summary>
/// The TCP edge (SPEC §4): one workload line in, one response line out, per connection:
/// <see cref="LineFraming"/> → <see cref="LineParser"/> (+ session directives) → <see cref="ITradeGateway"/>
/// through an order-preserving async stage of bounded parallelism → <see cref="ResponseFormatter"/>.
/// Back-pressure runs end to end: a client that does not read its responses stops being read from.
/// </summary>
public static class TcpEdge
{
    public static async Task<TcpEdgeBinding> StartAsync(ActorSystem system, ITradeGateway gateway, TcpEdgeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(gateway);
        options ??= new TcpEdgeOptions();
        if (options.Parallelism < 1) throw new ArgumentOutOfRangeException(nameof(options), "Parallelism must be >= 1");

        var log = Logging.GetLogger(system, typeof(TcpEdge));
        var materializer = system.Materializer(namePrefix: "tcp-edge");
        var connections = new EdgeConnections();

        var serverBinding = await system.TcpStream()
            .Bind(options.Host, options.Port, options.Backlog, halfClose: true, idleTimeout: options.IdleTimeout)
            .To(Sink.ForEach<Tcp.IncomingConnection>(connection =>
            {
                try
                {
                    var remote = connection.RemoteAddress;
                    log.Debug("TCP edge: connection from {0} opened", remote);
                    var flow = ConnectionFlow(gateway, options, log, connections.KillSwitch)
                        .WatchTermination((_, done) =>
                        {
                            connections.Track(done);
                            done.ContinueWith(t =>
                            {
                                if (t.IsFaulted) log.Debug("TCP edge: connection from {0} closed: {1}", remote, t.Exception?.GetBaseException().Message);
                                else log.Debug("TCP edge: connection from {0} closed", remote);
                            }, TaskScheduler.Default);
                            return NotUsed.Instance;
                        });
                    connection.HandleWith(flow, materializer);
                }
                catch (Exception ex)
                {
                    log.Error(ex, "TCP edge: could not handle connection from {0}", connection.RemoteAddress);
                }
            }))
            .Run(materializer)
            .ConfigureAwait(false);

        var edge = new TcpEdgeBinding(serverBinding, connections);
        log.Info("TCP edge listening on {0}", edge.LocalEndPoint);
        return edge;
    }

    /// <summary>
    /// The per-connection protocol as a flow of raw bytes to raw bytes (what <see cref="StartAsync"/> attaches to
    /// every accepted connection). Build one per connection and materialize it once: it holds the session state.
    /// </summary>
    public static Flow<ByteString, ByteString, NotUsed> ConnectionFlow(
        ITradeGateway gateway, TcpEdgeOptions options, ILoggingAdapter? log = null, SharedKillSwitch? killSwitch = null)
    {
        var framed = Flow.Create<ByteString>().Via(new LineFraming(options.MaxLineBytes));
        if (killSwitch is not null) framed = framed.Via(killSwitch.Flow<FramedLine>());
        // SelectAsync calls Handle one element at a time on the stage's thread, so the session needs no locks;
        // it starts up to Parallelism gateway calls and emits their results in arrival order.
        return framed
            .SelectAsync(options.Parallelism, new Session(gateway, options, log).Handle)
            // When the socket writer is slower than the replies, coalesce ready lines into one write.
            .Batch(64, first => first, (acc, next) => acc.Concat(next));
    }

    /// <summary>One connection's state: run id and quiet flag. Its Handle is called by SelectAsync one line at a time.</summary>
    private sealed class Session(ITradeGateway gateway, TcpEdgeOptions options, ILoggingAdapter? log)
    {
        private readonly TxNumberGenerator _numbers = options.TxNumbers ?? TxNumberGenerator.Shared;
        private string? _runId;
        private bool _quiet;

        public Task<ByteString> Handle(FramedLine line)
        {
            ParsedLine parsed;
            try
            {
                parsed = LineParser.Parse(line, _runId, _numbers);
            }
            catch (Exception ex)
            {
                log?.Error(ex, "TCP edge: parser failed on a line");
                return Done(ResponseFormatter.Error(_numbers.Next(), null, "internal error while parsing the line"));
            }

            switch (parsed.Kind)
            {
                case ParsedLineKind.Directive:
                    if (parsed.Reason is null)
                    {
                        if (parsed.Directive == DirectiveKind.Run) _runId = parsed.DirectiveValue;
                        else if (parsed.Directive == DirectiveKind.Quiet) _quiet = parsed.DirectiveValue == "on";
                    }
                    return Done(ResponseFormatter.Directive(parsed));

                case ParsedLineKind.Rejected:
                    return Reject(parsed);

                default:
                    return options.OrderPerUser ? ExecuteInUserOrder(parsed.Request!, _quiet) : Execute(parsed.Request!, _quiet);
            }
        }

        // Per-user ordering on this connection: user -> (sequence, last request's task). Guarded by itself.
        private readonly Dictionary<string, (long Seq, Task Task)> _tails = new(StringComparer.Ordinal);
        private Task? _barrier;
        private long _seq;

        /// <summary>
        /// Starts a request only after the previous request of the same user on this connection has been answered;
        /// an admin DUMPLOG (no user) only after every request before it. Other users are not held up.
        /// </summary>
        private Task<ByteString> ExecuteInUserOrder(TradeRequest request, bool quiet)
        {
            Task? before;
            var seq = ++_seq;
            lock (_tails)
            {
                if (request.UserId is null)
                {
                    var all = _tails.Values.Select(t => t.Task).ToList();
                    if (_barrier is { IsCompleted: false } previous) all.Add(previous);
                    before = all.Count == 0 ? null : Task.WhenAll(all);
                }
                else
                {
                    var userTail = _tails.TryGetValue(request.UserId, out var tail) && !tail.Task.IsCompleted ? tail.Task : null;
                    // A request after an admin DUMPLOG waits for it, so the dump holds exactly what came before it.
                    var barrier = _barrier is { IsCompleted: false } b ? b : null;
                    before = userTail is null ? barrier : barrier is null ? userTail : Task.WhenAll(userTail, barrier);
                }
            }
            var task = before is null ? Execute(request, quiet) : ExecuteAfter(before, request, quiet);
            if (request.UserId is null)
            {
                lock (_tails) _barrier = task;
            }
            if (request.UserId is { } user && !task.IsCompleted)
            {
                lock (_tails) _tails[user] = (seq, task);
                task.ContinueWith(static (_, state) =>
                {
                    var (self, u, n) = ((Session, string, long))state!;
                    lock (self._tails)
                    {
                        if (self._tails.TryGetValue(u, out var t) && t.Seq == n) self._tails.Remove(u);
                    }
                }, (this, user, seq), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            return task;
        }

        private async Task<ByteString> ExecuteAfter(Task before, TradeRequest request, bool quiet)
        {
            try
            {
                await before.ConfigureAwait(false);
            }
            catch
            {
                // Execute never faults; nothing to do
            }
            return await Execute(request, quiet).ConfigureAwait(false);
        }

        private static Task<ByteString> Done(string line) => Task.FromResult(ResponseFormatter.Encode(line));

        // The refusal is recorded (the audit log's errorEvent) before the client hears of it.
        private async Task<ByteString> Reject(ParsedLine parsed)
        {
            try
            {
                await gateway.RecordRejected(parsed.TxNum, _runId, parsed.Command, parsed.UserId, parsed.Reason!).WaitAsync(options.RequestTimeout).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                log?.Warning("TCP edge: recording the refusal of [{0}] failed: {1}", parsed.TxNum, ex.Message);
            }
            return ResponseFormatter.Encode(ResponseFormatter.Error(parsed.TxNum, parsed.Command, parsed.Reason));
        }

        private async Task<ByteString> Execute(TradeRequest request, bool quiet)
        {
            string line;
            var timeout = request.Kind == CommandKind.DumpLog ? options.DumpTimeout : options.RequestTimeout;
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                var reply = await gateway.Execute(request, cts.Token).WaitAsync(timeout).ConfigureAwait(false);
                line = reply is null
                    ? ResponseFormatter.Error(request.TxNum, request.Kind.Name(), "internal error: no reply")
                    : ResponseFormatter.Reply(request, reply, quiet);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                line = ResponseFormatter.Error(request.TxNum, request.Kind.Name(),
                    $"timed out after {timeout.TotalSeconds:0.###} s; the outcome is unknown, retry with the same run id and N");
            }
            catch (Exception ex)
            {
                log?.Warning("TCP edge: gateway failed for [{0}] {1}: {2}", request.TxNum, request.Kind.Name(), ex.Message);
                line = ResponseFormatter.Error(request.TxNum, request.Kind.Name(), $"internal error: {ex.GetBaseException().Message}");
            }
            return ResponseFormatter.Encode(line);
        }
    }
}
