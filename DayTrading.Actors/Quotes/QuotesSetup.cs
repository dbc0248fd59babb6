using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;

namespace DayTrading.Quotes;

/// <summary>Registry key of the QuoteManager singleton's proxy.</summary>
public sealed class QuoteManagerKey;

public sealed record QuoteOptions(IQuoteSource Source, NodeQuoteCache Cache, TimeProvider Clock, string ServerName)
{
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

public static class QuotesSetup
{
    public const string SingletonName = "quote-manager";

    /// <summary>The QuoteManager singleton (and its proxy on this node) and this node's quote cache feed.</summary>
    public static AkkaConfigurationBuilder AddQuotes(this AkkaConfigurationBuilder builder, QuoteOptions options) =>
        builder
            .WithSingleton<QuoteManagerKey>(SingletonName,
                (_, _, resolver) => QuoteManagerActor.SupervisedProps(options.Source, options.Clock, options.FetchTimeout, options.ServerName,
                    resolver.GetService<DayTrading.Telemetry.NodeMetrics>()),
                new ClusterSingletonOptions(), createProxyToo: true)
            .WithActors((system, registry) =>
            {
                var manager = registry.Get<QuoteManagerKey>();
                system.ActorOf(Props.Create(() => new QuoteCacheSubscriber(options.Cache, manager)), "quote-cache");
            });
}
