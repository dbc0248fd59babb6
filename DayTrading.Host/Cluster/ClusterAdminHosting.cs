using Akka.Actor;
using DayTrading.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DayTrading.Host.Cluster;

public static class ClusterAdminHosting
{
    /// <summary>
    /// The cluster admin channel of this node (<see cref="ClusterAdminServer"/>), opened as soon as the actor system
    /// runs (so a node still joining can be asked about) and closed when the host stops.
    /// </summary>
    public static IServiceCollection AddClusterAdmin(this IServiceCollection services, NodeOptions options)
    {
        if (options.AdminPort < 0) return services;
        return services.AddHostedService(sp => new ClusterAdminHostedService(sp.GetRequiredService<ActorSystem>(),
            new ClusterAdminOptions { Host = options.AdminHost, Port = options.AdminPort }, sp.GetRequiredService<NodeReadiness>()));
    }
}

internal sealed class ClusterAdminHostedService(ActorSystem system, ClusterAdminOptions options, NodeReadiness readiness) : IHostedService
{
    private ClusterAdminServer? _server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _server = ClusterAdminServer.Start(system, options);
        readiness.Admin.TrySetResult(_server.LocalEndPoint);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null) await _server.DisposeAsync().ConfigureAwait(false);
    }
}
