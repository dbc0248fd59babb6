using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;

namespace DayTrading.Quotes;

/// <summary>
/// The cluster-wide quote singleton: one hit on the quote server per symbol per 60 s validity window, however many
/// users and nodes ask at once (single flight per symbol), and every fetched quote broadcast to all nodes' caches.
/// </summary>
public sealed class QuoteManagerActor : ReceiveActor
{
    public const string Topic = "daytrading-quotes";

    private readonly IQuoteSource _source;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _fetchTimeout;
    private readonly Dictionary<string, Quote> _latest = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<IActorRef>> _waiting = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _mediator;
    private long _hits;

    private sealed record Fetched(string Symbol, Quote? Quote, string? Error);

    public QuoteManagerActor(IQuoteSource source, TimeProvider clock, TimeSpan fetchTimeout)
    {
        _source = source;
        _clock = clock;
        _fetchTimeout = fetchTimeout;
        _mediator = DistributedPubSub.Get(Context.System).Mediator;

        Receive<GetQuote>(OnGetQuote);
        Receive<Fetched>(OnFetched);
    }

    public static Props Props(IQuoteSource source, TimeProvider clock, TimeSpan fetchTimeout) =>
        Akka.Actor.Props.Create(() => new QuoteManagerActor(source, clock, fetchTimeout));

    private void OnGetQuote(GetQuote request)
    {
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        if (_latest.TryGetValue(request.Symbol, out var cached) && cached.IsValidAt(now))
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
        _hits++;
        FetchAsync(request.Symbol, request.UserId).PipeTo(Self);
    }

    private async Task<Fetched> FetchAsync(string symbol, string userId)
    {
        using var cts = new CancellationTokenSource(_fetchTimeout);
        try
        {
            var quote = await _source.FetchAsync(symbol, userId, cts.Token).ConfigureAwait(false);
            return new Fetched(symbol, quote, null);
        }
        catch (OperationCanceledException)
        {
            return new Fetched(symbol, null, $"quote server did not answer for {symbol} within {_fetchTimeout.TotalMilliseconds:0} ms");
        }
        catch (Exception ex)
        {
            return new Fetched(symbol, null, $"quote unavailable for {symbol}: {ex.Message}");
        }
    }

    private void OnFetched(Fetched f)
    {
        _waiting.Remove(f.Symbol, out var waiters);
        var result = new QuoteResult(f.Quote, f.Error);
        if (f.Quote is not null)
        {
            _latest[f.Symbol] = f.Quote;
            _mediator.Tell(new Publish(Topic, f.Quote));
            _log.Debug("quote hit #{0}: {1} {2} at {3}", _hits, f.Symbol, f.Quote.Price, f.Quote.TimestampMs);
        }
        else
        {
            _log.Warning("quote fetch failed: {0}", f.Error);
        }
        if (waiters is null) return;
        foreach (var w in waiters) w.Tell(result);
    }
}

/// <summary>Keeps this node's <see cref="NodeQuoteCache"/> fed with the QuoteManager's broadcasts.</summary>
public sealed class QuoteCacheSubscriber : ReceiveActor
{
    public QuoteCacheSubscriber(NodeQuoteCache cache)
    {
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(QuoteManagerActor.Topic, Self));
        Receive<SubscribeAck>(_ => { });
        Receive<Quote>(cache.Put);
    }
}
