using System.Collections.Concurrent;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using DayTrading.Quotes;

namespace DayTrading.Host.Web;

/// <summary>One server-sent event: its name and its JSON data.</summary>
public sealed record LiveEvent(string Name, string Data);

/// <summary>One point of a symbol's quote history: the quote's time (the quote server's clock) and its price.</summary>
public readonly record struct PricePoint(long TimestampMs, decimal Price);

/// <summary>
/// What the web front end pushes to browsers: every quote the cluster fetches (the QuoteManager's
/// "daytrading-quotes" broadcast) to everyone, and a user's fresh account summary to that user's open pages.
/// Each open page has a small bounded channel; a page that does not keep up loses its oldest events.
/// It also keeps the recent quotes of each symbol for the pages' charts (<see cref="History"/>).
/// </summary>
public sealed class LiveFeed(TimeProvider? clock = null)
{
    public const int HistoryPoints = 240;
    public const int MaxHistorySymbols = 5_000;

    private readonly ConcurrentDictionary<Guid, (string User, Channel<LiveEvent> Channel)> _subscribers = new();
    private readonly ConcurrentDictionary<string, Quote> _latest = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, QuoteHistory> _history = new(StringComparer.Ordinal);
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private int _historySymbols;

    public IReadOnlyCollection<Quote> LatestQuotes => _latest.Values.OrderBy(q => q.Symbol, StringComparer.Ordinal).ToArray();

    /// <summary>The <see cref="AccountWatcher"/> that follows the watched accounts' changes cluster-wide.</summary>
    public IActorRef? Watcher { get; set; }

    public (Guid Id, ChannelReader<LiveEvent> Reader) Subscribe(string user)
    {
        var channel = Channel.CreateBounded<LiveEvent>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
        var id = Guid.NewGuid();
        _subscribers[id] = (user, channel);
        Watcher?.Tell(new AccountWatcher.Watch(user));
        return (id, channel.Reader);
    }

    public void Unsubscribe(Guid id)
    {
        if (!_subscribers.TryRemove(id, out var s)) return;
        s.Channel.Writer.TryComplete();
        Watcher?.Tell(new AccountWatcher.Unwatch(s.User));
    }

    public void PublishQuote(Quote quote)
    {
        _latest.AddOrUpdate(quote.Symbol, quote, (_, old) => quote.TimestampMs >= old.TimestampMs ? quote : old);
        HistoryFor(quote.Symbol)?.Add(new PricePoint(quote.TimestampMs, quote.Price));
        var e = new LiveEvent("quote", WebJson.Quote(quote, _clock.GetUtcNow().ToUnixTimeMilliseconds()));
        foreach (var s in _subscribers.Values) s.Channel.Writer.TryWrite(e);
    }

    /// <summary>The last (at most <see cref="HistoryPoints"/>) quotes seen for <paramref name="symbol"/>, oldest first; empty when none.</summary>
    public PricePoint[] History(string symbol) => _history.TryGetValue(symbol, out var h) ? h.Points() : [];

    /// <summary>
    /// The history of a symbol, made on its first quote. Symbols are whatever users ask for (18,278 possible), so past
    /// <see cref="MaxHistorySymbols"/> a new one is not tracked: memory stays bounded (under 30 MB of points) whatever
    /// the traffic, and the symbols already charted keep their history.
    /// </summary>
    private QuoteHistory? HistoryFor(string symbol)
    {
        if (_history.TryGetValue(symbol, out var h)) return h;
        if (Interlocked.Increment(ref _historySymbols) > MaxHistorySymbols)
        {
            Interlocked.Decrement(ref _historySymbols);
            return null;
        }
        var made = new QuoteHistory();
        if (_history.TryAdd(symbol, made)) return made;
        // Another thread made it first: its slot is the one counted.
        Interlocked.Decrement(ref _historySymbols);
        return _history.TryGetValue(symbol, out h) ? h : null;
    }

    /// <summary>A ring of the last <see cref="HistoryPoints"/> points, in time order (quotes come on an actor thread, reads on request threads).</summary>
    private sealed class QuoteHistory
    {
        private readonly Lock _lock = new();
        // Grown as points come (4, 8, … up to the limit): most symbols of a workload are quoted a few times, and a full
        // ring for each of thousands of symbols would be megabytes the node carries for charts nobody opens.
        private PricePoint[] _ring = new PricePoint[4];
        private int _start, _count;

