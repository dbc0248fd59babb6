using Akka;
using Akka.Actor;
using DayTrading.Audit;

namespace DayTrading.Accounts;

/// <summary>The edges' way into the cluster: each request goes to its trader's entity, wherever that lives.</summary>
public sealed class ClusterTradeGateway(IActorRef accountRegion, IActorRef auditRecorder, string serverName, TimeProvider clock, TimeSpan timeout)
    : ITradeGateway
{
    public async Task<TradeReply> Execute(TradeRequest request, CancellationToken cancellationToken = default)
    {
        if (request.UserId is null)
        {
            return TradeReply.Failure(request, "admin DUMPLOG is not available on this node");
        }
        try
        {
            return await accountRegion.Ask<TradeReply>(request, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            return TradeReply.Failure(request, $"no answer from account {request.UserId} within {timeout.TotalSeconds:0} s; the outcome is unknown, retry with the same run id and transaction number");
        }
    }

    public Task RecordRejected(long txNum, string? command, string? userId, string reason) =>
        auditRecorder.Ask<Done>(new RequestRejected(clock.GetUtcNow().ToUnixTimeMilliseconds(), serverName, txNum, command, userId,
            null, null, null, reason), timeout);
}
