using System.Collections.Concurrent;
using DayTrading.Accounts;

namespace DayTrading.Tests.Edge;

/// <summary>An <see cref="ITradeGateway"/> for edge tests: records calls, answers OK (or as <see cref="Handler"/> says).</summary>
public sealed class FakeGateway : ITradeGateway
{
    private readonly ConcurrentDictionary<string, int> _inFlightPerUser = new();
    private int _maxInFlightPerUser;

    public Func<TradeRequest, CancellationToken, Task<TradeReply>>? Handler { get; set; }

    /// <summary>Requests in the order Execute was called.</summary>
    public ConcurrentQueue<TradeRequest> Executed { get; } = new();

    /// <summary>Requests in the order their reply completed.</summary>
    public ConcurrentQueue<TradeRequest> Completed { get; } = new();

    public ConcurrentQueue<(long TxNum, string? Command, string? UserId, string Reason)> Rejected { get; } = new();

    /// <summary>The most requests of one user the gateway ever saw in flight at once.</summary>
    public int MaxInFlightPerUser => Volatile.Read(ref _maxInFlightPerUser);

    public async Task<TradeReply> Execute(TradeRequest request, CancellationToken cancellationToken = default)
    {
        Executed.Enqueue(request);
        var key = request.UserId ?? "<admin>";
        var now = _inFlightPerUser.AddOrUpdate(key, 1, (_, v) => v + 1);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxInFlightPerUser)) &&
               Interlocked.CompareExchange(ref _maxInFlightPerUser, now, seen) != seen)
        {
        }
        try
        {
            var reply = Handler is null ? DefaultReply(request) : await Handler(request, cancellationToken);
            return reply;
        }
        finally
        {
            _inFlightPerUser.AddOrUpdate(key, 0, (_, v) => v - 1);
            Completed.Enqueue(request);
        }
    }

    public static TradeReply DefaultReply(TradeRequest r) => r.Kind switch
    {
        CommandKind.Quote => TradeReply.Success(r, $"12.34,{r.Symbol},{r.UserId},1700000000000,key{r.TxNum}"),
        CommandKind.DisplaySummary => TradeReply.Success(r, "{\"cash\":\"1.00\",\n\"note\":\"two\r\nlines\"}"),
        _ => TradeReply.Success(r),
    };

    public Task RecordRejected(long txNum, string? runId, string? command, string? userId, string reason)
    {
        Rejected.Enqueue((txNum, command, userId, reason));
        return Task.CompletedTask;
    }
}