        public void Add(PricePoint p)
        {
            lock (_lock)
            {
                // The same quote broadcast again, or one overtaken by a newer: the series only moves forward, so a
                // chart never draws a point twice or goes back in time.
                if (_count > 0 && p.TimestampMs <= _ring[(_start + _count - 1) % _ring.Length].TimestampMs) return;
                if (_count == _ring.Length && _ring.Length < HistoryPoints) Array.Resize(ref _ring, Math.Min(_ring.Length * 2, HistoryPoints)); // _start is 0 until the ring is full
                if (_count < _ring.Length) _ring[(_start + _count++) % _ring.Length] = p;
                else
                {
                    _ring[_start] = p;
                    _start = (_start + 1) % _ring.Length;
                }
            }
        }

        public PricePoint[] Points()
        {
            lock (_lock)
            {
                var points = new PricePoint[_count];
                for (var i = 0; i < _count; i++) points[i] = _ring[(_start + i) % _ring.Length];
                return points;
            }
        }
    }

    public void PublishAccount(string user, LiveEvent e)
    {
        foreach (var s in _subscribers.Values)
        {
            if (s.User == user) s.Channel.Writer.TryWrite(e);
        }
    }

    /// <summary>
    /// Follows the accounts that open pages watch: subscribes to each one's change topic (whichever node changes it:
    /// TCP, web, an expiry or a trigger) and pushes the fresh books, read without an audited DISPLAY_SUMMARY.
    /// </summary>
    public sealed class AccountWatcher : ReceiveActor
    {
        public sealed record Watch(string User);
        public sealed record Unwatch(string User);

        /// <summary>A read for a page that just opened: the books, or "noaccount" before the first ADD.</summary>
        private sealed record Opened(DayTrading.Accounts.AccountSummaryReply Reply);

        private sealed record ReadFailed;

        private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

        private readonly Dictionary<string, int> _watchers = new(StringComparer.Ordinal);

        public AccountWatcher(LiveFeed feed, IActorRef accounts)
        {
            var mediator = DistributedPubSub.Get(Context.System).Mediator;
            Receive<Watch>(w =>
            {
                _watchers[w.User] = _watchers.GetValueOrDefault(w.User) + 1;
                if (_watchers[w.User] == 1) mediator.Tell(new Subscribe(DayTrading.Accounts.AccountTopics.For(w.User), Self));
                accounts.Ask<DayTrading.Accounts.AccountSummaryReply>(new DayTrading.Accounts.GetAccountSummary(w.User), ReadTimeout)
                    .PipeTo(Self, success: r => new Opened(r), failure: _ => new ReadFailed());
            });
            Receive<Unwatch>(w =>
            {
                if (!_watchers.TryGetValue(w.User, out var n)) return;
                if (n > 1)
                {
                    _watchers[w.User] = n - 1;
                    return;
                }
                _watchers.Remove(w.User);
                mediator.Tell(new Unsubscribe(DayTrading.Accounts.AccountTopics.For(w.User), Self));
            });
            Receive<SubscribeAck>(_ => { });
            Receive<UnsubscribeAck>(_ => { });
            Receive<DayTrading.Accounts.AccountChanged>(c =>
                accounts.Ask<DayTrading.Accounts.AccountSummaryReply>(new DayTrading.Accounts.GetAccountSummary(c.UserId), ReadTimeout)
                    .PipeTo(Self, failure: _ => new ReadFailed()));
            Receive<DayTrading.Accounts.AccountSummaryReply>(r =>
            {
                if (r.Exists && r.Json is not null) feed.PublishAccount(r.UserId, new LiveEvent("account", r.Json));
            });
            Receive<Opened>(o =>
            {
                if (o.Reply.Exists && o.Reply.Json is not null) feed.PublishAccount(o.Reply.UserId, new LiveEvent("account", o.Reply.Json));
                else if (!o.Reply.Exists) feed.PublishAccount(o.Reply.UserId, new LiveEvent("noaccount", "{}"));
            });
            // A page that missed a read gets the books with the account's next change.
            Receive<ReadFailed>(_ => { });
        }
    }

    /// <summary>Subscribes to the quote broadcast of the cluster and feeds it into <paramref name="feed"/>.</summary>
    public sealed class QuoteListener : ReceiveActor
    {
        public QuoteListener(LiveFeed feed)
        {
            DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(QuoteManagerActor.Topic, Self));
            Receive<SubscribeAck>(_ => { });
            Receive<Quote>(feed.PublishQuote);
        }
    }
}
