using DayTrading.Telemetry;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Akka.Persistence.Hosting;
using DayTrading.Audit;
using DayTrading.Quotes;

namespace DayTrading.Accounts;

/// <summary>Registry key of the account shard region.</summary>
public sealed class AccountRegionKey;

public sealed record AccountsOptions(string ServerName, string JournalPluginId, string SnapshotPluginId, NodeQuoteCache Quotes, TimeProvider Clock)
{
    /// <summary>Fixed for the life of the cluster's data: every node must agree on it.</summary>
    public int NumberOfShards { get; init; } = 100;
    public int SnapshotEvery { get; init; } = 1000;
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Live account entities on this node above which idle ones passivate at once (<see cref="LiveAccounts"/>).</summary>
    public int MaxLiveAccounts { get; init; } = 20_000;

    /// <summary>False (benchmarks only): requests that change nothing are not journaled, so not audited.</summary>
    public bool AuditAll { get; init; } = true;
}

/// <summary>Stops an account after what it is doing (local only: from its shard, or itself via Passivate).</summary>
public sealed class StopAccount
{
    public static readonly StopAccount Instance = new();
    private StopAccount() { }
}

public static class AccountsSetup
{
    /// <summary>
    /// Tags account events in the rows of the journal these adapters belong to (<see cref="AccountEventTagger"/>). On
    /// every node, trigger engine and expiry watcher on or off: they may run on another node, and they tail the tags.
    /// </summary>
    public static AkkaPersistenceJournalBuilder AddAccountEventTags(this AkkaPersistenceJournalBuilder adapters) =>
        adapters.AddWriteEventAdapter<AccountEventTagger>("account-tags", [typeof(AccountEvent)]);

    public const string TypeName = "account";

    /// <summary>The sharded account entities on this node.</summary>
    public static AkkaConfigurationBuilder AddAccounts(this AkkaConfigurationBuilder builder, AccountsOptions options) =>
        builder.WithShardRegion<AccountRegionKey>(TypeName,
            (_, registry, resolver) =>
            {
                var settings = new AccountSettings(options.Clock, options.Quotes, registry.Get<QuoteManagerKey>(), options.ServerName,
                    options.JournalPluginId, options.SnapshotPluginId, options.SnapshotEvery, options.AuditAll, true, options.IdleTimeout,
                    AuditRecorder: registry.Get<AuditRecorderKey>(), Live: new LiveAccounts(options.MaxLiveAccounts),
                    Metrics: resolver.GetService<NodeMetrics>());
                return userId => AccountActor.Props(userId, settings);
            },
            new AccountMessageExtractor(options.NumberOfShards),
            new ShardOptions
            {
                StateStoreMode = StateStoreMode.DData,
                // Accounts passivate themselves: one with pending reservations must live to expire them.
                ShouldPassivateIdleEntities = false,
                HandOffStopMessage = StopAccount.Instance,
            });
}
