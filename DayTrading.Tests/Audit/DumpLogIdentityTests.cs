using System.Xml.Linq;
using DayTrading.Host;
using DayTrading.Loadgen.Client;
using DayTrading.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>
/// A DUMPLOG repeat must be the same request, and every DUMPLOG failure is in the audit log (issue 13, item 9): the
/// three reproductions, through a real node's edge under a client run id.
/// </summary>
public sealed class DumpLogIdentityTests
{
    private sealed record Node(EdgeClient Client, string Dumps);

    private static async Task WithNode(Func<Node, CancellationToken, Task> test)
    {
        var ct = TestContext.Current.CancellationToken;
        using var data = new TempDirectory();
        using var host = NodeHost.Build(new NodeOptions { AdminPort = -1, DataDirectory = data.Path, TcpPort = 0, ClusterPort = 0, AutoTx = false, WebEnabled = false },
            TextWriter.Null, new FixedQuoteSource());
        await host.StartAsync(ct);
        try
        {
            var edge = await host.Services.GetRequiredService<NodeReadiness>().Edge.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
            await using var client = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, new EdgeClientOptions { RunId = "run-1" }, ct);
            await test(new Node(client, Path.Combine(data.Path, "dumps")), ct);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<EdgeResponse> Ok(Node node, string line, CancellationToken ct)
    {
        var r = await node.Client.SendAsync(line, ct);
        Assert.True(r.Ok, r.Raw);
        return r;
    }

    /// <summary>The audit log's entries for one transaction number, from a fresh admin dump.</summary>
    private static async Task<List<XElement>> Logged(Node node, long tx, long dumpTx, CancellationToken ct)
    {
        await Ok(node, $"[{dumpTx}] DUMPLOG,./check-{dumpTx}.xml", ct);
        var (errors, _) = AuditSchema.Validate(Path.Combine(node.Dumps, $"check-{dumpTx}.xml"), AuditSchema.Relaxed());
        Assert.Empty(errors);
        return XDocument.Load(Path.Combine(node.Dumps, $"check-{dumpTx}.xml")).Root!.Elements()
            .Where(e => e.Element("transactionNum")!.Value == tx.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }

    private static string Describe(XElement e) =>
        $"{e.Name.LocalName} {e.Element("username")?.Value} {e.Element("filename")?.Value}";

    [Fact]
    public Task A_second_DUMPLOG_of_another_user_under_the_same_run_id_and_number_is_refused_and_audited() => WithNode(async (node, ct) =>
    {
        await Ok(node, "[1] ADD,alice,10.00", ct);
        await Ok(node, "[2] ADD,bob,10.00", ct);
        var alices = await Ok(node, "[5] DUMPLOG,alice,a.xml", ct);

        var bobs = await node.Client.SendAsync("[5] DUMPLOG,bob,b.xml", ct);
        Assert.False(bobs.Ok, bobs.Raw);
        Assert.Contains("already used for a different DUMPLOG", bobs.Reason);
        Assert.False(File.Exists(Path.Combine(node.Dumps, "b.xml")));
        // Alice's retry is still a retry: her dump's result again.
        Assert.Equal(alices.Body, (await Ok(node, "[5] DUMPLOG,alice,a.xml", ct)).Body);

        var logged = await Logged(node, 5, 100, ct);
        Assert.Equal(["userCommand alice a.xml", "userCommand bob b.xml", "errorEvent bob b.xml"], logged.Select(Describe));
        Assert.Equal(bobs.Reason, logged[2].Element("errorMessage")!.Value);
    });

    [Fact]
    public Task A_DUMPLOG_that_fails_while_writing_is_audited_as_an_error() => WithNode(async (node, ct) =>
    {
        await Ok(node, "[1] ADD,alice,10.00", ct);
        // 255 characters: the longest name the edge accepts is written (its temporary file too).
        var longest = new string('a', 251) + ".xml";
        await Ok(node, $"[2] DUMPLOG,alice,{longest}", ct);
        Assert.True(File.Exists(Path.Combine(node.Dumps, longest)));

        // 200 characters, but 400 bytes: the file system refuses the name only when the dump writes it.
        var tooLong = new string('é', 200);
        var user = await node.Client.SendAsync($"[3] DUMPLOG,alice,{tooLong}", ct);
        Assert.False(user.Ok, user.Raw);
        Assert.Contains("failed", user.Reason);
        var admin = await node.Client.SendAsync($"[4] DUMPLOG,{tooLong}", ct);
        Assert.False(admin.Ok, admin.Raw);

        Assert.Equal(["userCommand alice " + longest], (await Logged(node, 2, 100, ct)).Select(Describe));
        var failed = await Logged(node, 3, 101, ct);
        Assert.Equal(["userCommand alice " + tooLong, "errorEvent alice " + tooLong], failed.Select(Describe));
        Assert.Equal(user.Reason, failed[1].Element("errorMessage")!.Value);
        var adminFailed = await Logged(node, 4, 102, ct);
        Assert.Equal(["userCommand  " + tooLong, "errorEvent  " + tooLong], adminFailed.Select(Describe));
        Assert.Equal(admin.Reason, adminFailed[1].Element("errorMessage")!.Value);
    });

    [Fact]
    public Task An_admin_DUMPLOG_under_the_run_id_and_number_of_a_refused_line_is_refused_and_audited() => WithNode(async (node, ct) =>
    {
        var foo = await node.Client.SendAsync("[7] FOO,alice", ct);
        Assert.False(foo.Ok, foo.Raw);
        var dump = await node.Client.SendAsync("[7] DUMPLOG,./all.xml", ct);
        Assert.False(dump.Ok, dump.Raw);
        Assert.Contains("already used for a different request", dump.Reason);
        Assert.False(File.Exists(Path.Combine(node.Dumps, "all.xml")));
        // The refused line's retry is one, and changes nothing either.
        Assert.False((await node.Client.SendAsync("[7] FOO,alice", ct)).Ok);

        var logged = await Logged(node, 7, 100, ct);
        Assert.Equal(["errorEvent  ", "userCommand  ./all.xml", "errorEvent  ./all.xml"], logged.Select(Describe));
        Assert.Equal(dump.Reason, logged[2].Element("errorMessage")!.Value);
    });
}
