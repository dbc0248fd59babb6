using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Pattern;
using Akka.Persistence;

namespace DayTrading.Quotes;

/// <summary>Asks the QuoteManager for its counters; answered with <see cref="QuoteStats"/>.</summary>
public sealed class GetQuoteStats
{
    public static readonly GetQuoteStats Instance = new();
}

/// <summary>Quote-server hits so far (over the life of the data, not just this incarnation) and what they cost.</summary>
public sealed record QuoteStats(long Hits, decimal Cost, int CachedSymbols, long Requests);

/// <summary>Asks for every quote still valid (a cache resynchronising); answered with <see cref="ValidQuotes"/>.</summary>
public sealed class GetValidQuotes
{
    public static readonly GetValidQuotes Instance = new();
}

public sealed record ValidQuotes(IReadOnlyList<Quote> Quotes);

/// <summary>A snapshot of the QuoteManager: the newest quote per symbol and the hit count.</summary>
public sealed record QuoteManagerSnapshot(long Hits, IReadOnlyList<Quote> Latest);

/// <summary>
/// The cluster-wide quote singleton: one hit on the quote server per symbol per 60 s validity window, however many
/// users and nodes ask at once (single flight per symbol). Every hit is persisted before anyone uses it, so after
/// the singleton moves a quote still valid is not fetched again and the audit log lists every hit; every hit is
/// broadcast to all nodes' caches, and a new incarnation re-broadcasts what is still valid.
/// </summary>
public sealed class QuoteManagerActor : ReceivePersistentActor
{
    public const string Topic = "daytrading-quotes";
    public const string PersistenceIdValue = "quote-manager";

    private readonly IQuoteSource _source;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _fetchTimeout;
    private readonly string _server;
    private readonly DayTrading.Telemetry.NodeMetrics? _metrics;
    private readonly Dictionary<string, Quote> _latest = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<IActorRef>> _waiting = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _mediator;
    private long _hits;
    private long _requests;

    private sealed record Fetched(string Symbol, long TxNum, Quote? Quote, string? Error);

