using Akka;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using DayTrading.Audit;
using DayTrading.Quotes;

namespace DayTrading.Accounts;

/// <summary>What every account entity on a node shares: clock, quotes, node name and tuning.</summary>
public sealed record AccountSettings(
    TimeProvider Clock,
    NodeQuoteCache Quotes,
    IActorRef QuoteManager,
    string ServerName,
    string JournalPluginId,
    string SnapshotPluginId,
    int SnapshotEvery = 1000,
    bool AuditAll = true,
    bool PublishChanges = false,
    TimeSpan? IdleTimeout = null,
    TimeSpan? QuoteTimeout = null,
    IActorRef? AuditRecorder = null,
    LiveAccounts? Live = null,
    DayTrading.Telemetry.NodeMetrics? Metrics = null);

/// <summary>
/// One trader: a sharded, event-sourced shell around <see cref="AccountDomain"/>. It fetches the quote a command
/// needs, lets the domain decide, persists the decision and only then answers. Commands of one user are handled
/// strictly one after another in arrival order (stashing while a quote or a write is outstanding).
/// </summary>
public sealed class AccountActor : ReceivePersistentActor, IWithTimers
{
    private const string ExpiryTimer = "expiry";

    private readonly AccountSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private AccountState _state;
    private long _eventsSinceSnapshot;

    private sealed record QuoteArrived(TradeRequest Request, IActorRef ReplyTo, long CorrelationId, Quote? Quote, string? Error);

    // Well within the gateway's 30 s: without an answer the gateway sends the request again, and this one is refused anew.
    private static readonly TimeSpan RecorderTimeout = TimeSpan.FromSeconds(10);

    private sealed record RefusalRecorded(TradeRequest Request, IActorRef ReplyTo, long CorrelationId, TradeReply Reply, Exception? Failure);

    private sealed class ExpiryDue
    {
        public static readonly ExpiryDue Instance = new();
    }

    private sealed class IdleCheck
    {
        public static readonly IdleCheck Instance = new();
    }

    private const string IdleTimer = "idle";
    private long _lastActivityMs;
    private bool _idleCheckArmed;
    private long _scheduledExpiryMs = -1;
    private bool _passivating;

    public ITimerScheduler Timers { get; set; } = null!;

    public override string PersistenceId { get; }

