using Akka.Cluster.Sharding;

namespace DayTrading.Accounts;

/// <summary>
/// Routes every message for a trader to that trader's entity. The one extractor shared by the shard region and
/// every proxy, so all nodes agree on which shard holds a user. <see cref="ShardRegion.StartEntity"/> (an account
/// restarting itself to keep its expiry timer) needs no case here: since Akka.NET 1.5.15 the region and the shard
/// handle it themselves, before the extractor is asked (rule AK2001).
/// </summary>
public sealed class AccountMessageExtractor(int maxNumberOfShards) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public override string? EntityId(object message) => message switch
    {
        GatewayRequest g => g.Request.UserId,
        TradeRequest r => r.UserId,
        ExecuteTrigger t => t.UserId,
        WakeAccount w => w.UserId,
        GetAccountSummary g => g.UserId,
        _ => null,
    };
}
