using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace DayTrading.Loadgen.Reporting;

/// <summary>One named setting of the run, in the order the report lists them.</summary>
public sealed record Setting(string Name, string Value);

/// <summary>
/// Where a run was measured: figures from two runs compare only when machine, commit and options match, so the
/// report carries them. The machine is the Loadgen's (on one box also the node's); the node's options are whatever
/// the user passed with <c>--node-options</c> (the Loadgen cannot see them); the commit is <c>--commit</c> or, when
/// not given, <c>git rev-parse</c> of the working directory, marked "(modified)" when tracked files differ from it.
/// </summary>
public sealed record RunEnvironment(
    string Machine, string Os, int Cores, long MemoryBytes, string Runtime, string? Commit, string? NodeOptions, IReadOnlyList<Setting> LoadgenOptions)
{
    public static RunEnvironment Capture(string? commit, string? nodeOptions, IReadOnlyList<Setting> loadgenOptions) => new(
        Environment.MachineName,
        $"{RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})",
        Environment.ProcessorCount,
        TotalMemoryBytes(),
        RuntimeInformation.FrameworkDescription,
        string.IsNullOrWhiteSpace(commit) ? null : commit.Trim(),
        string.IsNullOrWhiteSpace(nodeOptions) ? null : nodeOptions.Trim(),
        loadgenOptions);

    /// <summary>The machine's RAM: MemTotal of /proc/meminfo on Linux, else what the GC sees as available (a container limit included).</summary>
    public static long TotalMemoryBytes()
    {
        try
        {
            if (File.Exists("/proc/meminfo"))
            {
                foreach (var line in File.ReadLines("/proc/meminfo"))
                {
                    if (!line.StartsWith("MemTotal:", StringComparison.Ordinal)) continue;
                    var kb = line["MemTotal:".Length..].Trim().Split(' ')[0];
                    if (long.TryParse(kb, NumberStyles.None, CultureInfo.InvariantCulture, out var k)) return k * 1024;
                }
            }
        }
        catch (IOException)
        {
            // fall back to the GC's view
        }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    /// <summary>The commit checked out in <paramref name="directory"/> (12 hex digits, "(modified)" when tracked files changed); null without git or a repository.</summary>
    public static string? GitCommitOf(string directory)
    {
        var head = Git(directory, "rev-parse --short=12 HEAD");
        if (head is null || head.Length == 0) return null;
        var changes = Git(directory, "status --porcelain --untracked-files=no");
        return changes is { Length: > 0 } ? $"{head} (modified)" : head;
    }

    private static string? Git(string directory, string arguments)
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", arguments)
            {
                WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            });
            if (git is null) return null;
            var output = git.StandardOutput.ReadToEndAsync();
            _ = git.StandardError.ReadToEndAsync();
            if (!git.WaitForExit(5000))
            {
                git.Kill();
                return null;
            }
            return git.ExitCode == 0 ? output.GetAwaiter().GetResult().Trim() : null;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return null; // no git on the machine
        }
    }

    public string MemoryText => MemoryBytes <= 0 ? "unknown" : string.Create(CultureInfo.InvariantCulture, $"{MemoryBytes / (1024.0 * 1024 * 1024):0.0} GiB");
}
