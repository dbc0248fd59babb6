using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using DayTrading.Accounts;
using DayTrading.Persistence;
using DayTrading.Quotes;

namespace DayTrading.Triggers;

public sealed record AutoTxOptions
{
    /// <summary>How often the quotes of symbols with armed triggers are refreshed (SPEC §3: default 60 s).</summary>
    public TimeSpan RefreshPeriod { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the journal is read for new trigger changes once the index has caught up.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    public int PageSize { get; init; } = 2000;

    public TimeSpan FireTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// After a fire the account did not answer, or a refresh the QuoteManager could not serve (both happen while a
    /// node dies or a singleton moves), the same is tried again this much later instead of at the next refresh.
    /// </summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// The cluster-wide trigger engine (singleton). Its index of armed triggers is a projection of the journal, rebuilt
/// from the start whenever the singleton starts, so a move or a crash loses nothing. Every quote the cluster sees
/// (the QuoteManager's broadcasts, and its own periodic refreshes — one per watched symbol) is checked against the
/// index; a crossing asks the account to execute. The account executes only a trigger still armed at the same
/// version, so a repeated or late request (from this or a previous incarnation) fires nothing twice.
/// </summary>
public sealed class AutoTxManagerActor : ReceiveActor, IWithTimers
{
    private const string PollTimer = "poll";
    private const string RefreshTimer = "refresh";

    private readonly IEventLogReader _reader;
    private readonly IActorRef _accounts;
    private readonly IActorRef _quoteManager;
    private readonly NodeQuoteCache _quotes;
    private readonly TimeProvider _clock;
    private readonly AutoTxOptions _options;
    private readonly TriggerIndex _index = new();
    private readonly Dictionary<(string User, TradeSide Side, string Symbol, long Version), bool> _requested = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _offset;
    private bool _caughtUp;
    private long _fired;
    private long _refreshes;

    private sealed record Page(IReadOnlyList<EventLogEntry> Entries);
    private sealed record PageFailed(Exception Cause);
    private sealed record FireFailed(ArmedTrigger Trigger, string Reason);
    private sealed record RefreshResult(string Symbol, QuoteResult Result);
    private sealed record RetryFire(ArmedTrigger Trigger);
    private sealed record RefreshSymbol(string Symbol);

    private sealed class Poll
    {
        public static readonly Poll Instance = new();
    }

    private sealed class Refresh
    {
        public static readonly Refresh Instance = new();
    }

    /// <summary>Asks for the engine's counters; answered with <see cref="AutoTxStatus"/>.</summary>
    public sealed class GetStatus
    {
        public static readonly GetStatus Instance = new();
    }

    public sealed record AutoTxStatus(bool CaughtUp, long Offset, int Armed, int WatchedSymbols, long Fired, long Refreshes);

    public ITimerScheduler Timers { get; set; } = null!;

    public AutoTxManagerActor(IEventLogReader reader, IActorRef accounts, IActorRef quoteManager, NodeQuoteCache quotes, TimeProvider clock, AutoTxOptions options)
    {
        _reader = reader;
        _accounts = accounts;
        _quoteManager = quoteManager;
        _quotes = quotes;
        _clock = clock;
        _options = options;

        Receive<Page>(OnPage);
        Receive<PageFailed>(f =>
        {
            _log.Warning("reading the journal for triggers failed, retrying: {0}", f.Cause.Message);
            Timers.StartSingleTimer(PollTimer, Poll.Instance, TimeSpan.FromSeconds(1));
        });
        Receive<Poll>(_ => ReadNextPage());
        Receive<Quote>(Check);
        Receive<SubscribeAck>(_ => { });
        Receive<Refresh>(_ => RefreshWatched());
        Receive<RefreshResult>(r =>
        {
            if (r.Result.Quote is not null)
            {
                Check(r.Result.Quote);
                return;
            }
            // The QuoteManager could not answer (moving, restarting, its quote server down): try this symbol again soon.
            _log.Info("refreshing {0} for its triggers failed ({1}); again in {2:0.#} s", r.Symbol, r.Result.Error, _options.RetryAfter.TotalSeconds);
            Timers.StartSingleTimer(("refresh", r.Symbol), new RefreshSymbol(r.Symbol), _options.RetryAfter);
        });
        Receive<RefreshSymbol>(r => RefreshOne(r.Symbol));
        Receive<RetryFire>(r => OnRetryFire(r.Trigger));
        Receive<TriggerOutcome>(o =>
        {
            if (o.Executed)
            {
                _fired++;
                return;
            }
            // Refused (re-armed, cancelled, or the quote no longer valid there): let the next quote try again.
            foreach (var key in _requested.Keys.Where(k => k.User == o.UserId && k.Side == o.Side && k.Symbol == o.Symbol).ToArray())
                _requested.Remove(key);
        });
        Receive<FireFailed>(f =>
        {
            // The account did not answer: its outcome is unknown. Forget the request so the next quote retries it;
            // the account's version check makes a retry of an executed trigger a no-op.
            _requested.Remove((f.Trigger.UserId, f.Trigger.Side, f.Trigger.Symbol, f.Trigger.Version));
            _log.Warning("trigger {0} {1} {2} of {3}: {4}; asked again in {5:0.#} s", f.Trigger.Side, f.Trigger.Symbol, f.Trigger.Version, f.Trigger.UserId,
                f.Reason, _options.RetryAfter.TotalSeconds);
            Timers.StartSingleTimer(("fire", f.Trigger.UserId, f.Trigger.Side, f.Trigger.Symbol), new RetryFire(f.Trigger), _options.RetryAfter);
        });
        Receive<GetStatus>(_ => Sender.Tell(new AutoTxStatus(_caughtUp, _offset, _index.ArmedCount, _index.WatchedSymbols.Count, _fired, _refreshes)));
    }

    public static Props Props(IEventLogReader reader, IActorRef accounts, IActorRef quoteManager, NodeQuoteCache quotes, TimeProvider clock, AutoTxOptions options) =>
        Akka.Actor.Props.Create(() => new AutoTxManagerActor(reader, accounts, quoteManager, quotes, clock, options));

    protected override void PreStart()
    {
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(QuoteManagerActor.Topic, Self));
        Timers.StartPeriodicTimer(RefreshTimer, Refresh.Instance, _options.RefreshPeriod);
        ReadNextPage();
    }

    protected override void PostStop() => _reader.Dispose();

    // Rebuilding reads every event (journals written before trigger events were tagged have no tags); once caught
    // up, only the tagged ones: every node tags them as it writes (AccountsSetup.AddAccountEventTags).
    private void ReadNextPage() =>
        (_caughtUp ? _reader.ReadTaggedPageAsync(_offset, AccountEventTags.Trigger, _options.PageSize) : _reader.ReadPageAsync(_offset, _options.PageSize))
            .PipeTo(Self, success: p => new Page(p), failure: ex => new PageFailed(ex));

    private void OnPage(Page page)
    {
        HashSet<string>? changed = null;
        foreach (var entry in page.Entries)
        {
            if (_index.Apply(entry.PersistenceId, entry.Payload) is { } user && _caughtUp) (changed ??= new(StringComparer.Ordinal)).Add(user);
            _offset = entry.Ordering;
        }
        // A trigger armed or re-sized while its symbol already has a valid quote that crosses it fires now, not at
        // the next quote (which may be a whole refresh period away).
        if (changed is not null) CheckAgainstCachedQuotes(changed);
        if (page.Entries.Count >= _options.PageSize)
        {
            ReadNextPage();
            return;
        }
        if (!_caughtUp)
        {
            _caughtUp = true;
            _log.Info("trigger index rebuilt from the journal up to {0}: {1} armed triggers on {2} symbols", _offset, _index.ArmedCount, _index.WatchedSymbols.Count);
            // Quotes this node already holds may have crossed triggers while no engine was running.
            var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var symbol in _index.WatchedSymbols.ToArray())
            {
                if (_quotes.TryGetValid(symbol, now, out var q)) Check(q);
            }
        }
        ForgetSettledRequests();
        Timers.StartSingleTimer(PollTimer, Poll.Instance, _options.PollInterval);
    }

