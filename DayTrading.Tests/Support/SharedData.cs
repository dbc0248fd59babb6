using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Xunit;

namespace DayTrading.Tests.Support;

/// <summary>
/// The course's shared data folder (workloads, schema…): <c>../shared</c> next to the folder holding
/// DayTrading.sln, found by walking up from the test binaries. Tests that need it use
/// <see cref="SharedDataFactAttribute"/> / <see cref="SharedDataTheoryAttribute"/> so they are skipped, with the
/// reason, when it is absent. The reason is also sent as an xUnit diagnostic message (xunit.runner.json turns them
/// on), because dotnet test's default console lists a skipped test without its reason.
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
    public static string RequireOrSkip([CallerMemberName] string test = "")
    {
        if (Root is null)
        {
            Announce($"{test} skipped: {SkipReason}");
            Assert.Skip(SkipReason);
        }
        return Root!;
    }

    /// <summary>
    /// For a test that runs without the folder but leaves some of its checks out: true when they can run, else
    /// prints which checks were left out and why.
    /// </summary>
    public static bool AvailableFor(string checks, [CallerMemberName] string test = "")
    {
        if (Root is null) Announce($"{test}: {checks} not run: {SkipReason}");
        return Root is not null;
    }

    /// <summary>
    /// What <see cref="SharedDataFactAttribute"/> and <see cref="SharedDataTheoryAttribute"/> ask before each test:
    /// true when the folder is there, else prints that the running test is skipped and why.
    /// </summary>
    public static bool AvailableForTheRunningTest
    {
        get
        {
            if (Root is null) Announce($"{TestContext.Current.Test?.TestDisplayName ?? "a test"} skipped: {SkipReason}");
            return Root is not null;
        }
    }

    private static readonly ConcurrentDictionary<string, bool> Announced = new();

    /// <summary>
    /// Prints a line on dotnet test's console, once per line (a theory asks once per case).
    /// </summary>
    internal static void Announce(string line)
    {
        if (Announced.TryAdd(line, true)) TestContext.Current.SendDiagnosticMessage("../shared absent: " + line);
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
        // Decided when the test runs, not at discovery, so that the check can print which test it skips.
        Skip = SharedData.SkipReason;
        SkipType = typeof(SharedData);
        SkipUnless = nameof(SharedData.AvailableForTheRunningTest);
    }
}

/// <summary>A <see cref="TheoryAttribute"/> that skips (saying why) when the shared data folder is absent.</summary>
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    public SharedDataTheoryAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        // Decided when the test runs, not at discovery, so that the check can print which test it skips.
        Skip = SharedData.SkipReason;
        SkipType = typeof(SharedData);
        SkipUnless = nameof(SharedData.AvailableForTheRunningTest);
    }
}
