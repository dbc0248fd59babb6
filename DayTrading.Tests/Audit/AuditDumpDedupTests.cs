using DayTrading.Audit;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>A refusal retried on another node (same run id and number) appears once in the cluster's dump.</summary>
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
}