    public QuoteManagerActor(IQuoteSource source, TimeProvider clock, TimeSpan fetchTimeout, string server, DayTrading.Telemetry.NodeMetrics? metrics = null)
    {
        _source = source;
        _clock = clock;
        _fetchTimeout = fetchTimeout;
        _server = server;
        _metrics = metrics;
        _mediator = DistributedPubSub.Get(Context.System).Mediator;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not QuoteManagerSnapshot s) return;
            _hits = s.Hits;
            foreach (var q in s.Latest) _latest[q.Symbol] = q;
        });
        Recover<QuoteFetched>(f =>
        {
            _hits++;
            Keep(f.Quote);
        });
        Recover<RecoveryCompleted>(_ =>
        {
            // Caches may have missed broadcasts while no manager ran: send them everything still valid.
            var now = Now;
            foreach (var q in _latest.Values)
            {
                if (q.IsValidAt(now)) _mediator.Tell(new Publish(Topic, q));
            }
            _log.Info("quote manager recovered: {0} hits so far (cost {1:0.00}), {2} symbols cached", _hits, _hits * Quote.CostPerHit, _latest.Count);
        });

        Command<GetQuote>(OnGetQuote);
        Command<Fetched>(OnFetched);
        Command<GetQuoteStats>(_ => Sender.Tell(new QuoteStats(_hits, _hits * Quote.CostPerHit, _latest.Count, _requests)));
        Command<GetValidQuotes>(_ =>
        {
            var now = Now;
            Sender.Tell(new ValidQuotes(_latest.Values.Where(q => q.IsValidAt(now)).ToArray()));
        });
        // Hits are never deleted: they are the audit log's quoteServer entries. Snapshots only shorten recovery.
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(f => _log.Warning("quote manager snapshot failed: {0}", f.Cause.Message));
    }

    public override string PersistenceId => PersistenceIdValue;

    public static Props Props(IQuoteSource source, TimeProvider clock, TimeSpan fetchTimeout, string server, DayTrading.Telemetry.NodeMetrics? metrics = null) =>
        Akka.Actor.Props.Create(() => new QuoteManagerActor(source, clock, fetchTimeout, server, metrics));

    /// <summary>
    /// The manager as the cluster runs it: restarted with back-off (0.5 s … 10 s) when it stops, which a persistent
    /// actor does when a journal write fails or recovery fails. A cluster singleton that stops on its own is not
    /// started again, so without this one database hiccup would leave every QUOTE, BUY and SELL in the cluster
    /// waiting for their time-out until the node that hosts it left.
    /// </summary>
    public static Props SupervisedProps(IQuoteSource source, TimeProvider clock, TimeSpan fetchTimeout, string server, DayTrading.Telemetry.NodeMetrics? metrics = null) =>
        BackoffSupervisor.Props(Backoff.OnStop(Props(source, clock, fetchTimeout, server, metrics), "manager",
            TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10), 0.2, -1));

    private long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    // The write of a hit was refused: the journal stored nothing and goes on, so the hit is not used; its waiters are
    // told at once rather than left to time out, and the next request for the symbol fetches again.
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        base.OnPersistRejected(cause, @event, sequenceNr);
        if (@event is QuoteFetched f) Answer(f.Quote.Symbol, new QuoteResult(null, $"quote for {f.Quote.Symbol} could not be recorded: {cause.Message}"));
    }

    // Stopping (a failed write, a hand-over, a shutdown): whoever still waits is answered now; the fetches in flight
    // reply to an actor that is gone.
    protected override void PostStop()
    {
        foreach (var symbol in _waiting.Keys.ToArray())
            Answer(symbol, new QuoteResult(null, $"quote manager restarting; no quote for {symbol}, try again"));
        base.PostStop();
    }

    private void Keep(Quote q)
    {
        if (!_latest.TryGetValue(q.Symbol, out var existing) || q.TimestampMs >= existing.TimestampMs) _latest[q.Symbol] = q;
    }

    private void OnGetQuote(GetQuote request)
    {
        _requests++;
        if (_latest.TryGetValue(request.Symbol, out var cached) && cached.IsValidAt(Now))
        {
            Sender.Tell(new QuoteResult(cached, null));
            return;
        }
        if (_waiting.TryGetValue(request.Symbol, out var waiters))
        {
            waiters.Add(Sender);
            return;
        }
        _waiting[request.Symbol] = [Sender];
        FetchAsync(request).PipeTo(Self);
    }

    private async Task<Fetched> FetchAsync(GetQuote request)
    {
        using var cts = new CancellationTokenSource(_fetchTimeout);
        try
        {
            var quote = await _source.FetchAsync(request.Symbol, request.UserId, cts.Token).ConfigureAwait(false);
            return new Fetched(request.Symbol, request.TxNum, quote, null);
        }
        catch (OperationCanceledException)
        {
            return new Fetched(request.Symbol, request.TxNum, null, $"quote server did not answer for {request.Symbol} within {_fetchTimeout.TotalMilliseconds:0} ms");
        }
        catch (Exception ex)
        {
            return new Fetched(request.Symbol, request.TxNum, null, $"quote unavailable for {request.Symbol}: {ex.Message}");
        }
    }

    private void OnFetched(Fetched f)
    {
        if (f.Quote is null)
        {
            _log.Warning("quote fetch failed: {0}", f.Error);
            Answer(f.Symbol, new QuoteResult(null, f.Error));
            return;
        }
        // A hit costs money whether or not anyone uses it: record it before the quote is used anywhere.
        Persist(new QuoteFetched(Now, _server, f.TxNum, f.Quote), e =>
        {
            _hits++;
            _metrics?.QuoteHit();
            Keep(e.Quote);
            _mediator.Tell(new Publish(Topic, e.Quote));
            _log.Info("quote hit #{0} (cost so far {1:0.00}): {2} {3} at {4} for tx {5}", _hits, _hits * Quote.CostPerHit,
                e.Quote.Symbol, e.Quote.Price, e.Quote.TimestampMs, e.TxNum);
            Answer(e.Quote.Symbol, new QuoteResult(e.Quote, null));
            if (_hits % 1000 == 0) SaveSnapshot(new QuoteManagerSnapshot(_hits, _latest.Values.ToArray()));
        });
    }

    private void Answer(string symbol, QuoteResult result)
    {
        if (!_waiting.Remove(symbol, out var waiters)) return;
        foreach (var w in waiters) w.Tell(result);
    }
}

/// <summary>
/// Keeps this node's <see cref="NodeQuoteCache"/> fed with the QuoteManager's broadcasts. Broadcasts are
/// at-most-once, so on start it asks the manager for every valid quote instead of trusting it saw them all.
/// </summary>
public sealed class QuoteCacheSubscriber : ReceiveActor, IWithTimers
{
    public QuoteCacheSubscriber(NodeQuoteCache cache, IActorRef quoteManager)
    {
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(QuoteManagerActor.Topic, Self));
        Receive<SubscribeAck>(_ => Resync(quoteManager));
        Receive<Quote>(cache.Put);
        Receive<ValidQuotes>(v =>
        {
            foreach (var q in v.Quotes) cache.Put(q);
        });
        Receive<Status.Failure>(_ => Timers.StartSingleTimer("resync", "resync", TimeSpan.FromSeconds(5)));
        Receive<string>(_ => Resync(quoteManager));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private void Resync(IActorRef quoteManager) =>
        quoteManager.Ask<ValidQuotes>(GetValidQuotes.Instance, TimeSpan.FromSeconds(30)).PipeTo(Self);
}
