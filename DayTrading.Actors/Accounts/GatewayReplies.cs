using System.Collections.Concurrent;
using Akka.Actor;

namespace DayTrading.Accounts;

/// <summary>
/// The reply path of one <see cref="ClusterTradeGateway"/>: a single long-lived reply target for every request
/// in flight, keyed by correlation id. It is what Akka's Ask does inside (a minimal actor ref registered under
/// /temp, so replies from other nodes find it too), but registered once instead of once per request, with one
/// periodic sweep instead of a timer, a cancellation source and task continuations per request.
/// <para>The sweep sends a request unanswered after <c>resendAfter</c> to its account again (same message, same
/// run id and N: the account answers a repeat from memory) and fails it after its deadline.</para>
/// </summary>
internal sealed class GatewayReplies : MinimalActorRef
{
    private sealed class InFlight(GatewayRequest message, ITradeReplySink sink, long token, long sentAtMs, long deadlineMs)
    {
        public readonly long StartTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
        public readonly GatewayRequest Message = message;
        public readonly ITradeReplySink Sink = sink;
        public readonly long Token = token;
        public readonly long DeadlineMs = deadlineMs;
        public long SentAtMs = sentAtMs;
        public int Attempts = 1;
    }

    private readonly ConcurrentDictionary<long, InFlight> _inFlight = new();
    private readonly IActorRef _target;
    private readonly long _resendAfterMs;
    private readonly Action<TradeRequest, int, TimeSpan> _onResend;
    private readonly Func<TradeRequest, TradeReply> _onTimeout;
    private readonly DayTrading.Telemetry.NodeMetrics? _metrics;
    private readonly Timer _sweep;
    private readonly long _sweepMs;
    private long _nextId;
    private int _sweeping;
    private int _inSweep;

    public GatewayReplies(IActorRefProvider provider, IActorRef target, TimeSpan resendAfter,
        Action<TradeRequest, int, TimeSpan> onResend, Func<TradeRequest, TradeReply> onTimeout, DayTrading.Telemetry.NodeMetrics? metrics = null)
    {
        Provider = provider;
        _metrics = metrics;
        _target = target;
        _resendAfterMs = Math.Max(1, (long)resendAfter.TotalMilliseconds);
        _onResend = onResend;
        _onTimeout = onTimeout;
        // Resends and time-outs are due to within a fifth of the resend interval.
        _sweepMs = Math.Clamp(_resendAfterMs / 5, 10, 1000);
        Path = provider.TempPath();
        provider.RegisterTempActor(this, Path);
        _sweep = new Timer(static s => ((GatewayReplies)s!).Sweep(), this, Timeout.Infinite, Timeout.Infinite);
    }

    public override ActorPath Path { get; }

    public override IActorRefProvider Provider { get; }

    /// <summary>Requests sent and not yet answered or timed out.</summary>
    public int Count => _inFlight.Count;

    public void Send(TradeRequest request, ITradeReplySink sink, long token, TimeSpan timeout)
    {
        var id = Interlocked.Increment(ref _nextId);
        var now = Environment.TickCount64;
        var message = new GatewayRequest(id, request);
        _inFlight[id] = new InFlight(message, sink, token, now, now + (long)timeout.TotalMilliseconds);
        if (Volatile.Read(ref _sweeping) == 0 && Interlocked.Exchange(ref _sweeping, 1) == 0) _sweep.Change(_sweepMs, _sweepMs);
        _target.Tell(message, this);
    }

    protected override void TellInternal(object message, IActorRef sender)
    {
        // A reply that comes after its request timed out, or the second answer to a resent request, finds nothing.
        if (message is GatewayReply reply && _inFlight.TryRemove(reply.CorrelationId, out var waiting)) Answer(waiting, reply.Reply);
    }

    private void Answer(InFlight request, TradeReply reply)
    {
        // A user's DUMPLOG passes here only for its recording step: the gateway measures the whole dump.
        if (request.Message.Request.Kind != CommandKind.DumpLog) _metrics?.RequestCompleted(request.Message.Request.Kind, RequestOutcomes.Of(reply), request.StartTimestamp);
        request.Sink.OnReply(request.Token, reply);
    }

    private void Sweep()
    {
        // Timer callbacks may overlap when one sweep runs long; one at a time, or a request could be resent twice.
        if (Interlocked.Exchange(ref _inSweep, 1) == 1) return;
        try
        {
            SweepOnce();
        }
        finally
        {
            Volatile.Write(ref _inSweep, 0);
        }
    }

    private void SweepOnce()
    {
        var now = Environment.TickCount64;
        foreach (var (id, f) in _inFlight)
        {
            if (now >= f.DeadlineMs)
            {
                if (_inFlight.TryRemove(id, out var expired)) Answer(expired, _onTimeout(expired.Message.Request));
            }
            else if (now - f.SentAtMs >= _resendAfterMs)
            {
                _onResend(f.Message.Request, f.Attempts, TimeSpan.FromMilliseconds(now - f.SentAtMs));
                f.SentAtMs = now;
                f.Attempts++;
                _target.Tell(f.Message, this);
            }
        }
        if (_inFlight.IsEmpty)
        {
            _sweep.Change(Timeout.Infinite, Timeout.Infinite);
            Volatile.Write(ref _sweeping, 0);
            // A request sent between the check and the stop re-arms the sweep itself, unless it saw it still running.
            if (!_inFlight.IsEmpty && Interlocked.Exchange(ref _sweeping, 1) == 0) _sweep.Change(_sweepMs, _sweepMs);
        }
    }
}
