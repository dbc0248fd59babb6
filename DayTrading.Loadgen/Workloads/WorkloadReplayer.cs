using System.Diagnostics;
using DayTrading.Loadgen.Client;

namespace DayTrading.Loadgen.Workloads;

/// <summary>What a replay produced.</summary>
/// <param name="Responses">Every response keyed by its N (for a workload with duplicate N's the last one wins; see <paramref name="Pairs"/>).</param>
/// <param name="Pairs">Every command with its response, in completion order.</param>
/// <param name="WallTime">From the first send to the last response.</param>
public sealed record ReplayResult(
    IReadOnlyDictionary<long, EdgeResponse> Responses,
    IReadOnlyList<(WorkloadCommand Command, EdgeResponse Response)> Pairs,
    TimeSpan WallTime)
{
    public int Errors => Pairs.Count(p => !p.Response.Ok);
}

/// <summary>
/// Replays a workload the way its users would: each user's commands in file order, the next one sent only after
/// the previous one was answered; different users concurrently, spread round-robin over the given connections;
/// the admin <c>DUMPLOG,filename</c> line(s) last, after every other command was answered.
/// Lines with no user (malformed ones) form one more sequential group.
/// </summary>
public static class WorkloadReplayer
{
    public static async Task<ReplayResult> ReplayAsync(string host, int port, IReadOnlyList<WorkloadCommand> commands,
        int connections = 1, EdgeClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (connections < 1) throw new ArgumentOutOfRangeException(nameof(connections));
        var clients = new List<EdgeClient>(connections);
        try
        {
            for (var i = 0; i < connections; i++)
                clients.Add(await EdgeClient.ConnectAsync(host, port, options, cancellationToken).ConfigureAwait(false));
            return await ReplayAsync(commands, clients, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var c in clients) await c.DisposeAsync().ConfigureAwait(false);
        }
    }

    public static async Task<ReplayResult> ReplayAsync(IReadOnlyList<WorkloadCommand> commands,
        IReadOnlyList<EdgeClient> clients, CancellationToken cancellationToken = default)
    {
        if (clients.Count == 0) throw new ArgumentException("at least one client is needed", nameof(clients));

        var byUser = new Dictionary<string, List<WorkloadCommand>>(StringComparer.Ordinal);
        var order = new List<List<WorkloadCommand>>();
        var admin = new List<WorkloadCommand>();
        foreach (var c in commands)
        {
            if (c.IsAdminDump)
            {
                admin.Add(c);
                continue;
            }
            var key = c.UserId ?? string.Empty;
            if (!byUser.TryGetValue(key, out var list))
            {
                byUser[key] = list = [];
                order.Add(list);
            }
            list.Add(c);
        }

        var pairs = new List<(WorkloadCommand, EdgeResponse)>(commands.Count);
        var clock = Stopwatch.StartNew();
        var tasks = new Task[order.Count];
        for (var i = 0; i < order.Count; i++)
        {
            var client = clients[i % clients.Count];
            var userCommands = order[i];
            tasks[i] = Task.Run(() => RunSequentially(client, userCommands, pairs, cancellationToken), cancellationToken);
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
        await RunSequentially(clients[0], admin, pairs, cancellationToken).ConfigureAwait(false);
        clock.Stop();

        var byTx = new Dictionary<long, EdgeResponse>(pairs.Count);
        foreach (var (_, r) in pairs)
        {
            if (r.TxNum is { } n) byTx[n] = r;
        }
        return new ReplayResult(byTx, pairs, clock.Elapsed);
    }

    private static async Task RunSequentially(EdgeClient client, List<WorkloadCommand> commands,
        List<(WorkloadCommand, EdgeResponse)> sink, CancellationToken cancellationToken)
    {
        foreach (var c in commands)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var response = await client.SendAsync(c.Line, cancellationToken).ConfigureAwait(false);
            lock (sink) sink.Add((c, response));
        }
    }
}
