using System.Text;
using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>The written log against the course schema (timestamp window relaxed, every other rule kept).</summary>
public sealed class AuditXmlTests
{
    private static async Task<string> WriteAsync(string dir, IEnumerable<AuditEntry> entries)
    {
        var path = Path.Combine(dir, "log.xml");
        await using (var w = AuditXmlWriter.Create(path))
        {
            await w.WriteStartAsync();
            foreach (var e in entries) await w.WriteEntryAsync(e, TestContext.Current.CancellationToken);
            await w.CompleteAsync(TestContext.Current.CancellationToken);
        }
        return path;
    }

    private static IEnumerable<AuditEntry> Project(IEnumerable<(string Pid, object Event)> events) =>
        events.SelectMany(e => AuditProjection.Project(e.Pid, e.Event));

    [Fact]
    public async Task Output_looks_like_the_course_examples()
    {
        using var dir = new TempDirectory();
        var path = await WriteAsync(dir.Path,
            [AuditEntry.UserCommand(1_764_072_000_123, "node1", 3, "BUY", "alice", "ABC", null, 250m)]);
        var text = await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);
        Assert.Equal(
            "<?xml version=\"1.0\"?>\n<log>\n\t<userCommand>\n\t\t<timestamp>1764072000123</timestamp>\n\t\t<server>node1</server>\n" +
            "\t\t<transactionNum>3</transactionNum>\n\t\t<command>BUY</command>\n\t\t<username>alice</username>\n" +
            "\t\t<stockSymbol>ABC</stockSymbol>\n\t\t<funds>250.00</funds>\n\t</userCommand>\n</log>\n", text);
        Assert.False(File.ReadAllBytes(path).AsSpan().StartsWith(Encoding.UTF8.Preamble), "no byte-order mark");
    }

    [Fact]
    public async Task An_empty_log_is_a_log_element()
    {
        using var dir = new TempDirectory();
        var text = await File.ReadAllTextAsync(await WriteAsync(dir.Path, []), TestContext.Current.CancellationToken);
        Assert.Equal("<?xml version=\"1.0\"?>\n<log />\n", text);
    }

    [SharedDataFact]
    public async Task Every_entry_kind_and_every_command_validates_against_the_course_schema()
    {
        using var dir = new TempDirectory();
        var entries = Project(SyntheticLog.EveryKind()).ToList();
        // Coverage of the synthetic log itself: all five kinds, all sixteen commands, both actions.
        Assert.Equal(Enum.GetValues<AuditEntryKind>().Order(), entries.Select(e => e.Kind).Distinct().Order());
        Assert.Equal(Enum.GetValues<CommandKind>().Select(k => k.Name()).Order(),
            entries.Where(e => e.Kind == AuditEntryKind.UserCommand).Select(e => e.Command!).Distinct().Order());
        Assert.Equal(["add", "remove"], entries.Where(e => e.Action is not null).Select(e => e.Action!).Distinct().Order());

        var path = await WriteAsync(dir.Path, entries);
        var (errors, counts) = AuditSchema.Validate(path, AuditSchema.Relaxed());
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        foreach (var kind in Enum.GetValues<AuditEntryKind>())
            Assert.Equal(entries.Count(e => e.Kind == kind), counts.GetValueOrDefault(AuditXmlWriter.ElementName(kind)));
    }

    [SharedDataFact]
    public async Task The_unrelaxed_schema_refuses_todays_timestamps_so_validation_really_runs()
    {
        using var dir = new TempDirectory();
        var path = await WriteAsync(dir.Path, Project(SyntheticLog.EveryKind()));
        var (errors, _) = AuditSchema.Validate(path, AuditSchema.Strict());
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Contains("timestamp", e));
    }

    [SharedDataFact]
    public async Task The_relaxed_schema_still_enforces_the_other_rules()
    {
        using var dir = new TempDirectory();
        var bad = new[]
        {
            AuditEntry.UserCommand(SyntheticLog.T0, "n", 1, "BUY", "a", "ABCD", null, 1m),   // symbol too long
            AuditEntry.UserCommand(SyntheticLog.T0, "n", 1, "FOO", "a", null, null, null),  // command not in the enumeration
            AuditEntry.UserCommand(SyntheticLog.T0, "n", 0, "ADD", "a", null, null, 1m),    // transactionNum not positive
        };
        foreach (var entry in bad)
        {
            var path = await WriteAsync(dir.Path, [entry]);
            Assert.NotEmpty(AuditSchema.Validate(path, AuditSchema.Relaxed()).Errors);
        }
    }
}
