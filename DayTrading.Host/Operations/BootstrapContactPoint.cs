using System.Collections.Immutable;
using System.Net;
using Akka;
using Akka.Actor;
using Akka.Cluster;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Cluster.Bootstrap.ContactPoint;
using Akka.Management.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DayTrading.Host.Operations;

/// <summary>
/// This node's Cluster Bootstrap contact point: <c>GET /bootstrap/seed-nodes</c> on the management port, answering
/// exactly what Akka.Management's own route answers (its JSON protocol types, serialized the same way), so Akka.Management's
/// <see cref="ClusterBootstrap"/> — discovery, probing, the lowest-address join decision — runs unchanged.
/// </summary>
/// <remarks>
/// Why not Akka.Management's HTTP endpoint: <c>AkkaManagement.Start()</c> fails with a MissingMethodException
/// (<c>Ceen.Httpd.HttpServer.ListenAsync</c>) because Akka.Http.Shim 1.5.73 was built against Ceen.Httpd 0.9.9 and
/// the registry serves only 0.9.10, whose signature changed. Kestrel serves the one route instead (docs/CLUSTER.md#cluster-bootstrap).
/// </remarks>
public static class BootstrapContactPoint
{
    public const string SeedNodesPath = "/bootstrap/seed-nodes";

    // Bootstrap exposes at most this many members to a prober (Akka.Management's max-seed-nodes-to-expose default).
    private const int MaxSeedNodesToExpose = 5;

    /// <summary>Starts the contact point on <paramref name="host"/>:<paramref name="port"/>, then Cluster Bootstrap.</summary>
    public static async Task StartAsync(ActorSystem system, string host, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxConcurrentConnections = 32;
            k.Limits.MaxRequestBodySize = 0;
            k.Limits.MaxRequestHeadersTotalSize = 8 * 1024;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(5);
            k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(30);
            if (IPAddress.TryParse(host, out var ip)) k.Listen(ip, port);
            else if (host == "localhost") k.ListenLocalhost(port);
            else k.ListenAnyIP(port);
        });
        var app = builder.Build();
        app.MapGet(SeedNodesPath, () => Results.Text(SeedNodesJson(system), "application/json"));
        await app.StartAsync().ConfigureAwait(false);
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate, "stop-bootstrap-contact-point", async () =>
        {
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            return Done.Instance;
        });

        var bootstrap = ClusterBootstrap.Get(system);
        // Binding the routes ourselves is Akka.Management's documented alternative to its HTTP endpoint: Routes() is
        // how the bootstrap learns its own contact point (the returned Akka.Http routes are not served).
        _ = bootstrap.Routes(ManagementRouteProviderSettings.Create(new Uri($"http://{host}:{port}/"), readOnly: true));
        await bootstrap.Start().ConfigureAwait(false);
    }

    /// <summary>The members a prober may join: none while this node is not in a cluster (it may then form one).</summary>
    private static string SeedNodesJson(ActorSystem system)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var self = cluster.SelfMember;
        var members = ImmutableList<HttpBootstrapJsonProtocol.ClusterMember>.Empty;
        if (self.Status is not (MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Leaving or MemberStatus.Removed))
        {
            var state = cluster.State;
            members = state.Members
                .Where(m => !state.Unreachable.Contains(m) && m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining)
                .Take(MaxSeedNodesToExpose)
                .Select(m => new HttpBootstrapJsonProtocol.ClusterMember(m.UniqueAddress.Address, m.UniqueAddress.Uid, m.Status, m.Roles))
                .ToImmutableList();
        }
        return Newtonsoft.Json.JsonConvert.SerializeObject(new HttpBootstrapJsonProtocol.SeedNodes(self.UniqueAddress.Address, members));
    }
}
