using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using DayTrading.Accounts;
using DayTrading.Telemetry;
using Microsoft.Extensions.Hosting;

namespace DayTrading.Host.Operations;

/// <summary>
/// Akka's state as instruments of the node's meter: cluster members by status and unreachable members (read from the
/// cluster's gossip when collected), and the shards and live account entities this node hosts (asked of the shard
/// region every 5 s: a collection callback cannot wait for an actor).
/// </summary>
internal sealed class ClusterInstruments : BackgroundService
{
    private static readonly MemberStatus[] Statuses = Enum.GetValues<MemberStatus>();
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(5);
    private readonly ActorSystem _system;
    private readonly ActorRegistry _registry;
    private long _shards;
    private long _entities;

    public ClusterInstruments(ActorSystem system, ActorRegistry registry, NodeMetrics metrics)
    {
        _system = system;
        _registry = registry;
        var meter = metrics.Meter;
        meter.CreateObservableGauge("daytrading.cluster.members", Members, "{member}", "members of the cluster as this node sees them, by status");
        meter.CreateObservableGauge("daytrading.cluster.unreachable", () => Akka.Cluster.Cluster.Get(_system).State.Unreachable.Count, "{member}",
            "members this node's failure detector marks unreachable");
        meter.CreateObservableGauge("daytrading.shards", () => Interlocked.Read(ref _shards), "{shard}", "account shards hosted on this node (sampled every 5 s)");
        meter.CreateObservableGauge("daytrading.accounts.alive", () => Interlocked.Read(ref _entities), "{account}",
            "account entities alive on this node (sampled every 5 s)");
    }

    private IEnumerable<Measurement<int>> Members()
    {
        var members = Akka.Cluster.Cluster.Get(_system).State.Members;
        foreach (var status in Statuses)
            yield return new Measurement<int>(members.Count(m => m.Status == status), new KeyValuePair<string, object?>("status", status.ToString()));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        do
        {
            if (!_registry.TryGet<AccountRegionKey>(out var region)) continue;
            try
            {
                var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(3), stoppingToken).ConfigureAwait(false);
                Interlocked.Exchange(ref _shards, state.Shards.Count);
                Interlocked.Exchange(ref _entities, state.Shards.Sum(s => (long)s.EntityIds.Count));
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                // a busy or moving region: keep the last sample
            }
        }
        while (await WaitAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try { return await timer.WaitForNextTickAsync(ct).ConfigureAwait(false); }
        catch (OperationCanceledException) { return false; }
    }
}
