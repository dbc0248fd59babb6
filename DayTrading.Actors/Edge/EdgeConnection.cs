using System.Net.Sockets;
using Akka.Event;
using DayTrading.Accounts;

namespace DayTrading.Edge;

/// <summary>
/// One TCP edge connection. The read loop frames and parses lines and decides, under the connection's lock, what
/// may start now; replies arrive on the gateway's threads (<see cref="OnReply"/>), are written into the response
/// buffer and start the user's next request. A thread-pool work item sends the buffer, so replies that complete
/// meanwhile share one socket write.
/// <list type="bullet">
/// <item>Per user: a request starts only after the same user's previous request on this connection was answered.</item>
/// <item>An admin DUMPLOG (no user) starts only after every request before it was answered, and every line after it
/// waits for it, so the dump holds exactly what came before it.</item>
/// <item>Order: responses leave when ready; lines read while <c>#ORDER,position</c> is on leave in read order.</item>
/// </list>
/// </summary>
internal sealed class EdgeConnection : ITradeReplySink
{
    private const int ReadBufferBytes = 64 * 1024;

    /// <summary>One line read and not yet answered.</summary>
    private sealed class Slot(ParsedLine line, string? runId, bool quiet, bool positioned)
    {
        public readonly ParsedLine Line = line;
        public readonly string? RunId = runId;
        public readonly bool Quiet = quiet;
        public readonly bool Positioned = positioned;
        public TradeReply? Reply;
        public bool Done;
    }

    private readonly Socket _socket;
    private readonly ITradeGateway _gateway;
    private readonly TcpEdgeOptions _options;
    private readonly ILoggingAdapter? _log;
    private readonly Action<EdgeConnection> _onClosed;
    private readonly TxNumberGenerator _numbers;
    private readonly LineFramer _framer;
    private readonly CancellationTokenSource _stopReading = new();
    private readonly TaskCompletionSource _terminated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Read loop only:
    private string? _runId;
    private bool _quiet;
    private readonly List<FramedLine> _framed = new();
    private readonly List<(ParsedLine Line, string? RunId, bool Quiet)> _parsed = new();

    // Under _gate:
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Slot> _slots = new();
    private readonly Dictionary<string, Queue<long>?> _busyUsers = new(StringComparer.Ordinal);
    private readonly Queue<long> _held = new();
    private readonly Queue<Slot> _ordered = new();
    private long _nextToken;
    private int _active; // started (or waiting behind the same user) and not answered
    private bool _barrier; // an admin DUMPLOG is running
    private bool _positionOrder;
    private ResponseBuffer _out = new();
    private ResponseBuffer _sendingBuffer = new();
    private bool _sending;
    private bool _readDone;
    private bool _closed;
    private TaskCompletionSource? _room;
    private long _lastActivityMs = Environment.TickCount64;

    public EdgeConnection(Socket socket, ITradeGateway gateway, TcpEdgeOptions options, ILoggingAdapter? log, Action<EdgeConnection> onClosed)
    {
        _socket = socket;
        _gateway = gateway;
        _options = options;
        _log = log;
        _onClosed = onClosed;
        _numbers = options.TxNumbers ?? TxNumberGenerator.Shared;
        _framer = new LineFramer(options.MaxLineBytes);
        _positionOrder = options.Order == ResponseOrder.Position;
        Remote = socket.RemoteEndPoint?.ToString() ?? "?";
    }

    public string Remote { get; }

    /// <summary>Completes when the connection is closed, for whatever reason.</summary>
    public Task Terminated => _terminated.Task;

    public void Start() => _ = ReadLoop();

    /// <summary>Graceful stop: no new lines are read; what was read is answered; then the connection closes.</summary>
    public void StopReading()
    {
        try
        {
            _stopReading.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // closed already
        }
    }

    public void Abort() => Close(abortive: true);

    public void CloseIfIdle(long nowMs, long idleMs)
    {
        bool idle;
        lock (_gate) idle = !_closed && _slots.Count == 0 && !_sending && nowMs - _lastActivityMs >= idleMs;
        if (idle) Close(abortive: false);
    }

