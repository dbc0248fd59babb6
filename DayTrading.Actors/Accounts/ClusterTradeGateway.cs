using Akka;
using Akka.Actor;
using Akka.Event;
using DayTrading.Audit;

namespace DayTrading.Accounts;

/// <summary>What the node's gateway needs.</summary>
public sealed record GatewaySettings(
    ActorSystem System,
    IActorRef AccountRegion,
    IActorRef AuditRecorder,
    IActorRef Auditor,
    string ServerName,
    TimeProvider Clock,
    string DumpDirectory)
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>This node's metrics (resends); null counts nothing.</summary>
    public DayTrading.Telemetry.NodeMetrics? Metrics { get; init; }

    /// <summary>
    /// A request not answered within this is sent to its account again (same run id and N), until
    /// <see cref="Timeout"/>: a message in flight while a shard moves (a node leaving) or to a node that just died
    /// can be lost, and the account answers a repeat from memory without applying it twice.
    /// </summary>
    public TimeSpan ResendAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Where resends are told (the node's runtime log); null: not told.</summary>
    public ILoggingAdapter? Log { get; init; }

    /// <summary>How long a DUMPLOG may take to write (a dump of millions of entries streams for a while).</summary>
    public TimeSpan DumpTimeout { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// The edges' way into the cluster: each request goes to its trader's entity, wherever that lives; DUMPLOG is
/// recorded like any request, then the Auditor singleton writes it from the journal (the audit store).
/// </summary>
public sealed class ClusterTradeGateway : ITradeGateway
{
    private readonly GatewaySettings _settings;
    private readonly GatewayReplies _replies;
    private readonly bool _admin;

    /// <summary>The node's gateway (one per node: every edge shares its reply collector); not an admin's.</summary>
    public ClusterTradeGateway(GatewaySettings settings)
    {
        _settings = settings;
        _replies = new GatewayReplies(((ExtendedActorSystem)settings.System).Provider, settings.AccountRegion, settings.ResendAfter, OnResend, NoAnswer, settings.Metrics);
    }

    private ClusterTradeGateway(ClusterTradeGateway shared)
    {
        _settings = shared._settings;
        _replies = shared._replies;
        _admin = true;
    }

    /// <summary>
    /// The same gateway for a caller that may run the system-wide DUMPLOG (an admin login, an admin TCP edge); the
    /// right belongs to the caller, so each edge decides who gets this one.
    /// </summary>
    public ClusterTradeGateway WithAdminRights() => _admin ? this : new ClusterTradeGateway(this);

    private long Now => _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Account requests sent and not yet answered (for tests and metrics).</summary>
    public int InFlight => _replies.Count;

    public Task<TradeReply> Execute(TradeRequest request, CancellationToken cancellationToken = default)
    {
        if (request.Kind == CommandKind.DumpLog) return DumpLog(request, cancellationToken);
        var waiting = new ReplyTask();
        Send(request, waiting, 0);
        return cancellationToken.CanBeCanceled ? waiting.Task.WaitAsync(cancellationToken) : waiting.Task;
    }

    public void Submit(TradeRequest request, ITradeReplySink sink, long token)
    {
        if (request.Kind != CommandKind.DumpLog)
        {
            Send(request, sink, token);
            return;
        }
        ReplySinks.WhenDone(DumpLog(request, CancellationToken.None), request, sink, token);
    }

    public Task RecordRejected(long txNum, string? runId, string? command, string? userId, string reason) =>
        _settings.AuditRecorder.Ask<Done>(new RequestRejected(Now, _settings.ServerName, txNum, runId, command, userId, null, null, null, reason), _settings.Timeout);

    // Akka delivers at most once, and sharding says so for hand-over: a request (or its answer) in flight while its
    // shard moves can be dropped. So the gateway delivers at least once and the account deduplicates by (run id, N).
    // A request without a client run id gets a delivery id of its own ("~…", which no client run id can be): its
    // repeats are recognised, yet two client requests are still never taken for one another (SPEC §4).
    private void Send(TradeRequest request, ITradeReplySink sink, long token)
    {
        var deliverable = request.RunId is null ? request with { RunId = DeliveryIds.Next() } : request;
        _replies.Send(deliverable, sink, token, _settings.Timeout);
    }

    private void OnResend(TradeRequest r, int attempt, TimeSpan waited)
    {
        _settings.Metrics?.RequestResent();
        _settings.Log?.Info("no answer for [{0}] {1} of {2} within {3:0.#} s (attempt {4}); sending it again",
            r.TxNum, r.Kind.Name(), r.UserId, waited.TotalSeconds, attempt);
    }

    private TradeReply NoAnswer(TradeRequest request) =>
        TradeReply.Failure(request, RefusalReason.OutcomeUnknown, $"no answer from account {request.UserId} within {_settings.Timeout.TotalSeconds:0.###} s; the outcome is unknown, retry with the same run id and transaction number");

    /// <summary>A reply as a task, for the callers that await one (the web, DUMPLOG's recording step).</summary>
    private sealed class ReplyTask : TaskCompletionSource<TradeReply>, ITradeReplySink
    {
        public ReplyTask() : base(TaskCreationOptions.RunContinuationsAsynchronously) { }

        public void OnReply(long token, TradeReply reply) => TrySetResult(reply);
    }

    /// <summary>
    /// Asks <paramref name="target"/>, and asks again with the same message every <see cref="GatewaySettings.ResendAfter"/>
    /// without an answer, until <paramref name="total"/> has passed (null then). The receiver must take a repeat as
    /// the same request.
    /// </summary>
    private async Task<T?> AskUntilAnswered<T>(IActorRef target, object message, TimeSpan total, CancellationToken cancellationToken) where T : class
    {
        var deadline = Environment.TickCount64 + (long)total.TotalMilliseconds;
        while (true)
        {
            var left = TimeSpan.FromMilliseconds(deadline - Environment.TickCount64);
            var wait = left < _settings.ResendAfter ? left : _settings.ResendAfter;
            if (wait <= TimeSpan.Zero) return null;
            try
            {
                return await target.Ask<T>(message, wait, cancellationToken).ConfigureAwait(false);
            }
            catch (AskTimeoutException)
            {
                // still working (a dump), or the ask was lost: ask again under the same dump id
            }
        }
    }

    private async Task<TradeReply> DumpLog(TradeRequest request, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var reply = await WriteDump(request, cancellationToken).ConfigureAwait(false);
        _settings.Metrics?.RequestCompleted(CommandKind.DumpLog, RequestOutcomes.Of(reply), started);
        return reply;
    }

    private async Task<TradeReply> WriteDump(TradeRequest request, CancellationToken cancellationToken)
    {
        // Checked here against this node's dump directory so a refusal is recorded like every refused request;
        // the Auditor checks again where it writes.
        string? refusal = null;
        if (request.UserId is null && !_admin) refusal = "DUMPLOG without a user is for administrators; this edge is not an admin edge";
        else if (!DumpPaths.TryResolve(_settings.DumpDirectory, request.FileName ?? "", out _, out var pathError)) refusal = pathError;
        if (refusal is not null)
        {
            await RecordRefusal(request, refusal).ConfigureAwait(false);
            return TradeReply.Failure(request, RefusalReason.InvalidRequest, refusal);
        }

        // The request is recorded first (it is part of the log it dumps), like every other request.
        if (request.UserId is null)
        {
            var recorded = await _settings.AuditRecorder.Ask<object>(new AdminDumpRequested(Now, _settings.ServerName, request.TxNum, request.RunId, request.FileName!, null), _settings.Timeout)
                .ConfigureAwait(false);
            // A different request already used this run id and N: the recorder audited the refusal; no dump.
            if (recorded is DumpResult { Ok: false } reused) return TradeReply.Failure(request, RefusalReason.InvalidRequest, reused.Text);
        }
        else
        {
            var waiting = new ReplyTask();
            Send(request, waiting, 0);
            var recorded = await waiting.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!recorded.Ok)
            {
                // The account audits its own refusals; only a request it never answered is not in the log yet.
                if (recorded.Reason == RefusalReason.OutcomeUnknown) await RecordDumpFailure(request, recorded.Error!).ConfigureAwait(false);
                return recorded;
            }
        }

        // The Auditor singleton may be moving (its node leaving), or still writing: ask again under the same dump id
        // until it answers; a repeat joins the dump already running instead of writing the file twice.
        var dump = new WriteDump(request.FileName!, request.UserId, (request.RunId ?? DeliveryIds.Next()) + ":" + request.TxNum);
        var result = await AskUntilAnswered<DumpResult>(_settings.Auditor, dump, _settings.DumpTimeout, cancellationToken).ConfigureAwait(false);
        if (result is { Ok: true }) return TradeReply.Success(request, result.Text);
        // Recorded as a userCommand above, so its failure gets its errorEvent.
        var failure = result?.Text ?? $"the auditor did not finish the dump within {_settings.DumpTimeout.TotalMinutes:0} min";
        await RecordDumpFailure(request, failure).ConfigureAwait(false);
        return TradeReply.Failure(request, RefusalReason.DumpFailed, failure);
    }

    private Task RecordDumpFailure(TradeRequest request, string error) =>
        _settings.AuditRecorder.Ask<Done>(new DumpFailed(Now, _settings.ServerName, request.TxNum, request.RunId, request.UserId, request.FileName!, error), _settings.Timeout);

    private Task RecordRefusal(TradeRequest request, string reason) =>
        _settings.AuditRecorder.Ask<Done>(new RequestRejected(Now, _settings.ServerName, request.TxNum, request.RunId, CommandKind.DumpLog.Name(), request.UserId,
            null, null, request.FileName, reason), _settings.Timeout);
}

/// <summary>Delivery ids for requests that came without a run id: unique per process and request.</summary>
internal static class DeliveryIds
{
    private static readonly string Prefix = "~" + Convert.ToHexString(Guid.NewGuid().ToByteArray().AsSpan(0, 6)).ToLowerInvariant() + ".";
    private static long _next;

    public static string Next() => Prefix + Interlocked.Increment(ref _next).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
