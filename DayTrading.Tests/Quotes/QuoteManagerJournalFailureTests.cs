using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit;
using DayTrading.Quotes;
using DayTrading.Serialization;
using DayTrading.Tests.Persistence;
using Xunit;

namespace DayTrading.Tests.Quotes;

/// <summary>
/// The QuoteManager outlives its journal's bad moments: a refused or failed write of a hit answers the waiters with
/// an error at once (not after their time-out), and the manager as the cluster runs it comes back by itself — a
/// singleton that stopped for good left every QUOTE, BUY and SELL of the cluster waiting (seen in the partition test).
/// </summary>
public sealed class QuoteManagerJournalFailureTests : TestKit
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Config TestConfig = ConfigurationFactory.ParseString($"""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.port = 0
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.persistence.journal.plugin = "{RejectingJournal.PluginId}"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """).WithFallback(ConfigurationFactory.ParseString(RejectingJournal.Hocon))
        .WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon));

    public QuoteManagerJournalFailureTests() : base(TestConfig)
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
    }

    private sealed class CountingSource : IQuoteSource
    {
        public int Hits;

        public Task<Quote> FetchAsync(string symbol, string userId, CancellationToken cancellationToken = default)
        {
            var n = Interlocked.Increment(ref Hits);
            return Task.FromResult(new Quote(symbol, 10m + n, userId, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), "key" + n));
        }
    }

    private IActorRef SupervisedManager(IQuoteSource source) =>
        Sys.ActorOf(QuoteManagerActor.SupervisedProps(source, TimeProvider.System, TimeSpan.FromSeconds(5), "test-node"));

    [Fact]
    public void A_refused_write_answers_every_waiter_with_an_error_and_the_next_request_fetches_again()
    {
        var source = new CountingSource();
        var manager = SupervisedManager(source);
        RejectingJournal.Set(Sys, e => e is QuoteFetched);
        var other = CreateTestProbe();
        manager.Tell(new GetQuote("ABC", "u", 1), TestActor);
        manager.Tell(new GetQuote("ABC", "v", 2), other);
        var refused = ExpectMsg<QuoteResult>(TimeSpan.FromSeconds(3), cancellationToken: Ct);
        Assert.Null(refused.Quote);
        Assert.Contains("could not be recorded", refused.Error);
        Assert.Null(other.ExpectMsg<QuoteResult>(TimeSpan.FromSeconds(3), cancellationToken: Ct).Quote);

        // v's request joins u's fetch when it arrives before the fetch is back, or (while the refused write is in
        // flight) waits and then makes a fetch of its own that is refused as well: one or two refused hits.
        var refusedHits = Volatile.Read(ref source.Hits);
        Assert.InRange(refusedHits, 1, 2);
        RejectingJournal.Set(Sys, null);
        manager.Tell(new GetQuote("ABC", "u", 3));
        var served = ExpectMsg<QuoteResult>(TimeSpan.FromSeconds(3), cancellationToken: Ct);
        Assert.Equal(10m + refusedHits + 1, served.Quote!.Price); // no refused hit was kept: this is a new fetch
        manager.Tell(GetQuoteStats.Instance);
        Assert.Equal(1, ExpectMsg<QuoteStats>(cancellationToken: Ct).Hits); // only the recorded hit counts
    }

    [Fact]
    public void A_failed_write_answers_the_waiters_and_the_manager_comes_back_and_serves_the_next_quote()
    {
        var source = new CountingSource();
        var manager = SupervisedManager(source);
        manager.Tell(new GetQuote("OLD", "u", 1));
        Assert.NotNull(ExpectMsg<QuoteResult>(TimeSpan.FromSeconds(3), cancellationToken: Ct).Quote);

        RejectingJournal.SetFailing(Sys, e => e is QuoteFetched);
        manager.Tell(new GetQuote("ABC", "u", 2));
        var failed = ExpectMsg<QuoteResult>(TimeSpan.FromSeconds(3), cancellationToken: Ct);
        Assert.Null(failed.Quote);
        Assert.Contains("restarting", failed.Error);

        RejectingJournal.SetFailing(Sys, null);
        AwaitAssert(() =>
        {
            manager.Tell(new GetQuote("ABC", "u", 3));
            var served = ExpectMsg<QuoteResult>(TimeSpan.FromMilliseconds(500), cancellationToken: Ct);
            Assert.NotNull(served.Quote);
        }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(200), cancellationToken: Ct);
        // The new incarnation recovered what the journal holds: the quote recorded before the failure is still valid.
        manager.Tell(new GetQuote("OLD", "u", 4));
        Assert.Equal(11m, ExpectMsg<QuoteResult>(TimeSpan.FromSeconds(3), cancellationToken: Ct).Quote!.Price);
        manager.Tell(GetQuoteStats.Instance);
        Assert.Equal(2, ExpectMsg<QuoteStats>(cancellationToken: Ct).Hits);
    }
}