    public AccountActor(string userId, AccountSettings settings)
    {
        _settings = settings;
        _state = new AccountState(userId);
        _answerWhenStored = AnswerWhenStored;
        _refuseAnswering = RefuseAnswering;
        PersistenceId = PersistenceIdFor(userId);
        JournalPluginId = settings.JournalPluginId;
        SnapshotPluginId = settings.SnapshotPluginId;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is AccountSnapshot snapshot) _state = snapshot.Restore();
        });
        Recover<AccountEvent>(e =>
        {
            AccountDomain.Apply(_state, e);
            // During replay LastSequenceNr is this event's own sequence number.
            if (e is CommandHandled { RunId: { } runId } c) _state.Remembered.Add(runId, c.TxNum, LastSequenceNr);
        });
        Recover<RecoveryCompleted>(_ =>
        {
            _arrivedDuringRecovery = null; // unstashed now, and handled as usual
            ScheduleExpiry();
            if (_state.Exists) ArmIdleCheck();
        });

        Ready();
    }

    public static string PersistenceIdFor(string userId) => "account-" + userId;

    public static Props Props(string userId, AccountSettings settings) =>
        Akka.Actor.Props.Create(() => new AccountActor(userId, settings));

    private long Now => _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();

    private void Ready()
    {
        Command<GatewayRequest>(g => OnRequest(g.Request, g.CorrelationId));
        Command<TradeRequest>(r => OnRequest(r, NoCorrelation));
        Command<ExecuteTrigger>(OnExecuteTrigger);
        Command<GetAccountSummary>(_ =>
        {
            Sender.Tell(new AccountSummaryReply(_state.UserId, _state.Exists, _state.Exists ? AccountSummary.WebJson(_state, Now) : null));
            PassivateIfAbsent();
        });
        Command<ExpiryDue>(_ => ExpireDue());
        Command<WakeAccount>(_ => ExpireDue());
        // Hand-off (a node leaving) and passivation: an ordinary command, so it waits behind a write in flight and the
        // requests stashed meanwhile (PoisonPill would stop the account at once, dropping their answers).
        Command<StopAccount>(_ =>
        {
            // Something queued behind our own passivation (an ADD and a BUY after a refusal) left pending orders:
            // start again at once (the shard buffers this until the stop is done) so their expiry timer runs.
            if (_passivating && _state.HasPending) Context.Parent.Tell(new ShardRegion.StartEntity(_state.UserId));
            Context.Stop(Self);
        });
        Command<IdleCheck>(_ =>
        {
            // An account with pending reservations stays alive: its expiry timer must fire even if the user is gone.
            var idle = _settings.IdleTimeout ?? TimeSpan.FromMinutes(2);
            // Over the node's limit of live accounts (a flood of distinct ids), one with nothing pending goes at once.
            if (!_state.HasPending && (Now - _lastActivityMs >= idle.TotalMilliseconds || _settings.Live?.OverLimit == true)) PassivateSelf();
        });
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning("snapshot of {0} failed: {1}", PersistenceId, f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    private void AwaitingQuote()
    {
        Command<QuoteArrived>(q =>
        {
            Become(Ready);
            Stash.UnstashAll();
            Handle(q.Request, q.ReplyTo, q.CorrelationId, q.Quote, q.Error);
        });
        Command<IdleCheck>(_ => { });
        // Expiries and trigger fires do not wait for a quote (a slow quote server answers after seconds): they change
        // the books now, and the waiting request is decided afterwards on the books as they are then.
        Command<ExpiryDue>(_ => ExpireDue());
        Command<WakeAccount>(_ => ExpireDue());
        Command<ExecuteTrigger>(OnExecuteTrigger);
        CommandAny(_ => Stash.Stash());
    }

    // A plain TradeRequest (an Ask) is answered with a plain TradeReply; a gateway's with its correlation id.
    private const long NoCorrelation = 0;

    private static void Reply(IActorRef to, long correlationId, TradeReply reply) =>
        to.Tell(correlationId == NoCorrelation ? reply : new GatewayReply(correlationId, reply));

    private void OnRequest(TradeRequest request, long correlationId)
    {
        _lastActivityMs = Now;
        var refusedAsAbsent = !_state.Exists && _settings.AuditRecorder is not null;
        if (!refusedAsAbsent) ArmIdleCheck();
        if (_settings.Live?.OverLimit == true) Self.Tell(IdleCheck.Instance); // handled after this request
        MaybeSnapshot();
        if (request.RunId is not null)
        {
            // A retry of a request already applied: answer as the first time, change nothing (SPEC §4).
            if (_state.Remembered.TryGet(request.RunId, request.TxNum, out var sequenceNr))
            {
                ReadRememberedOutcome(request, Sender, correlationId, sequenceNr);
                return;
            }
            if (_state.TryGetCarriedOutcome(request.RunId, request.TxNum, out var carried))
            {
                // Carried over from an AS1 snapshot, which kept only the command of the request.
                if (carried.Kind == request.Kind) Reply(Sender, correlationId, AccountReplies.For(request, _state, carried, Now));
                else Handle(request, Sender, correlationId, null, null, AccountDomain.ReusedKey(request));
                return;
            }
        }

        if (refusedAsAbsent && RefuseAbsent(request, correlationId)) return;
        ArmIdleCheck();

        if (_state.Exists && AccountDomain.NeedsQuote(request.Kind) && Rules.IsValidSymbol(request.Symbol))
        {
            var fromCache = _settings.Quotes.TryGetValid(request.Symbol!, Now, out var cached);
            _settings.Metrics?.QuoteLookup(fromCache);
            if (fromCache)
            {
                Handle(request, Sender, correlationId, cached, null);
                return;
            }
            AskQuote(request, Sender, correlationId);
            return;
        }

        Handle(request, Sender, correlationId, null, null);
    }

    // Its own method: the lambdas' captures would otherwise be allocated on every request, not only on a cache miss.
    private void AskQuote(TradeRequest request, IActorRef replyTo, long correlationId)
    {
        var timeout = _settings.QuoteTimeout ?? TimeSpan.FromSeconds(15);
        _settings.QuoteManager.Ask<QuoteResult>(new GetQuote(request.Symbol!, _state.UserId, request.TxNum), timeout)
            .PipeTo(Self,
                success: r => new QuoteArrived(request, replyTo, correlationId, r.Quote, r.Error),
                failure: ex => new QuoteArrived(request, replyTo, correlationId, null, $"quote for {request.Symbol} unavailable: {ex.GetBaseException().Message}"));
        Become(AwaitingQuote);
    }

    // State is applied before the write and the answer after it. Persist stashes every other message until the
    // write is done, so nobody sees the new state early. If the journal rejects the write, the requester is told
    // nothing changed and the account restarts from the journal (OnPersistRejected); if the write fails, the actor
    // stops and recovers on its next message. Either way nothing that was applied but not stored survives.
    // With a refusal the request is not decided but refused with it (and audited like any refusal).
    private void Handle(TradeRequest request, IActorRef replyTo, long correlationId, Quote? quote, string? quoteError, string? refusal = null)
    {
        if (quote is not null) _settings.Quotes.Put(quote);
        var now = Now;
        var expired = ApplyExpiry(now);

        var handled = refusal is null
            ? AccountDomain.Decide(_state, request, quote, now, _settings.ServerName, quoteError)
            : AccountDomain.Refuse(request, now, _settings.ServerName, refusal);
        AccountDomain.Apply(_state, handled);
        _settings.Metrics?.RequestHandled(handled.Ok);
        var reply = handled.Ok
            ? AccountReplies.Success(request, _state, handled.Quote, AccountReplies.SharesOf(handled), now)
            : TradeReply.Failure(request, handled.Reason, handled.Error!);
        if (expired is not null || (handled.Ok && handled.Changes.Length > 0)) ScheduleExpiry();
        if (!_settings.AuditAll && handled.Changes.Length == 0 && expired is null)
        {
            // Auditing off (benchmarks only): a request that changed nothing is answered without a journal write,
            // so it is neither audited nor remembered for retries.
            Reply(replyTo, correlationId, reply);
            return;
        }
        var changed = expired is not null || (handled.Ok && handled.Changes.Length > 0);
        _answering = new Answering(request, replyTo, correlationId, reply, changed);
        _owedOnRejection = _refuseAnswering;
        PersistAll(WithExpiry(expired, handled), _answerWhenStored);
    }

    // The request whose write is in flight and its answer (at most one: PersistAll stashes everything else). Kept in
    // a field with cached handlers rather than in closures: no delegate or capture per request.
    private readonly record struct Answering(TradeRequest Request, IActorRef ReplyTo, long CorrelationId, TradeReply Reply, bool Changed);

    private Answering _answering;
    private readonly Action<AccountEvent> _answerWhenStored;
    private readonly Action<string> _refuseAnswering;

    private void AnswerWhenStored(AccountEvent e)
    {
        CountForSnapshot();
        if (e is not CommandHandled) return; // the expiry before it needs no answer
        var a = _answering;
        _answering = default;
        _owedOnRejection = null;
        // Remembered only once stored: a refused write leaves nothing to answer a resend from.
        if (a.Request.RunId is not null) _state.Remembered.Add(a.Request.RunId, a.Request.TxNum, LastSequenceNr);
        Reply(a.ReplyTo, a.CorrelationId, a.Reply);
        if (a.Changed) PublishChanged();
    }

    private void RefuseAnswering(string reason)
    {
        var a = _answering;
        _answering = default;
        Reply(a.ReplyTo, a.CorrelationId, TradeReply.Failure(a.Request, RefusalReason.NotDone, reason));
    }

    // The decision was made on the books after the expiry: one atomic write, so the journal stores both or neither.
    private static AccountEvent[] WithExpiry(ReservationsExpired? expired, AccountEvent decided) =>
        expired is null ? [decided] : [expired, decided];

    // The outcome of a retried request is read back from its CommandHandled event; meanwhile later messages wait,
    // so the user's order holds.
    private void ReadRememberedOutcome(TradeRequest request, IActorRef replyTo, long correlationId, long sequenceNr)
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(Context.System).JournalFor(JournalPluginId);
        Context.ActorOf(RememberedOutcomeReader.Props(journal, PersistenceId, sequenceNr, request, replyTo, correlationId));
        Become(AwaitingRememberedOutcome);
    }

    private void AwaitingRememberedOutcome()
    {
        Command<RememberedOutcomeRead>(read =>
        {
            Become(Ready);
            Stash.UnstashAll();
            // A different request under a used run id and number is no retry: refused, and audited as such.
            if (read.Event is CommandHandled c && !AccountDomain.IsSameRequest(c, read.Request))
                Handle(read.Request, read.ReplyTo, read.CorrelationId, null, null, AccountDomain.ReusedKey(read.Request));
            else Reply(read.ReplyTo, read.CorrelationId, AnswerRetry(read));
        });
        Command<IdleCheck>(_ => { });
        CommandAny(_ => Stash.Stash());
    }

    // A user with no account keeps nothing on this node: a request refused for it (anything but a valid ADD) is
    // recorded by the node's audit recorder instead of in "account-<id>", which would start a journal stream per
    // unknown id, and the entity passivates once it has answered. Decided by the domain, so the refusal is the same.
    private bool RefuseAbsent(TradeRequest request, long correlationId)
    {
        var refused = AccountDomain.Decide(_state, request, null, Now, _settings.ServerName);
        if (refused.Ok) return false; // an ADD: it creates the account
        _settings.Metrics?.RequestHandled(false);
        var reply = TradeReply.Failure(request, refused.Reason, refused.Error!);
        if (!_settings.AuditAll)
        {
            Reply(Sender, correlationId, reply);
            PassivateIfAbsent();
            return true;
        }
        var rejected = new RequestRejected(refused.TimestampMs, refused.Server, request.TxNum, request.RunId, request.Kind.Name(), request.UserId,
            request.Symbol, AuditProjection.HasFunds(request.Kind) ? request.Amount : null, request.FileName, refused.Error!);
        var replyTo = Sender;
        _settings.AuditRecorder!.Ask<Done>(rejected, RecorderTimeout)
            .PipeTo(Self, success: _ => new RefusalRecorded(request, replyTo, correlationId, reply, null),
                failure: ex => new RefusalRecorded(request, replyTo, correlationId, reply, ex));
        Become(AwaitingRecorder);
        return true;
    }

    private void AwaitingRecorder()
    {
        Command<RefusalRecorded>(r =>
        {
            Become(Ready);
            Stash.UnstashAll();
            if (r.Failure is null) Reply(r.ReplyTo, r.CorrelationId, r.Reply);
            else
            {
                // Not recorded, so not refused yet: the requester hears at once that the journal (through the
                // recorder) could not take it and retries under the same run id and N, which the recorder
                // deduplicates; no waiting for the gateway's time-out while the store is down.
                _log.Warning("refusal of [{0}] for unknown user {1} not recorded: {2}", r.Reply.TxNum, _state.UserId, r.Failure.GetBaseException().Message);
                Reply(r.ReplyTo, r.CorrelationId, JournalUnavailable(r.Request, r.Failure));
            }
            PassivateIfAbsent();
        });
        Command<IdleCheck>(_ => { });
        CommandAny(_ => Stash.Stash());
    }

    private TradeReply AnswerRetry(RememberedOutcomeRead read)
    {
        var request = read.Request;
        if (read.Event is not CommandHandled c || c.TxNum != request.TxNum || c.RunId != request.RunId)
        {
            _log.Warning("the outcome of retried request {0}/{1} of {2} could not be read: {3}", request.RunId, request.TxNum, PersistenceId, read.Error ?? "no such event");
            return TradeReply.Failure(request, RefusalReason.NotDone, $"the earlier outcome of transaction {request.TxNum} could not be read; nothing was done, send it again");
        }
        return AccountReplies.For(request, _state, new RememberedOutcome(c.Kind, c.Error, c.Quote, AccountReplies.SharesOf(c), c.Reason), Now);
    }

    // A periodic idle check instead of ReceiveTimeout, which would re-arm a timer on every message. Armed only for
    // an entity that stays: an unknown id refused and passivated at once never schedules one, because the scheduler
    // keeps a cancelled timer (and through it the stopped actor) until its wheel next passes that slot (~5 s).
    private void ArmIdleCheck()
    {
        if (_idleCheckArmed) return; // a field, not Timers.IsTimerActive: this runs on every request
        _idleCheckArmed = true;
        var idle = _settings.IdleTimeout ?? TimeSpan.FromMinutes(2);
        Timers.StartPeriodicTimer(IdleTimer, IdleCheck.Instance, idle / 2);
    }

    private void PassivateIfAbsent()
    {
        if (!_state.Exists) PassivateSelf();
    }

    private void PassivateSelf()
    {
        if (_passivating) return;
        _passivating = true;
        Context.Parent.Tell(new Passivate(StopAccount.Instance));
    }

    protected override void PreStart()
    {
        _settings.Live?.Started();
        base.PreStart();
    }

    protected override void PostStop()
    {
        _settings.Live?.Stopped();
        base.PostStop();
    }

    private void OnExecuteTrigger(ExecuteTrigger fire)
    {
        MaybeSnapshot();
        var now = Now;
        var expired = ApplyExpiry(now);
        if (expired is not null) ScheduleExpiry();
        var executed = AccountDomain.DecideTrigger(_state, fire.Side, fire.Symbol, fire.Version, fire.Quote, now, _settings.ServerName);
        if (executed is null)
        {
            PersistApplied(expired);
            Sender.Tell(new TriggerOutcome(fire.UserId, fire.Side, fire.Symbol, false, "trigger not armed at that version, or the quote does not cross it"));
            return;
        }
        AccountDomain.Apply(_state, executed);
        _settings.Metrics?.TriggerFired();
        var replyTo = Sender;
        _owedOnRejection = reason => replyTo.Tell(new TriggerOutcome(fire.UserId, fire.Side, fire.Symbol, false, reason));
        PersistAll(WithExpiry(expired, executed), e =>
        {
            CountForSnapshot();
            if (e is not TriggerExecuted) return;
            _owedOnRejection = null;
            replyTo.Tell(new TriggerOutcome(fire.UserId, fire.Side, fire.Symbol, true, null));
            PublishChanged();
        });
    }

    private void ExpireDue()
    {
        _scheduledExpiryMs = -1; // this timer has fired: whatever is still pending needs a new one
        PersistApplied(ApplyExpiry(Now));
        ScheduleExpiry();
    }

    /// <summary>Releases, in the state, whatever pending order is due at <paramref name="now"/>; the event to persist, or null.</summary>
    private ReservationsExpired? ApplyExpiry(long now)
    {
        var expired = AccountDomain.Expire(_state, now, _settings.ServerName);
        if (expired is null) return null;
        AccountDomain.Apply(_state, expired);
        _settings.Metrics?.OrdersExpired(expired.Changes.Length);
        return expired;
    }

    /// <summary>Persists an expiry already applied; nobody waits for it.</summary>
    private void PersistApplied(ReservationsExpired? e)
    {
        if (e is null) return;
        Persist(e, _ =>
        {
            CountForSnapshot();
            PublishChanged();
        });
    }

    private void CountForSnapshot() => _eventsSinceSnapshot++;

    // Live views subscribe per user; with none, the mediator drops the message locally.
    private void PublishChanged()
    {
        if (!_settings.PublishChanges) return;
        _mediator ??= Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.Get(Context.System).Mediator;
        // The same immutable message every time: no topic string, notice and envelope per change.
        _changed ??= new Akka.Cluster.Tools.PublishSubscribe.Publish(AccountTopics.For(_state.UserId), new AccountChanged(_state.UserId));
        _mediator.Tell(_changed);
    }

    private IActorRef? _mediator;
    private Akka.Cluster.Tools.PublishSubscribe.Publish? _changed;

    // Called only when no write is outstanding (a new message is being handled), so the state captured is exactly
    // the state at LastSequenceNr and no eagerly applied event slips into a snapshot before it is persisted.
    private void MaybeSnapshot()
    {
        if (_eventsSinceSnapshot < _settings.SnapshotEvery) return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(AccountSnapshot.Capture(_state));
    }

    private void ScheduleExpiry()
    {
        var next = _state.EarliestExpiryMs() ?? -1;
        if (next == _scheduledExpiryMs) return; // the timer already points there
        _scheduledExpiryMs = next;
        if (next < 0)
        {
            Timers.Cancel(ExpiryTimer);
            return;
        }
        var delay = TimeSpan.FromMilliseconds(Math.Max(0, Math.Max(next, _expiryHeldUntilMs) - Now) + 1);
        Timers.StartSingleTimer(ExpiryTimer, ExpiryDue.Instance, delay);
    }

    // Who waits for the write in flight (there is at most one: Persist stashes everything else), and how to tell
    // them it was refused.
    private Action<string>? _owedOnRejection;

    /// <summary>Thrown to restart an account whose write the journal refused, so it recovers from the journal.</summary>
    private sealed class WriteRefusedException(string message, Exception cause) : Exception(message, cause);

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        var owed = _owedOnRejection;
        _owedOnRejection = null;
        owed?.Invoke($"not done, nothing changed: the journal refused to store it ({cause.GetBaseException().Message})");
        // The books already hold what was refused (the idempotency memory is written only once stored). Restarting
        // recovers them from the journal; the messages stashed meanwhile are kept and handled after recovery.
        throw new WriteRefusedException($"the journal refused event {sequenceNr} of {PersistenceId}; the account restarts from the journal", cause);
    }

    protected override void PostRestart(Exception reason)
    {
        // An overdue expiry the journal refused is not tried again at once: a write refused every time must not
        // spin the account through restarts.
        if (reason is WriteRefusedException) _expiryHeldUntilMs = Now + 1000;
        base.PostRestart(reason);
    }

    private long _expiryHeldUntilMs;

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "persisting event {0} of {1} failed; the account stops and recovers from the journal", sequenceNr, PersistenceId);
        // Answered now rather than left to the gateway's time-out: the journal is down, and the requester should
        // hear so at once. Not "not done": a write whose answer was lost (the store went away after receiving it)
        // may be durable, and the account recovering from the journal is what tells; a retry under the same run id
        // and number is then answered with its first outcome, or applied if it never was.
        var a = _answering;
        _answering = default;
        _owedOnRejection = null;
        if (a.ReplyTo is not null) Reply(a.ReplyTo, a.CorrelationId, JournalUnavailable(a.Request, cause));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <summary>The answer to a request the journal could not take or the account could not recover for.</summary>
    internal static TradeReply JournalUnavailable(TradeRequest request, Exception cause) =>
        TradeReply.Failure(request, RefusalReason.OutcomeUnknown,
            $"{JournalUnavailablePrefix} ({Brief(cause)}); the outcome is unknown, retry with the same run id and transaction number");

    // The answer is one protocol line for a client: the store's own first sentence, not the driver's diagnostics
    // (StackExchange.Redis appends a kilobyte of connection state after "; "). The runtime log has the whole exception.
    private static string Brief(Exception cause)
    {
        var text = (cause is AggregateException ? cause.GetBaseException() : cause).Message.ReplaceLineEndings(" ");
        var clause = text.IndexOf("; ", StringComparison.Ordinal);
        if (clause > 0) text = text[..clause];
        return text.Length <= 200 ? text : text[..200] + "…";
    }

    /// <summary>How <see cref="JournalUnavailable"/>'s text starts (clients tell it from a refusal by it).</summary>
    public const string JournalUnavailablePrefix = "journal unavailable";

    // Requests that reach an account while it recovers wait in Akka's internal stash, and a failed recovery stops the
    // account with them still there (they go to dead letters). Noted here so that a recovery failing because the
    // journal is unreachable answers them with the reason, instead of each waiting for the gateway's time-out.
    private List<(TradeRequest Request, IActorRef ReplyTo, long CorrelationId)>? _arrivedDuringRecovery;

    protected override bool AroundReceive(Receive receive, object message)
    {
        if (IsRecovering)
        {
            switch (message)
            {
                case GatewayRequest g:
                    (_arrivedDuringRecovery ??= []).Add((g.Request, Sender, g.CorrelationId));
                    break;
                case TradeRequest r:
                    (_arrivedDuringRecovery ??= []).Add((r, Sender, NoCorrelation));
                    break;
            }
        }
        return base.AroundReceive(receive, message);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        var waiting = _arrivedDuringRecovery;
        _arrivedDuringRecovery = null;
        if (waiting is not null)
        {
            foreach (var (request, replyTo, correlationId) in waiting) Reply(replyTo, correlationId, JournalUnavailable(request, reason));
        }
        base.OnRecoveryFailure(reason, message);
    }
}
