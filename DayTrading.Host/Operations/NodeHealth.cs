using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using DayTrading.Accounts;
using DayTrading.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DayTrading.Host.Operations;

/// <summary>
/// Whether this node can take trading traffic, as ASP.NET Core health checks evaluated once a second (and at once
/// when the node comes Up) by <see cref="NodeHealthMonitor"/>. <c>/ready</c> answers from the latest report, and the
/// TCP edge refuses new connections while a check tagged <see cref="EdgeTag"/> fails (docs/OPERATIONS.md).
/// </summary>
public sealed class NodeHealth(HealthCheckService checks, ActorSystem system, ILogger<NodeHealth> log)
{
    /// <summary>Checks that answer /ready.</summary>
    public const string ReadyTag = "ready";

    /// <summary>Checks without which the TCP edge takes no new connection (the quote source is not one: without it ADD, COMMIT and DISPLAY_SUMMARY still work).</summary>
    public const string EdgeTag = "edge";

    private readonly SemaphoreSlim _evaluating = new(1, 1);
    private volatile HealthReport? _latest;
    private int _edgeFailuresInARow;
    private volatile string? _edgeProblem = "the node is starting";
    private volatile bool _stopping;

    /// <summary>The latest evaluation; null before the first.</summary>
    public HealthReport? Latest => _latest;

    /// <summary>Why the TCP edge refuses a new connection now, or null.</summary>
    public string? EdgeProblem => _stopping ? "the node is shutting down" : _edgeProblem;

    public bool Stopping => _stopping;

    internal void Stop() => _stopping = true;

    // Leaving the cluster on purpose (SIGTERM, `cluster leave`) ends readiness as it should: nothing to warn about.
    private bool ShuttingDown => _stopping || CoordinatedShutdown.Get(system).ShutdownReason is not null;

    /// <summary>Runs the ready checks now and publishes the result (the monitor's loop; the TCP edge once the node is Up).</summary>
    public async Task<HealthReport> EvaluateAsync(CancellationToken cancellationToken)
    {
        // One evaluation at a time: one begun before the node came Up must not publish after the edge's fresh one.
        await _evaluating.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var report = await checks.CheckHealthAsync(r => r.Tags.Contains(ReadyTag), cancellationToken).ConfigureAwait(false);
            Publish(report);
            return report;
        }
        finally
        {
            _evaluating.Release();
        }
    }

    private void Publish(HealthReport report)
    {
        var before = _latest;
        _latest = report;
        if (before?.Status != report.Status)
        {
            var failing = report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => $"{e.Key}: {e.Value.Description}").ToArray();
            if (failing.Length == 0) log.LogInformation("node ready: every check passes");
            // Not ready while starting is the normal course of things; only losing readiness is worth a warning.
            else if (before?.Status == HealthStatus.Healthy && !ShuttingDown) log.LogWarning("node no longer ready: {Failing}", string.Join("; ", failing));
            else log.LogInformation("node not ready yet: {Failing}", string.Join("; ", failing));
        }
        var failed = report.Entries.Where(e => e.Value.Status == HealthStatus.Unhealthy && e.Value.Tags.Contains(EdgeTag))
            .Select(e => e.Value.Description ?? e.Key).ToArray();
        // Once open, the edge closes only on a second failing evaluation in a row: one probe that missed its timeout
        // on a loaded machine must not turn clients away.
        _edgeFailuresInARow = failed.Length == 0 ? 0 : _edgeFailuresInARow + 1;
        if (failed.Length == 0) _edgeProblem = null;
        else if (_edgeProblem is not null || _edgeFailuresInARow >= 2) _edgeProblem = string.Join("; ", failed);
    }

    /// <summary>Registers the node's checks (cluster member, shard region, journal, quote source) in its services.</summary>
    public static void AddChecks(IServiceCollection services, NodeOptions options)
    {
        var timeout = TimeSpan.FromSeconds(2);
        services.AddSingleton<NodeHealth>().AddHostedService<NodeHealthMonitor>();
        services.AddHealthChecks()
            .Add(new HealthCheckRegistration("cluster-member", sp => new MemberUpCheck(sp.GetRequiredService<ActorSystem>()), HealthStatus.Unhealthy, [ReadyTag, EdgeTag], timeout))
            .Add(new HealthCheckRegistration("shard-region", sp => new ShardRegionCheck(sp.GetRequiredService<ActorRegistry>()), HealthStatus.Unhealthy, [ReadyTag, EdgeTag], timeout))
            .Add(new HealthCheckRegistration("journal", sp => new JournalCheck(sp.GetRequiredService<ActorSystem>(), options), HealthStatus.Unhealthy, [ReadyTag, EdgeTag], timeout))
            .Add(new HealthCheckRegistration("quote-source", _ => new QuoteSourceCheck(options), HealthStatus.Unhealthy, [ReadyTag], timeout));
    }

    private sealed class MemberUpCheck(ActorSystem system) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var self = Akka.Cluster.Cluster.Get(system).SelfMember;
            return Task.FromResult(self.Status == MemberStatus.Up
                ? HealthCheckResult.Healthy($"member {self.Address} is Up")
                : HealthCheckResult.Unhealthy(self.Status == MemberStatus.Removed ? "this node has not joined its cluster yet" : $"this node is {self.Status} in its cluster, not Up"));
        }
    }

    private sealed class ShardRegionCheck(ActorRegistry registry) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(registry.TryGet<AccountRegionKey>(out _)
                ? HealthCheckResult.Healthy("the account shard region is registered")
                : HealthCheckResult.Unhealthy("the account shard region is not registered yet"));
    }

    private sealed class JournalCheck(ActorSystem system, NodeOptions options) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (!options.Durable) return HealthCheckResult.Healthy("in-memory journal (benchmarks only)");
            var problem = await DayTradingPersistence.JournalWriteProblemAsync(system, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            return problem is null ? HealthCheckResult.Healthy($"the {options.Journal} journal takes writes") : HealthCheckResult.Unhealthy(problem);
        }
    }

    // A TCP connect, at most once every 5 s: the legacy server takes one query per connection, so nothing is asked.
    private sealed class QuoteSourceCheck(NodeOptions options) : IHealthCheck
    {
        private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
        private HealthCheckResult _last;
        private long _lastAtMs = long.MinValue;

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (options.QuoteServer is not { } server) return HealthCheckResult.Healthy($"built-in quote simulator (latency {options.QuoteLatency})");
            if (Environment.TickCount64 - _lastAtMs < CacheFor.TotalMilliseconds) return _last;
            var colon = server.LastIndexOf(':');
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                await socket.ConnectAsync(server[..colon], int.Parse(server.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture), cts.Token).ConfigureAwait(false);
                _last = HealthCheckResult.Healthy($"quote server {server} accepts connections");
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                _last = HealthCheckResult.Unhealthy($"quote server {server} unreachable: {(e is OperationCanceledException ? "no connection within 1 s" : e.Message)}");
            }
            _lastAtMs = Environment.TickCount64;
            return _last;
        }
    }
}

/// <summary>Evaluates the node's ready checks once a second, and at once when the node comes Up.</summary>
internal sealed class NodeHealthMonitor(NodeHealth health, ActorSystem system, IHostApplicationLifetime lifetime) : BackgroundService
{
    private readonly SemaphoreSlim _kick = new(0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        lifetime.ApplicationStopping.Register(health.Stop);
        Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => _kick.Release());
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await health.EvaluateAsync(stoppingToken).ConfigureAwait(false);
                await _kick.WaitAsync(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

}
