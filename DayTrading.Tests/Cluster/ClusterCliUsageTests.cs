using System.CommandLine;
using System.Diagnostics;
using DayTrading.Host;
using DayTrading.Host.Cluster;
using Xunit;

namespace DayTrading.Tests.Cluster;

/// <summary>
/// The cluster admin CLI's usage (issue 16): its help names every singleton a node runs, and a line it cannot parse
/// gets one error line and a hint, not every parse error followed by the whole help. No node is needed.
/// </summary>
public sealed class ClusterCliUsageTests
{
    [Fact]
    public void The_singletons_help_names_every_singleton_a_node_runs()
    {
        var help = ClusterCommand.Create().Subcommands.Single(c => c.Name == "singletons").Description!;
        // NodeHost.Singletons by their managers' names: quote-manager, auditor, expiry-watcher, auto-tx-manager.
        Assert.Equal(4, NodeHost.Singletons(new NodeOptions()).Count);
        foreach (var singleton in new[] { "QuoteManager", "Auditor", "expiry watcher", "AutoTxManager", "sharding coordinator" })
            Assert.Contains(singleton, help);
    }

    [Theory]
    [InlineData(new[] { "cluster", "foo" }, "'foo'", "run 'cluster --help' to see the commands and options")]
    [InlineData(new[] { "cluster" }, "command", "run 'cluster --help' to see the commands and options")]
    [InlineData(new[] { "cluster", "leave" }, "Required argument missing", "run 'cluster leave --help' to see the commands and options")]
    [InlineData(new[] { "cluster", "members", "--bogus" }, "'--bogus'", "run 'cluster members --help' to see the commands and options")]
    public void A_parse_error_is_one_line_and_a_hint(string[] args, string errorMentions, string hint)
    {
        var root = new RootCommand("test") { ClusterCommand.Create() };
        var parse = root.Parse(args);
        Assert.True(CommandLineUsage.IsParseError(parse));
        var error = new StringWriter();
        Assert.Equal(CommandLineUsage.ExitUsage, CommandLineUsage.ReportParseError(parse, error));
        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(errorMentions, lines[0]);
        Assert.Equal(hint, lines[1].TrimEnd('\r'));
    }

    [Fact]
    public void Help_is_no_parse_error()
    {
        var root = new RootCommand("test") { ClusterCommand.Create() };
        Assert.False(CommandLineUsage.IsParseError(root.Parse(["cluster", "--help"])));
        Assert.False(CommandLineUsage.IsParseError(root.Parse(["cluster", "members", "--node", "127.0.0.1:1"])));
    }

    [Fact]
    public async Task The_executable_answers_an_unknown_verb_with_one_error_line_and_the_hint_and_exit_code_1()
    {
        var (code, output, error) = await RunHost("cluster", "foo");
        Assert.Equal(1, code);
        Assert.Equal("", output); // no help: the hint says where it is
        Assert.Equal(["error: Unrecognized command or argument 'foo'.", "run 'cluster --help' to see the commands and options"],
            error.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        (code, output, _) = await RunHost("cluster", "--help");
        Assert.Equal(0, code);
        Assert.Contains("singletons", output);
    }

    private static async Task<(int Exit, string Out, string Err)> RunHost(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "DayTrading.Host.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var e = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await o, await e);
    }
}
