using Akka.Actor;
using Akka.Cluster.Sharding;

namespace DayTrading.Cluster;

/// <summary>The cluster as its operators see it (the admin channel's <c>members</c>/<c>shards</c>, the web's admin view).</summary>
public static class ClusterView
{
    /// <summary>Every member, unreachable ones included, in address order.</summary>
    public static MembersReport Members(Akka.Cluster.Cluster cluster)
    {
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var members = state.Members.Concat(state.Unreachable.Where(u => !state.Members.Contains(u)))
            .OrderBy(m => m.Address.Host, StringComparer.Ordinal).ThenBy(m => m.Address.Port)
            .Select(m => new MemberInfo(m.Address.ToString(), m.Status.ToString(), m.Roles.OrderBy(r => r, StringComparer.Ordinal).ToArray(),
                !unreachable.Contains(m.Address), m.Address == state.Leader, m.Address == cluster.SelfAddress))
            .ToArray();
        return new MembersReport(cluster.SelfAddress.ToString(), state.Leader?.ToString(), members);
    }

    /// <summary>
    /// The shards of <paramref name="region"/>'s type on every node, asked through <paramref name="region"/>; shards
    /// whose statistics did not come back within <paramref name="timeout"/> (a region being handed over, an
    /// unreachable node) are listed as failed.
    /// </summary>
    public static async Task<ShardsReport> ShardsAsync(IActorRef region, string typeName, TimeSpan timeout)
    {
        var stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(timeout), timeout + TimeSpan.FromSeconds(2))
            .ConfigureAwait(false);
        var regions = stats.Regions
            .OrderBy(r => r.Key.Host, StringComparer.Ordinal).ThenBy(r => r.Key.Port)
            .Select(r => new RegionInfo(r.Key.ToString(),
                r.Value.Stats.OrderBy(s => int.TryParse(s.Key, out var n) ? n : int.MaxValue).ThenBy(s => s.Key, StringComparer.Ordinal)
                    .Select(s => new ShardInfo(s.Key, s.Value)).ToArray(),
                r.Value.Failed.Order(StringComparer.Ordinal).ToArray()))
            .ToArray();
        var failedShards = regions.SelectMany(r => r.FailedShards.Select(f => $"{r.Address} shard {f}")).ToArray();
        return new ShardsReport(typeName, regions, failedShards);
    }
}
