using System.Text.RegularExpressions;
using DayTrading.Loadgen.Generation;
using DayTrading.Loadgen.Workloads;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Loadgen;

public sealed class GeneratorTests
{
    private static Dictionary<string, double> Mix(IEnumerable<WorkloadCommand> commands)
    {
        var list = commands.ToList();
        return list.GroupBy(c => c.Line.Split(']')[1].Trim().Split(',')[0]).ToDictionary(g => g.Key, g => (double)g.Count() / list.Count);
    }

    private static double Transition(IReadOnlyList<WorkloadCommand> commands, string from, string to)
    {
        var last = new Dictionary<string, string>();
        long fromCount = 0, pair = 0;
        foreach (var c in commands.Where(c => !c.IsAdminDump))
        {
            var name = c.Line.Split(']')[1].Trim().Split(',')[0];
            if (last.TryGetValue(c.UserId!, out var prev) && prev == from)
            {
                fromCount++;
                if (name == to) pair++;
            }
            last[c.UserId!] = name;
        }
        return (double)pair / fromCount;
    }

    /// <summary>Tolerance: every command's share within 1 percentage point of the course file's, key transitions within 0.05.</summary>
    [SharedDataFact]
    public void Mix_and_transitions_match_the_course_workload()
    {
        var course = WorkloadReader.ReadFile(SharedData.Workload("10User_testWorkLoad"));
        var generated = WorkloadReader.Parse(WorkloadGenerator.Generate(new GeneratorOptions(10, 200_000, 42)));
        var a = Mix(course);
        var b = Mix(generated);
        foreach (var (cmd, share) in a.Where(kv => kv.Key != "DUMPLOG"))
            Assert.True(Math.Abs(share - b.GetValueOrDefault(cmd)) < 0.01, $"{cmd}: course {share:P2}, generated {b.GetValueOrDefault(cmd):P2}");
        foreach (var (from, to) in new[] { ("BUY", "COMMIT_BUY"), ("BUY", "CANCEL_BUY"), ("SELL", "COMMIT_SELL"), ("SELL", "CANCEL_SELL"),
                     ("SET_BUY_AMOUNT", "SET_BUY_TRIGGER"), ("SET_SELL_AMOUNT", "SET_SELL_TRIGGER"), ("QUOTE", "BUY") })
        {
            var c = Transition(course, from, to);
            var g = Transition(generated, from, to);
            Assert.True(Math.Abs(c - g) < 0.05, $"{from}->{to}: course {c:0.000}, generated {g:0.000}");
        }
        // The embedded table is the course file's: its implied mix is the file's mix.
        var embedded = CourseMix.MeasuredMix();
        for (var i = 0; i < CourseMix.Commands.Length; i++)
            Assert.True(Math.Abs(embedded[i] - a[CourseMix.Commands[i]]) < 0.002, CourseMix.Commands[i]);
    }

    [Fact]
    public void Output_has_the_course_shape()
    {
        var text = WorkloadGenerator.Generate(new GeneratorOptions(25, 20_000, 3));
        var commands = WorkloadReader.Parse(text);
        Assert.Equal(20_000, commands.Count);
        Assert.Equal("[20000] DUMPLOG,./testLOG", commands[^1].Line);
        Assert.True(commands[^1].IsAdminDump);
        Assert.All(commands, c => Assert.NotNull(c.Kind));
        Assert.Equal(Enumerable.Range(1, 20_000).Select(i => (long?)i), commands.Select(c => c.TxNum));
        var users = commands.Where(c => !c.IsAdminDump).GroupBy(c => c.UserId!).ToList();
        Assert.Equal(25, users.Count);
        Assert.All(users, g =>
        {
            Assert.Matches("^[A-Za-z0-9]{10}$", g.Key);
            Assert.StartsWith("ADD,", g.First().Line.Split("] ")[1]);
        });
        var symbols = commands.Select(c => Regex.Match(c.Line, @"^\[\d+\] (?:QUOTE|BUY|SELL|SET_\w+|CANCEL_SET_\w+),\w+,([A-Z]+)")).Where(m => m.Success)
            .Select(m => m.Groups[1].Value).ToHashSet();
        Assert.InRange(symbols.Count, 40, CourseMix.SymbolCount);
        Assert.All(symbols, s => Assert.Matches("^[A-Z]{3}$", s));
        Assert.Matches(@"^\[\d+\] BUY,\w{10},[A-Z]{3},\d+\.\d\d$", commands.First(c => c.Line.Contains("] BUY,")).Line);
    }

    [Fact]
    public void Same_seed_same_file_other_seed_other_file()
    {
        var a = WorkloadGenerator.Generate(new GeneratorOptions(10, 5_000, 7));
        var b = WorkloadGenerator.Generate(new GeneratorOptions(10, 5_000, 7));
        var c = WorkloadGenerator.Generate(new GeneratorOptions(10, 5_000, 8));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Streams_large_files_to_disk()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "big.txt");
        WorkloadGenerator.WriteFile(path, new GeneratorOptions(1000, 300_000, 1));
        Assert.Equal(300_000, File.ReadLines(path).Count());
    }
}
