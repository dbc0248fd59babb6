using System.Text.RegularExpressions;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Architecture;

/// <summary>
/// The capability folders of DayTrading.Actors depend on each other without cycles (a folder uses another when its
/// code names a type declared there), so each can be read, changed and tested from the ones below it.
/// </summary>
public sealed partial class FolderDependencyTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"^\s*(?:public|internal)\s+(?:(?:sealed|static|abstract|readonly|partial)\s+)*(?:class|record struct|record|interface|struct|enum)\s+([A-Z][A-Za-z0-9]*)", RegexOptions.Multiline)]
    private static partial Regex Declaration();

    [GeneratedRegex(@"//[^\n]*|/\*[\s\S]*?\*/|""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex CommentOrString();

    [Fact]
    public void The_folders_of_the_actor_assembly_form_no_cycle()
    {
        var root = SharedData.RepoRoot;
        if (root is null) Assert.Skip("sources not found: DayTrading.sln is not above the test binaries");
        var project = Path.Combine(root!, "DayTrading.Actors");
        var files = Directory.GetFiles(project, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Select(f => (Folder: Path.GetRelativePath(project, f).Split(Path.DirectorySeparatorChar) is { Length: > 1 } p ? p[0] : ".", Text: File.ReadAllText(f)))
            .ToArray();
        var declaredIn = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (folder, text) in files)
            foreach (Match m in Declaration().Matches(text)) declaredIn.TryAdd(m.Groups[1].Value, folder);

        var uses = files.GroupBy(f => f.Folder).ToDictionary(g => g.Key, g =>
        {
            var code = string.Join('\n', g.Select(f => CommentOrString().Replace(f.Text, " ")));
            var words = Regex.Matches(code, @"\b[A-Z][A-Za-z0-9]*\b").Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
            return words.Where(declaredIn.ContainsKey).Select(w => declaredIn[w]).Where(f => f != g.Key).ToHashSet(StringComparer.Ordinal);
        });
        foreach (var (folder, used) in uses.OrderBy(u => u.Key, StringComparer.Ordinal))
            output.WriteLine($"{folder} -> {string.Join(", ", used.Order(StringComparer.Ordinal))}");

        // Depth-first search for a back edge.
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1: on the path, 2: done
        var path = new Stack<string>();
        string? cycle = null;
        bool Visit(string f)
        {
            state[f] = 1;
            path.Push(f);
            foreach (var next in uses.GetValueOrDefault(f) ?? [])
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    cycle = string.Join(" -> ", path.Reverse().SkipWhile(p => p != next).Append(next));
                    return true;
                }
                if (state.GetValueOrDefault(next) == 0 && Visit(next)) return true;
            }
            path.Pop();
            state[f] = 2;
            return false;
        }
        foreach (var f in uses.Keys.Order(StringComparer.Ordinal))
            if (state.GetValueOrDefault(f) == 0 && Visit(f)) break;
        Assert.Null(cycle);
    }
}
