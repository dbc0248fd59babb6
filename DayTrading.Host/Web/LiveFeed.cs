using System.Collections.Concurrent;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using DayTrading.Quotes;

namespace DayTrading.Host.Web;

/// <summary>One server-sent event: its name and its JSON data.</summary>
public sealed record LiveEvent(string Name, string Data);

/// <summary>
/// What the web front end pushes to browsers: every quote the cluster fetches (the QuoteManager's
/// "daytrading-quotes" broadcast) to everyone, and a user's fresh account summary to that user's open pages.
/// Each open page has a small bounded channel; a page that does not keep up loses its oldest events.
/// </summary>
public sealed class LiveFeed
{
    private readonly ConcurrentDictionary<Guid, (string User, Channel<LiveEvent> Channel)> _subscribers = new();
    private readonly ConcurrentDictionary<string, Quote> _latest = new(StringComparer.Ordinal);

    public IReadOnlyCollection<Quote> LatestQuotes => _latest.Values.OrderBy(q => q.Symbol, StringComparer.Ordinal).ToArray();

    public (Guid Id, ChannelReader<LiveEvent> Reader) Subscribe(string user)
    {
        var channel = Channel.CreateBounded<LiveEvent>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
        var id = Guid.NewGuid();
        _subscribers[id] = (user, channel);
        return (id, channel.Reader);
    }

    public void Unsubscribe(Guid id)
    {
        if (_subscribers.TryRemove(id, out var s)) s.Channel.Writer.TryComplete();
    }

    public void PublishQuote(Quote quote)
    {
        _latest.AddOrUpdate(quote.Symbol, quote, (_, old) => quote.TimestampMs >= old.TimestampMs ? quote : old);
        var e = new LiveEvent("quote", WebJson.Quote(quote));
        foreach (var s in _subscribers.Values) s.Channel.Writer.TryWrite(e);
    }

    public void PublishAccount(string user, LiveEvent e)
    {
        foreach (var s in _subscribers.Values)
        {
            if (s.User == user) s.Channel.Writer.TryWrite(e);
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
