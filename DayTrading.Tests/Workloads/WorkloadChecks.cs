using System.Text.RegularExpressions;
using System.Xml.Linq;
using DayTrading.Accounts;
using DayTrading.Loadgen.Client;
using DayTrading.Loadgen.Metrics;
using DayTrading.Loadgen.Workloads;
using DayTrading.Tests.Audit;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Workloads;

/// <summary>
/// What a one-node run interrupted by a fault (the node SIGKILLed, its Redis server SIGKILLed) must show once every
/// request has its answer: the answers and the books equal the pure domain model run over the same outcomes, and
/// the audit log holds every request exactly once. Used by <see cref="CrashDurabilityTests"/> and
/// <see cref="Persistence.RedisOutageTests"/>.
/// </summary>
internal static partial class WorkloadChecks
{
    /// <summary>
    /// An answer that settles its request: done, or refused by the domain or the edge (both journaled and audited).
    /// Not done, outcome unknown and "journal unavailable" leave it to be sent again.
    /// </summary>
    public static bool Settles(EdgeResponse answer) => answer.Ok || AnswerClassifier.FailureReasonOf(answer.Command, answer.Reason) is null;

    public static async Task<ClientSet> Clients(int port, int count, string runId, CancellationToken ct)
    {
        var set = new ClientSet();
        for (var i = 0; i < count; i++)
        {
            set.Clients.Add(await EdgeClient.ConnectAsync("127.0.0.1", port, new EdgeClientOptions { RunId = runId }, ct));
        }
        return set;
    }

    /// <summary>
    /// Every answer is the one the domain model gives on the same outcomes, and every account's books (a
    /// DISPLAY_SUMMARY through <paramref name="check"/>) equal the model's: every acknowledged change is there exactly
    /// once and no unacknowledged one was half-applied.
    /// </summary>
    public static async Task AssertBooksEqualTheModel(EdgeClient check, IReadOnlyList<WorkloadCommand> commands, IReadOnlyDictionary<int, EdgeResponse> answers,
        CancellationToken ct)
    {
        var model = new ReferenceModel();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var command in commands)
        {
            var response = answers[command.LineNumber];
            var expected = model.Apply(command, r => ReferenceModel.QuoteInReply(r, response) is { } q ? q with { TimestampMs = now } : null, now);
            if (expected is null) continue;
            Assert.True(expected.Ok == response.Ok, $"line {command.LineNumber} '{command.Line}': model {(expected.Ok ? "OK" : expected.Error)}, node {response.Raw}");
        }
        var tx = 5_000_000L;
        foreach (var (user, state) in model.Accounts.Where(a => a.Value.Exists))
        {
            var reply = await check.SendAsync($"[{++tx}] DISPLAY_SUMMARY,{user}", ct);
            Assert.True(reply.Ok, reply.Raw);
            ReferenceModel.AssertSameBooks(state, AccountSummary.FromJson(reply.Body!)!);
        }
    }

    /// <summary>
    /// A system-wide DUMPLOG through <paramref name="admin"/> (an admin edge) is valid against ../shared/logfile.xsd
    /// (timestamps widened to now, as every audit test does), holds one userCommand per request and one errorEvent per
    /// refused one, however often a request was sent again, and no entry twice. Returns the dump's path.
    /// </summary>
    public static async Task<string> AssertAuditLogHasEveryRequestOnce(EdgeClient admin, IReadOnlyList<WorkloadCommand> commands,
        IReadOnlyDictionary<int, EdgeResponse> answers, CancellationToken ct)
    {
        var dump = await admin.SendAsync("[99999999] DUMPLOG,./after-fault.xml", ct);
        Assert.True(dump.Ok, dump.Raw);
        var path = DumpPath().Match(dump.Body!).Groups[1].Value;
        Assert.True(File.Exists(path), $"DUMPLOG answered '{dump.Raw}' but {path} does not exist");
        if (SharedData.AvailableFor("validating the dump against ../shared/logfile.xsd"))
        {
            var (errors, _) = AuditSchema.Validate(path, AuditSchema.Relaxed());
            Assert.True(errors.Count == 0, "the dump is not valid against logfile.xsd:\n" + string.Join("\n", errors));
        }
        var entries = XDocument.Load(path).Root!.Elements().ToList();
        static long Tx(XElement e) => long.Parse(e.Element("transactionNum")!.Value, System.Globalization.CultureInfo.InvariantCulture);
        var userCommands = entries.Where(e => e.Name == "userCommand").GroupBy(Tx).ToDictionary(g => g.Key, g => g.Count());
        foreach (var c in commands)
            Assert.True(userCommands.GetValueOrDefault(c.TxNum!.Value) == 1, $"tx {c.TxNum} '{c.Line}': {userCommands.GetValueOrDefault(c.TxNum!.Value)} userCommand entries");
        var errorTx = entries.Where(e => e.Name == "errorEvent").Select(Tx).ToList();
        Assert.Equal(errorTx.Count, errorTx.Distinct().Count());
        Assert.Equal(commands.Where(c => !answers[c.LineNumber].Ok).Select(c => c.TxNum!.Value).Order(), errorTx.Order());
        // A write stored twice (a retry applied again, a log entry added again) shows as the same entry twice.
        var repeated = entries.GroupBy(e => e.ToString(SaveOptions.DisableFormatting)).Where(g => g.Count() > 1).Select(g => $"{g.Count()} x {g.Key}").ToList();
        Assert.True(repeated.Count == 0, "entries in the audit log more than once:\n" + string.Join("\n", repeated.Take(10)));
        return path;
    }

    [GeneratedRegex(@" to (\S+) in ")]
    private static partial Regex DumpPath();

    public sealed class ClientSet : IAsyncDisposable
    {
        public List<EdgeClient> Clients { get; } = [];

        public async ValueTask DisposeAsync()
        {
            foreach (var c in Clients)
            {
                try
                {
                    await c.DisposeAsync();
                }
                catch (Exception)
                {
                    // a connection to a killed node
                }
            }
        }
    }
}
