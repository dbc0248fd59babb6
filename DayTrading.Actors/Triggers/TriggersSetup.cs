using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using DayTrading.Accounts;
using DayTrading.Persistence;
using DayTrading.Quotes;

namespace DayTrading.Triggers;

/// <summary>Registry key of the AutoTxManager singleton's proxy.</summary>
public sealed class AutoTxManagerKey;

public static class TriggersSetup
{
    public const string SingletonName = "auto-tx-manager";

    /// <summary>The AutoTxManager singleton; <paramref name="readerFactory"/> opens the journal it projects.</summary>
    public static AkkaConfigurationBuilder AddAutoTx(this AkkaConfigurationBuilder builder, AutoTxOptions options,
        Func<ActorSystem, IEventLogReader> readerFactory, NodeQuoteCache quotes, TimeProvider clock) =>
        builder.WithSingleton<AutoTxManagerKey>(SingletonName,
            (system, registry, _) => AutoTxManagerActor.Props(readerFactory(system), registry.Get<AccountRegionKey>(),
                registry.Get<QuoteManagerKey>(), quotes, clock, options),
            new ClusterSingletonOptions(), createProxyToo: true);
}
