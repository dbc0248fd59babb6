using System.Net.Sockets;
using System.Text;
using Akka.Configuration;
using DayTrading.Accounts;
using DayTrading.Edge;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Edge;

/// <summary>Issue 13, item 5: a closed connection leaves nothing reachable. Measures the process heap, so it runs alone.</summary>
[Collection(HeapMeasurementCollection.Name)]
public sealed class TcpEdgeChurnTests(ITestOutputHelper output)
    : Akka.TestKit.Xunit.TestKit(ConfigurationFactory.ParseString("akka.loglevel = INFO"), output: output)
{
    private readonly FakeGateway _gateway = new();
    private TcpEdgeBinding? _edge;

    public override async ValueTask DisposeAsync()
    {
        if (_edge is not null) await _edge.UnbindAsync();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task Twenty_thousand_connections_opened_and_closed_leave_nothing_behind()
    {
        // Every closed connection used to keep ~15 KB reachable (its stream stage and kill switch).
        _edge = await TcpEdge.StartAsync(Sys, _gateway, new TcpEdgeOptions { TxNumbers = new TxNumberGenerator(9_000_000_000_000_000) });
        var port = _edge.LocalEndPoint.Port;
        async Task Churn(int count)
        {
            for (var i = 0; i < count; i++)
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(System.Net.IPAddress.Loopback, port);
                if (i % 10 == 0) // some of them send a line and read its answer first
                {
                    await s.SendAsync(Encoding.ASCII.GetBytes($"[{i + 1}] ADD,u{i % 50},1\n"));
                    var buf = new byte[64];
                    Assert.True(await s.ReceiveAsync(buf) > 0);
                }
                s.Shutdown(SocketShutdown.Both);
            }
        }
        await Churn(2_000); // warm up: JIT, pools
        await WaitForNoConnections();
        var before = ManagedHeap.AfterFullGc();
        await Churn(20_000);
        await WaitForNoConnections();
        var after = ManagedHeap.AfterFullGc();
        Output?.WriteLine($"managed heap {before / 1024} KiB before, {after / 1024} KiB after 20,000 connections");
        Assert.Equal(0, _edge.OpenConnections);
        // 15 KB each would be 300 MB; allow a few MB of unrelated noise (the test kit's own logging, pools).
        Assert.True(after - before < 8 * 1024 * 1024, $"managed heap grew by {(after - before) / 1024} KiB over 20,000 connections");
    }

    private async Task WaitForNoConnections()
    {
        // Zero for a whole second, not once: a connection the client already closed may still wait in the listen
        // backlog, and is counted open (then closed) only when the edge accepts it.
        var quietSince = Environment.TickCount64;
        for (var i = 0; i < 600 && Environment.TickCount64 - quietSince < 1000; i++)
        {
            if (_edge!.OpenConnections > 0) quietSince = Environment.TickCount64;
            await Task.Delay(50);
        }
        Assert.Equal(0, _edge!.OpenConnections);
    }
}
