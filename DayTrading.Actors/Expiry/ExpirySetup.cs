using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using DayTrading.Accounts;
using DayTrading.Persistence;

namespace DayTrading.Expiry;

/// <summary>Registry key of the expiry watcher singleton's manager.</summary>
public sealed class ExpiryWatcherKey;

public static class ExpirySetup
{
    public const string SingletonName = "expiry-watcher";

    /// <summary>
    /// The expiry watcher singleton; <paramref name="readerFactory"/> opens the journal it projects. Needs the journal
    /// events tagged (<see cref="AccountsSetup.AddAccountEventTags"/>) on every node.
    /// </summary>
    public static AkkaConfigurationBuilder AddExpiryWatcher(this AkkaConfigurationBuilder builder, ExpiryWatchOptions options,
        Func<ActorSystem, IEventLogReader> readerFactory, TimeProvider clock) =>
        builder.WithSingleton<ExpiryWatcherKey>(SingletonName,
            (system, registry, _) => ExpiryWatcherActor.Props(() => readerFactory(system), registry.Get<AccountRegionKey>(), clock, options),
            new ClusterSingletonOptions(), createProxyToo: false);
}
