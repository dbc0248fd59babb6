using Akka.Actor;
using Akka.Configuration;
using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Loadgen.Client;
using DayTrading.Loadgen.Workloads;
using DayTrading.Persistence;
using DayTrading.Serialization;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Cluster;

/// <summary>
/// What a cluster must show after a run, whatever happened to its nodes on the way (SIGKILL, graceful leave,
/// partition): every answered request is in the journal exactly once, at its place in its user's order; every
/// account equals the pure domain model run over the same commands and answers; every trigger execution is one the
/// model allows (a trigger fired twice fails); the audit log has one userCommand per request and one errorEvent per
/// failed request. Used by <see cref="ClusterFailoverTests"/> and <see cref="ClusterPartitionTests"/>.
/// </summary>
public static class ClusterInvariants
{
    /// <summary>Every account's journal, in sequence order, read straight from the cluster's store.</summary>
    public static async Task<Dictionary<string, Queue<AccountEvent>>> AccountJournals(ClusterJournal journal)
    {
        var system = ActorSystem.Create("journal-reader", journal.ReaderConfig());
        try
        {
            using var reader = DayTradingPersistence.CreateEventLogReader(system);
            var events = new List<EventLogEntry>();
            await foreach (var e in reader.ReadAllAsync(0, 1000, TestContext.Current.CancellationToken))
                if (e.PersistenceId.StartsWith("account-", StringComparison.Ordinal) && e.Payload is AccountEvent) events.Add(e);
            return events.GroupBy(e => e.PersistenceId["account-".Length..])
                .ToDictionary(g => g.Key, g => new Queue<AccountEvent>(g.OrderBy(e => e.SequenceNr).Select(e => (AccountEvent)e.Payload)));
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>
    /// (user, tx) of the requests the nodes' audit recorders hold: a request for a user with no account is refused
    /// there, not in an account journal (issue 13, item 6).
    /// </summary>
    public static async Task<HashSet<(string? User, long Tx)>> RecordedRefusals(ClusterJournal journal)
    {
        var system = ActorSystem.Create("refusal-reader", journal.ReaderConfig());
        try
        {
            using var reader = DayTradingPersistence.CreateEventLogReader(system);
            var refusals = new HashSet<(string?, long)>();
            await foreach (var e in reader.ReadAllAsync(0, 1000, TestContext.Current.CancellationToken))
                if (e.Payload is RequestRejected r) refusals.Add((r.UserId, r.TxNum));
            return refusals;
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>Waits until each of <paramref name="users"/> has a trigger execution in its journal.</summary>
    public static async Task WaitForTriggers(ClusterJournal journal, IReadOnlyList<string> users, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var journals = await AccountJournals(journal);
            var fired = users.Count(u => journals.TryGetValue(u, out var j) && j.Any(e => e is TriggerExecuted));
            if (fired == users.Count) return;
            Assert.True(DateTime.UtcNow < until, $"only {fired} of {users.Count} armed triggers fired within {timeout.TotalSeconds:0} s; journals: " +
                string.Join("; ", users.Select(u => journals.TryGetValue(u, out var j)
                    ? $"{u}: {j.Count} events, last {string.Join(", ", j.TakeLast(3))}" : $"{u}: none")));
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>
    /// The audit log of the whole cluster (a system-wide DUMPLOG through <paramref name="admin"/>) is complete and has
    /// no duplicates: one userCommand per request, whichever node took it and however often it was resent, and one
    /// errorEvent per failed request.
    /// </summary>
    public static async Task AssertAuditLog(EdgeClient admin, IReadOnlyList<WorkloadCommand> commands, IReadOnlyDictionary<int, EdgeResponse> answers)
    {
        var dump = await admin.SendAsync("[99999999] DUMPLOG,./cluster.xml", TestContext.Current.CancellationToken);
        Assert.True(dump.Ok, dump.Raw);
        var path = System.Text.RegularExpressions.Regex.Match(dump.Body!, @" to (\S+) in ").Groups[1].Value;
        var log = System.Xml.Linq.XDocument.Load(path).Root!.Elements().ToList();
        var userCommands = log.Where(e => e.Name == "userCommand").GroupBy(e => long.Parse(e.Element("transactionNum")!.Value)).ToDictionary(g => g.Key, g => g.Count());
        foreach (var c in commands) Assert.True(userCommands.GetValueOrDefault(c.TxNum!.Value) == 1, $"tx {c.TxNum}: {userCommands.GetValueOrDefault(c.TxNum!.Value)} userCommand entries");
        var errorTx = log.Where(e => e.Name == "errorEvent").Select(e => long.Parse(e.Element("transactionNum")!.Value)).ToList();
        Assert.Equal(errorTx.Count, errorTx.Distinct().Count());
        Assert.Equal(commands.Where(c => !answers[c.LineNumber].Ok).Select(c => c.TxNum!.Value).Order(), errorTx.Order());
    }

    /// <summary>
    /// Every user's books as each of <paramref name="edges"/> shows them (each connected with a fresh run id) equal
    /// the pure domain run over <paramref name="commands"/> and their <paramref name="answers"/>; every event in the
    /// journal is accounted for. Returns the model and the number of trigger executions it checked.
    /// </summary>
    public static async Task<(ReferenceModel Model, int TriggersFired)> AssertBooksMatchReference(ClusterJournal journal,
        IReadOnlyList<WorkloadCommand> commands, IReadOnlyDictionary<int, EdgeResponse> answers, IReadOnlyList<Func<string, Task<EdgeClient>>> edges)
    {
        var ct = TestContext.Current.CancellationToken;
        // Triggers may still fire meanwhile: each summary is compared below with the model at the place the summary
        // takes in that user's journal.
        var users = commands.Where(c => c.UserId is not null).Select(c => c.UserId!).Distinct().ToList();
        var summaries = new List<(string User, long Tx, EdgeResponse Reply)>();
        foreach (var edge in edges)
        {
            await using var check = await edge("check-" + Guid.NewGuid().ToString("N")[..8]);
            var tx = 5_000_000L;
            foreach (var user in users)
            {
                var line = $"[{++tx}] DISPLAY_SUMMARY,{user}";
                summaries.Add((user, tx, await check.SendAsync(line, ct)));
            }
        }

        var model = new ReferenceModel();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var journals = await AccountJournals(journal);
        var refusals = await RecordedRefusals(journal);
        var triggersFired = 0;
        // Trigger executions and expiries happen when the node's clock and quotes say: the model applies each where
        // it stands in that user's journal, between the commands around it.
        void CatchUp(string user)
        {
            if (!journals.TryGetValue(user, out var journal)) return;
            while (journal.TryPeek(out var e) && e is not CommandHandled)
            {
                journal.Dequeue();
                if (e is TriggerExecuted t)
                {
                    model.ApplyTrigger(user, t, now);
                    triggersFired++;
                }
                else if (e is ReservationsExpired x) model.ApplyExpiry(user, x);
            }
        }
        CommandHandled Next(string user, long tx, string what)
        {
            CatchUp(user);
            Assert.True(journals.TryGetValue(user, out var journal) && journal.Count > 0, $"{what}: nothing left in {user}'s journal");
            var handled = journal!.Dequeue();
            Assert.True(handled is CommandHandled h && h.TxNum == tx, $"{what}: the journal holds {handled} where tx {tx} should be");
            return (CommandHandled)handled;
        }
        foreach (var command in commands)
        {
            var response = answers[command.LineNumber];
            if (command.UserId is { } user) CatchUp(user);
            var existed = command.UserId is { } u && model.Accounts.TryGetValue(u, out var before) && before.Exists;
            var expected = model.Apply(command, r => ReferenceModel.QuoteInReply(r, response) is { } q ? q with { TimestampMs = now } : null, now);
            if (expected is null) continue;
            Assert.True(expected.Ok == response.Ok, $"line {command.LineNumber} '{command.Line}': model {(expected.Ok ? "OK" : expected.Error)}, node {response.Raw}");
            if (!existed && !expected.Ok)
                Assert.True(refusals.Contains((command.UserId, command.TxNum!.Value)), $"line {command.LineNumber}: no recorded refusal for a user without account");
            else Next(command.UserId!, command.TxNum!.Value, $"line {command.LineNumber}");
        }
        foreach (var (user, tx, reply) in summaries)
        {
            var state = model.Accounts[user];
            if (state.Exists) Next(user, tx, $"summary of {user}");
            else Assert.True(refusals.Contains((user, tx)), $"summary of {user}: no recorded refusal for a user without account");
            Assert.True(reply.Ok == state.Exists, $"summary of {user}: {reply.Raw}");
            if (state.Exists) ReferenceModel.AssertSameBooks(state, AccountSummary.FromJson(reply.Body!)!);
        }
        foreach (var user in journals.Keys) CatchUp(user);
        Assert.All(journals, j => Assert.Empty(j.Value)); // every journaled event is accounted for
        return (model, triggersFired);
    }
}