    private async Task ReadLoop()
    {
        var buffer = new byte[ReadBufferBytes];
        try
        {
            while (true)
            {
                var room = WaitForRoom();
                if (room is not null) await room.WaitAsync(_stopReading.Token).ConfigureAwait(false);
                var n = await _socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, _stopReading.Token).ConfigureAwait(false);
                if (n == 0) break;
                _framed.Clear();
                _framer.Feed(buffer.AsSpan(0, n), _framed);
                if (_framed.Count > 0) Take(_framed);
            }
            // Half-close: the last line may have come without LF.
            if (_framer.Finish() is { } last)
            {
                _framed.Clear();
                _framed.Add(last);
                Take(_framed);
            }
        }
        catch (OperationCanceledException)
        {
            // StopReading: answer what was read, then close
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            _log?.Debug("TCP edge: connection from {0} broke while reading: {1}", Remote, ex.Message);
        }
        catch (Exception ex)
        {
            _log?.Error(ex, "TCP edge: reading from {0} failed", Remote);
        }
        lock (_gate) _readDone = true;
        CloseWhenDrained();
    }

    /// <summary>Null when there is room for more requests; else a task that completes when there is.</summary>
    private Task? WaitForRoom()
    {
        lock (_gate)
        {
            if (_slots.Count < _options.MaxPendingPerConnection && _out.Length + _sendingBuffer.Length < _options.MaxUnsentBytes) return null;
            _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _room.Task;
        }
    }

    // Called under _gate after something was answered or sent.
    private void SignalRoomIfDrained()
    {
        if (_room is null) return;
        if (_slots.Count > _options.MaxPendingPerConnection / 2 || _out.Length + _sendingBuffer.Length > _options.MaxUnsentBytes / 2) return;
        _room.TrySetResult();
        _room = null;
    }

    private void Take(List<FramedLine> lines)
    {
        // Parsing needs only the read loop's own session state: no lock.
        // Each line keeps the session settings it was read under (a #RUN or #QUIET later in the chunk is later).
        _parsed.Clear();
        foreach (var line in lines)
        {
            var parsed = ParseInSession(line);
            _parsed.Add((parsed, _runId, _quiet));
        }
        // Filled under the lock, started after it: gateway calls never happen while holding it.
        var start = new List<(long, Slot)>();
        bool send;
        lock (_gate)
        {
            _lastActivityMs = Environment.TickCount64;
            foreach (var (parsed, runId, quiet) in _parsed) Admit(parsed, runId, quiet, start);
            send = StartSendIfNeeded();
        }
        if (send) ScheduleSend();
        foreach (var (token, slot) in start) StartOne(token, slot);
    }

    /// <summary>Parses a line under this connection's run id; a valid #RUN or #QUIET changes the session for the lines after it.</summary>
    private ParsedLine ParseInSession(FramedLine line)
    {
        ParsedLine parsed;
        try
        {
            parsed = LineParser.Parse(line, _runId, _numbers);
        }
        catch (Exception ex)
        {
            _log?.Error(ex, "TCP edge: parser failed on a line");
            return ParsedLine.ForRejected(_numbers.Next(), true, null, null, "internal error while parsing the line");
        }
        if (parsed.Kind == ParsedLineKind.Directive && parsed.Reason is null)
        {
            if (parsed.Directive == DirectiveKind.Run) _runId = parsed.DirectiveValue;
            else if (parsed.Directive == DirectiveKind.Quiet) _quiet = parsed.DirectiveValue == "on";
        }
        return parsed;
    }

    // Under _gate: one parsed line in read order.
    private void Admit(ParsedLine parsed, string? runId, bool quiet, List<(long, Slot)> start)
    {
        if (parsed.Kind == ParsedLineKind.Directive)
        {
            // Answered at once; in position order after every line before it (its answer is the first line of the
            // new order when it switches to position order, the last line of the old one when it switches back).
            var positioned = _positionOrder;
            if (parsed.Directive == DirectiveKind.Order && parsed.Reason is null) _positionOrder = parsed.DirectiveValue == "position";
            var directive = new Slot(parsed, runId, quiet, positioned || _positionOrder);
            if (directive.Positioned) _ordered.Enqueue(directive);
            Answer(directive, null);
            return;
        }

        var slot = new Slot(parsed, runId, quiet, _positionOrder);
        var token = ++_nextToken;
        _slots[token] = slot;
        if (_positionOrder) _ordered.Enqueue(slot);
        if (_barrier || _held.Count > 0 || (IsAdminDump(parsed) && _active > 0))
        {
            _held.Enqueue(token);
            return;
        }
        Dispatch(token, slot, start);
    }

    private static bool IsAdminDump(ParsedLine p) => p.Kind == ParsedLineKind.Request && p.Request!.UserId is null;

    // Under _gate: the line may run now, unless its user already has a request running.
    private void Dispatch(long token, Slot slot, List<(long, Slot)> start)
    {
        _active++;
        var p = slot.Line;
        if (p.Kind == ParsedLineKind.Request)
        {
            if (p.Request!.UserId is { } user)
            {
                if (_busyUsers.TryGetValue(user, out var waiting))
                {
                    (waiting ??= new Queue<long>()).Enqueue(token);
                    _busyUsers[user] = waiting;
                    return;
                }
                _busyUsers[user] = null;
            }
            else
            {
                _barrier = true;
            }
        }
        start.Add((token, slot));
    }

    private void StartOne(long token, Slot slot)
    {
        var p = slot.Line;
        if (p.Kind == ParsedLineKind.Request)
        {
            _gateway.Submit(p.Request!, this, token);
            return;
        }
        // A refused line: recorded (the audit log's errorEvent) before the client hears of it.
        Task recorded;
        try
        {
            recorded = _gateway.RecordRejected(p.TxNum, slot.RunId, p.Command, p.UserId, p.Reason!);
        }
        catch (Exception ex)
        {
            recorded = Task.FromException(ex);
        }
        recorded.ContinueWith(static (t, state) =>
        {
            var (self, token) = ((EdgeConnection, long))state!;
            if (t.IsFaulted) self._log?.Warning("TCP edge: recording a refused line failed: {0}", t.Exception?.GetBaseException().Message);
            self.Complete(token, null);
        }, (this, token), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The one reply to the request <paramref name="token"/>.</summary>
    public void OnReply(long token, TradeReply reply) => Complete(token, reply);

    // A line is done: its reply (null for a refused line once it is recorded) goes out, its user's next request
    // starts, and lines held behind an admin DUMPLOG may start.
    private void Complete(long token, TradeReply? reply)
    {
        (long Token, Slot Slot) next = default;
        List<(long, Slot)>? released = null;
        bool send;
        lock (_gate)
        {
            if (!_slots.Remove(token, out var slot)) return;
            _active--;
            var p = slot.Line;
            if (p.Kind == ParsedLineKind.Request)
            {
                if (p.Request!.UserId is { } user)
                {
                    if (_busyUsers.TryGetValue(user, out var waiting) && waiting is { Count: > 0 })
                    {
                        var t = waiting.Dequeue();
                        next = (t, _slots[t]);
                    }
                    else
                    {
                        _busyUsers.Remove(user);
                    }
                }
                else
                {
                    _barrier = false;
                }
            }
            if (!_closed) Answer(slot, reply);
            if (_held.Count > 0) ReleaseHeld(released = new List<(long, Slot)>());
            SignalRoomIfDrained();
            send = StartSendIfNeeded();
        }
        if (send) ScheduleSend();
        if (next.Slot is not null) StartOne(next.Token, next.Slot);
        if (released is not null)
        {
            foreach (var (t, s) in released) StartOne(t, s);
        }
        CloseWhenDrained();
    }

    // Under _gate: lines held behind an admin DUMPLOG may run once it (or everything before it) is done.
    private void ReleaseHeld(List<(long, Slot)> start)
    {
        while (_held.Count > 0 && !_barrier)
        {
            var token = _held.Peek();
            var slot = _slots[token];
            if (IsAdminDump(slot.Line) && _active > 0) return;
            _held.Dequeue();
            Dispatch(token, slot, start);
        }
    }

    // Under _gate: the response goes out now, or when every line before it has gone (position order).
    private void Answer(Slot slot, TradeReply? reply)
    {
        slot.Reply = reply;
        slot.Done = true;
        if (!slot.Positioned)
        {
            Write(slot);
            return;
        }
        while (_ordered.Count > 0 && _ordered.Peek().Done) Write(_ordered.Dequeue());
    }

    private void Write(Slot slot)
    {
        var p = slot.Line;
        switch (p.Kind)
        {
            case ParsedLineKind.Request when slot.Reply is { } reply:
                _out.AppendReply(p.Request!, reply, slot.Quiet);
                break;
            case ParsedLineKind.Request:
                _out.AppendLine(ResponseFormatter.Error(p.TxNum, p.Command, "internal error: no reply"));
                break;
            case ParsedLineKind.Rejected:
                _out.AppendLine(ResponseFormatter.Error(p.TxNum, p.Command, p.Reason));
                break;
            default:
                _out.AppendLine(ResponseFormatter.Directive(p));
                break;
        }
    }

    // Under _gate.
    private bool StartSendIfNeeded()
    {
        if (_sending || _out.Length == 0 || _closed) return false;
        _sending = true;
        return true;
    }

    private void ScheduleSend() => ThreadPool.UnsafeQueueUserWorkItem(static c => _ = c.SendLoop(), this, preferLocal: false);

    private async Task SendLoop()
    {
        try
        {
            while (true)
            {
                ResponseBuffer batch;
                lock (_gate)
                {
                    if (_out.Length == 0 || _closed)
                    {
                        _sending = false;
                        _sendingBuffer.Clear();
                        _sendingBuffer.ShrinkIfIdle(_options.MaxUnsentBytes);
                        SignalRoomIfDrained();
                        break;
                    }
                    _sendingBuffer.Clear();
                    (_out, _sendingBuffer) = (_sendingBuffer, _out);
                    batch = _sendingBuffer;
                    _lastActivityMs = Environment.TickCount64;
                }
                var sent = 0;
                while (sent < batch.Length)
                    sent += await _socket.SendAsync(batch.Data.AsMemory(sent, batch.Length - sent), SocketFlags.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            _log?.Debug("TCP edge: connection from {0} broke while writing: {1}", Remote, ex.Message);
            Close(abortive: true);
            return;
        }
        CloseWhenDrained();
    }

    private void CloseWhenDrained()
    {
        bool close;
        lock (_gate) close = _readDone && !_closed && _slots.Count == 0 && !_sending && _out.Length == 0;
        if (close) Close(abortive: false);
    }

    private void Close(bool abortive)
    {
        lock (_gate)
        {
            if (_closed) return;
            _closed = true;
            _room?.TrySetResult();
            _room = null;
        }
        try
        {
            if (!abortive) _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // the client is gone already
        }
        StopReading();
        _socket.Dispose();
        _onClosed(this);
        _terminated.TrySetResult();
    }
}
