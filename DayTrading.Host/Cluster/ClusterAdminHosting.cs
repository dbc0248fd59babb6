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
    /// <remarks>Throws <see cref="AdminSecretException"/> (a clear message) when the admin secret cannot be had.</remarks>
    public static IServiceCollection AddClusterAdmin(this IServiceCollection services, NodeOptions options, IReadOnlyList<string> singletons)
    {
        if (options.AdminPort < 0) return services;
        var admin = new ClusterAdminOptions
        {
            Host = options.AdminHost,
            Port = options.AdminPort,
            Secret = ResolveSecret(options),
            MaxConnections = options.AdminMaxConnections,
            IdleTimeout = options.AdminIdleTimeout,
            Singletons = singletons,
        };
        return services.AddHostedService(sp => new ClusterAdminHostedService(sp.GetRequiredService<ActorSystem>(), admin, sp.GetRequiredService<NodeReadiness>()));
    }

    /// <summary>
    /// The node's admin secret: the file named by <c>--admin-secret-file</c> if any (created when missing), else
    /// <c>DAYTRADING_ADMIN_SECRET</c>, else <c>&lt;data dir&gt;/admin.secret</c> (created when missing).
    /// </summary>
    public static string ResolveSecret(NodeOptions options)
    {
        if (options.AdminSecretFile is { Length: > 0 } file) return AdminSecret.LoadOrCreate(file);
        if (options.AdminSecret is { } secret)
        {
            if (AdminSecret.Problem(secret) is { } problem) throw new AdminSecretException($"{AdminSecret.EnvironmentVariable}: {problem}");
            return secret;
        }
        return AdminSecret.LoadOrCreate(AdminSecret.DefaultPath(options.DataDirectory));
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
