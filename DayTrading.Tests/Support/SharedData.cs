using System.Runtime.CompilerServices;
using Xunit;

namespace DayTrading.Tests.Support;

/// <summary>
/// The course's shared data folder (workloads, schema…): <c>../shared</c> next to the folder holding
/// DayTrading.sln, found by walking up from the test binaries. Tests that need it use
/// <see cref="SharedDataFactAttribute"/> / <see cref="SharedDataTheoryAttribute"/> so they are skipped, with the
/// reason, when it is absent.
/// </summary>
public static class SharedData
{
    private static readonly Lazy<string?> RepoRootLazy = new(FindRepoRoot);
    private static readonly Lazy<string?> RootLazy = new(() =>
    {
        var env = Environment.GetEnvironmentVariable("DAYTRADING_SHARED");
        if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? Path.GetFullPath(env) : null;
        if (RepoRootLazy.Value is not { } repo) return null;
        var shared = Path.GetFullPath(Path.Combine(repo, "..", "shared"));
        return Directory.Exists(shared) ? shared : null;
    });

    /// <summary>The folder containing DayTrading.sln, or null.</summary>
    public static string? RepoRoot => RepoRootLazy.Value;

    /// <summary>The shared folder, or null when it is absent.</summary>
    public static string? Root => RootLazy.Value;

    public static bool IsAvailable => Root is not null;

    public static string SkipReason =>
        $"shared data folder not found (looked for ../shared next to {RepoRoot ?? "the folder containing DayTrading.sln"}; " +
        "set DAYTRADING_SHARED to override)";

    /// <summary>A file under the shared folder; throws when the folder is absent (guard with the attributes).</summary>
    public static string PathOf(params string[] parts) =>
        Path.Combine([Root ?? throw new InvalidOperationException(SkipReason), .. parts]);

    public static string Workload(string name) => PathOf("workloads", name);

    /// <summary>For tests that decide at run time: skips the running test (xunit v3 Assert.Skip) when the folder is absent.</summary>
    public static string RequireOrSkip()
    {
        if (Root is null) Assert.Skip(SkipReason);
        return Root!;
    }

    private static string? FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DayTrading.sln"))) return dir.FullName;
        }
        return null;
    }
}

/// <summary>A <see cref="FactAttribute"/> that skips (saying why) when the shared data folder is absent.</summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    public SharedDataFactAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        if (!SharedData.IsAvailable) Skip = SharedData.SkipReason;
    }
}

/// <summary>A <see cref="TheoryAttribute"/> that skips (saying why) when the shared data folder is absent.</summary>
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    public SharedDataTheoryAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        if (!SharedData.IsAvailable) Skip = SharedData.SkipReason;
    }
}
