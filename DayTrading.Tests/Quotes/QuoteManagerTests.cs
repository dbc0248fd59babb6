using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit;
using DayTrading.Quotes;
using DayTrading.Serialization;
using Xunit;

namespace DayTrading.Tests.Quotes;

/// <summary>The QuoteManager singleton: one hit per miss, 60 s validity, durable hits, cache resynchronisation.</summary>
public sealed class QuoteManagerTests : TestKit
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Config TestConfig = ConfigurationFactory.ParseString("""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.port = 0
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.actor.serialize-messages = on
        """).WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon));

    private readonly ManualClock _clock = new();

    public QuoteManagerTests() : base(TestConfig)
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
    }

    private sealed class ManualClock : TimeProvider
    {
        public long Ms = 1_795_000_000_000;
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref Ms));
    }

    /// <summary>A quote server that answers when the test says so.</summary>
    private sealed class GatedSource(ManualClock clock) : IQuoteSource
    {
        public int Hits;
        public TaskCompletionSource Gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Exception? Failure;

        public async Task<Quote> FetchAsync(string symbol, string userId, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Hits);
            await Gate.Task.WaitAsync(cancellationToken);
            if (Failure is not null) throw Failure;
            return new Quote(symbol, 12.34m, userId, clock.GetUtcNow().ToUnixTimeMilliseconds(), "key");
        }
    }

    private IActorRef Manager(IQuoteSource source, TimeSpan? timeout = null) =>
        Sys.ActorOf(QuoteManagerActor.Props(source, _clock, timeout ?? TimeSpan.FromSeconds(5), "test-node"));

    [Fact]
    public void Any_number_of_concurrent_misses_on_one_symbol_cost_one_hit()
    {
        var source = new GatedSource(_clock);
        var manager = Manager(source);
        var probes = Enumerable.Range(0, 50).Select(_ => CreateTestProbe()).ToArray();
        for (var i = 0; i < probes.Length; i++) manager.Tell(new GetQuote("ABC", "u" + i, i + 1), probes[i]);
        manager.Tell(new GetQuote("XYZ", "other", 99), TestActor); // another symbol is its own hit
        AwaitAssert(() => Assert.Equal(2, source.Hits), cancellationToken: Ct);
        source.Gate.SetResult();
        foreach (var p in probes) Assert.Equal(12.34m, p.ExpectMsg<QuoteResult>(cancellationToken: Ct).Quote!.Price);
        ExpectMsg<QuoteResult>(cancellationToken: Ct);
        Assert.Equal(2, source.Hits);
        manager.Tell(GetQuoteStats.Instance);
        var stats = ExpectMsg<QuoteStats>(cancellationToken: Ct);
        Assert.Equal(2, stats.Hits);
        Assert.Equal(0.10m, stats.Cost);
    }

    [Fact]
    public void A_quote_is_reused_until_60_s_after_its_timestamp_and_not_after()
    {
        var source = new GatedSource(_clock);
        source.Gate.SetResult();
        var manager = Manager(source);
        manager.Tell(new GetQuote("ABC", "u", 1));
        var first = ExpectMsg<QuoteResult>(cancellationToken: Ct).Quote!;
        Interlocked.Add(ref _clock.Ms, 59_999);
        manager.Tell(new GetQuote("ABC", "u", 2));
        Assert.Equal(first.TimestampMs, ExpectMsg<QuoteResult>(cancellationToken: Ct).Quote!.TimestampMs);
        Assert.Equal(1, source.Hits);
        Interlocked.Add(ref _clock.Ms, 1);
        manager.Tell(new GetQuote("ABC", "u", 3));
        var second = ExpectMsg<QuoteResult>(cancellationToken: Ct).Quote!;
        Assert.Equal(2, source.Hits);
        Assert.Equal(first.TimestampMs + 60_000, second.TimestampMs);
    }

    [Fact]
    public void A_failing_or_silent_quote_server_answers_every_waiter_with_a_clear_error()
    {
        var failing = new GatedSource(_clock) { Failure = new QuoteUnavailableException("quote server 127.0.0.1:4444 refused the connection") };
        var manager = Manager(failing);
        manager.Tell(new GetQuote("ABC", "u", 1));
        manager.Tell(new GetQuote("ABC", "v", 2));
        failing.Gate.SetResult();
        Assert.Contains("refused the connection", ExpectMsg<QuoteResult>(cancellationToken: Ct).Error);
        Assert.Contains("refused the connection", ExpectMsg<QuoteResult>(cancellationToken: Ct).Error);

        var silent = new GatedSource(_clock); // never answers
        var slow = Manager(silent, TimeSpan.FromMilliseconds(200));
        slow.Tell(new GetQuote("XYZ", "u", 3));
        var result = ExpectMsg<QuoteResult>(cancellationToken: Ct);
        Assert.Null(result.Quote);
        Assert.Contains("did not answer", result.Error);
        slow.Tell(GetQuoteStats.Instance);
        Assert.Equal(0, ExpectMsg<QuoteStats>(cancellationToken: Ct).Hits); // a failed fetch is not a recorded hit
    }

    [Fact]
    public void Hits_are_durable_so_a_moved_singleton_does_not_fetch_a_still_valid_quote_again()
    {
        var source = new GatedSource(_clock);
        source.Gate.SetResult();
        var manager = Manager(source);
        manager.Tell(new GetQuote("ABC", "u", 1));
        ExpectMsg<QuoteResult>(cancellationToken: Ct);
        Watch(manager);
        Sys.Stop(manager);
        ExpectTerminated(manager, cancellationToken: Ct);

        var moved = Manager(source);
        moved.Tell(new GetQuote("ABC", "u", 2));
        Assert.NotNull(ExpectMsg<QuoteResult>(cancellationToken: Ct).Quote);
        Assert.Equal(1, source.Hits);
        moved.Tell(GetQuoteStats.Instance);
        Assert.Equal(1, ExpectMsg<QuoteStats>(cancellationToken: Ct).Hits);
        moved.Tell(GetValidQuotes.Instance);
        Assert.Equal("ABC", Assert.Single(ExpectMsg<ValidQuotes>(cancellationToken: Ct).Quotes).Symbol);
    }

    [Fact]
    public void A_starting_node_cache_resynchronises_from_the_manager_and_then_follows_broadcasts()
    {
        var source = new GatedSource(_clock);
        source.Gate.SetResult();
        var manager = Manager(source);
        manager.Tell(new GetQuote("OLD", "u", 1));
        ExpectMsg<QuoteResult>(cancellationToken: Ct);

        var cache = new NodeQuoteCache();
        Sys.ActorOf(Props.Create(() => new QuoteCacheSubscriber(cache, manager)));
        AwaitAssert(() => Assert.True(cache.TryGetValid("OLD", _clock.Ms, out _)), TimeSpan.FromSeconds(10), cancellationToken: Ct);
        manager.Tell(new GetQuote("NEW", "u", 2));
        ExpectMsg<QuoteResult>(cancellationToken: Ct);
        AwaitAssert(() => Assert.True(cache.TryGetValid("NEW", _clock.Ms, out _)), TimeSpan.FromSeconds(10), cancellationToken: Ct);
    }
}