    private void Check(Quote quote)
    {
        _quotes.Put(quote);
        if (!_caughtUp) return; // checked once the index is complete
        if (!quote.IsValidAt(_clock.GetUtcNow().ToUnixTimeMilliseconds())) return;
        foreach (var t in _index.CrossedBy(quote).ToArray()) Fire(t, quote);
    }

    private void CheckAgainstCachedQuotes(HashSet<string> users)
    {
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var user in users)
        {
            foreach (var t in _index.ArmedOf(user))
            {
                if (_quotes.TryGetValid(t.Symbol, now, out var q) && TriggerIndex.Crosses(t, q)) Fire(t, q);
            }
        }
    }

    private void Fire(ArmedTrigger t, Quote quote)
    {
        if (!_requested.TryAdd((t.UserId, t.Side, t.Symbol, t.Version), false)) return;
        _accounts.Ask<TriggerOutcome>(new ExecuteTrigger(t.UserId, t.Side, t.Symbol, t.Version, quote), _options.FireTimeout)
            .PipeTo(Self, failure: ex => new FireFailed(t, ex.GetBaseException().Message));
    }

    private void RefreshWatched()
    {
        foreach (var symbol in _index.WatchedSymbols) RefreshOne(symbol);
    }

    private void RefreshOne(string symbol)
    {
        var first = _index.On(symbol).FirstOrDefault();
        if (first is null) return; // nothing armed on it any more
        _refreshes++;
        _quoteManager.Ask<QuoteResult>(new GetQuote(symbol, first.UserId, first.TxNum), _options.FireTimeout)
            .PipeTo(Self, success: r => new RefreshResult(symbol, r), failure: ex => new RefreshResult(symbol, new QuoteResult(null, ex.Message)));
    }

    // A fire nobody answered: ask again while the trigger is still armed at that version, with a quote still valid
    // that crosses it (the cached one, or a fresh one if it has expired meanwhile).
    private void OnRetryFire(ArmedTrigger t)
    {
        if (!_index.ArmedOf(t.UserId).Contains(t)) return; // executed, re-armed or cancelled since: settled
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (_quotes.TryGetValid(t.Symbol, now, out var q))
        {
            if (TriggerIndex.Crosses(t, q)) Fire(t, q);
            return;
        }
        RefreshOne(t.Symbol);
    }

    // A request whose trigger the journal no longer shows armed at that version is settled either way.
    private void ForgetSettledRequests()
    {
        if (_requested.Count == 0) return;
        List<(string, TradeSide, string, long)>? settled = null;
        foreach (var key in _requested.Keys)
        {
            var stillArmed = _index.On(key.Symbol).Any(t => t.UserId == key.User && t.Side == key.Side && t.Version == key.Version);
            if (!stillArmed) (settled ??= []).Add(key);
        }
        if (settled is null) return;
        foreach (var key in settled) _requested.Remove(key);
    }
}
