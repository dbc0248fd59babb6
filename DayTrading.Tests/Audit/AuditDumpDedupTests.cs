using DayTrading.Audit;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>
/// A record retried on another node (same run id, number and content) appears once in the cluster's dump; a
/// different request under a used run id and number is no retry and appears too.
/// </summary>
public sealed class AuditDumpDedupTests
{
    [Fact]
    public async Task Refusals_and_admin_dumps_repeated_under_one_run_id_are_written_once()
    {
        using var dir = new TempDirectory();
        var events = new List<(string Pid, object Event)>
        {
            ("audit-node1", new RequestRejected(1_000, "node1", 7, "run-a", "ADD", "u", null, null, null, "bad amount")),
            ("audit-node2", new RequestRejected(2_000, "node2", 7, "run-a", "ADD", "u", null, null, null, "bad amount")),
            ("audit-node2", new RequestRejected(3_000, "node2", 8, null, "ADD", "u", null, null, null, "bad amount")),
            ("audit-node1", new RequestRejected(4_000, "node1", 8, null, "ADD", "u", null, null, null, "bad amount")),
            ("audit-node1", new AdminDumpRequested(5_000, "node1", 9, "run-a", "./all", null)),
            ("audit-node3", new AdminDumpRequested(6_000, "node3", 9, "run-a", "./all", null)),
        };
        var path = Path.Combine(dir.Path, "dump.xml");
        var stats = await AuditDump.WriteAsync(FakeEventLogReader.Of(events), path, null, TestContext.Current.CancellationToken);
        Assert.Equal(3, stats.ErrorEvents);   // tx 7 once, tx 8 twice (no run id: never deduplicated)
        Assert.Equal(4, stats.UserCommands);  // the same, plus the admin dump once
        Assert.Equal(2, stats.EventsSkipped);
    }

    [Fact]
    public async Task A_different_record_under_a_used_run_id_and_number_is_written()
    {
        using var dir = new TempDirectory();
        var events = new List<(string Pid, object Event)>
        {
            // A refused line, then an admin DUMPLOG under the same run id and N on another node: both happened.
            ("audit-node1", new RequestRejected(1_000, "node1", 7, "run-a", "FOO", "u", null, null, null, "unknown command 'FOO'")),
            ("audit-node2", new AdminDumpRequested(2_000, "node2", 7, "run-a", "./all", null)),
            // Two different refused lines under one key; then a retry of the first: written once.
            ("audit-node1", new RequestRejected(3_000, "node1", 8, "run-a", "ADD", "u", null, null, null, "bad amount")),
            ("audit-node2", new RequestRejected(4_000, "node2", 8, "run-a", "BUY", "u", null, null, null, "bad amount")),
            ("audit-node3", new RequestRejected(5_000, "node3", 8, "run-a", "ADD", "u", null, null, null, "bad amount")),
            // A dump that failed, and failed again on its retry elsewhere (another reason): one errorEvent.
            ("account-u", new DayTrading.Accounts.CommandHandled(6_000, "node1", 9, "run-a", DayTrading.Accounts.CommandKind.DumpLog, null, 0m, "u.xml", null, null, [])),
            ("audit-node1", new DumpFailed(6_001, "node1", 9, "run-a", "u", "u.xml", "writing the dump to u.xml failed: disk full")),
            ("audit-node2", new DumpFailed(7_000, "node2", 9, "run-a", "u", "u.xml", "the auditor did not finish the dump within 10 min")),
            // Another user's DUMPLOG under that key is another request: its failure is written too.
            ("audit-node2", new DumpFailed(8_000, "node2", 9, "run-a", "v", "v.xml", "dump id 'run-a:9' was already used")),
        };
        var path = Path.Combine(dir.Path, "dump.xml");
        var stats = await AuditDump.WriteAsync(FakeEventLogReader.Of(events), path, null, TestContext.Current.CancellationToken);
        Assert.Equal(2, stats.EventsSkipped); // the retried ADD refusal and the retried failure
        Assert.Equal(4, stats.UserCommands);  // DUMPLOG 7, ADD 8, BUY 8, DUMPLOG 9
        Assert.Equal(5, stats.ErrorEvents);   // FOO 7, ADD 8, BUY 8, u's and v's DUMPLOG 9
        var xml = await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);
        Assert.Contains("disk full", xml);
        Assert.DoesNotContain("did not finish", xml);
    }
}
