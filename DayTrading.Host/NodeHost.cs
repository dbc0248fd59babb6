using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Persistence.Hosting;
using Akka.Remote.Hosting;
using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Cluster;
using DayTrading.Edge;
using DayTrading.Expiry;
using DayTrading.Host.Cluster;
using DayTrading.Persistence;
using DayTrading.Quotes;
using DayTrading.Serialization;
using DayTrading.Telemetry;
using DayTrading.Triggers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DayTrading.Host;

/// <summary>Builds one DayTrading node: the actor system with every capability wired, and its edges.</summary>
public static class NodeHost
{
    public static IHost Build(NodeOptions options, TextWriter? readyOutput = null, IQuoteSource? quoteSource = null, TimeProvider? clock = null)
    {
        Directory.CreateDirectory(options.DataDirectory);
        Directory.CreateDirectory(options.EffectiveDumpDirectory);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        RuntimeLog.Configure(builder, options);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        clock ??= TimeProvider.System;
        readyOutput ??= Console.Out;
        var quoteCache = new NodeQuoteCache();
        quoteSource ??= CreateQuoteSource(options, clock);
        var durable = options.Durable;
        var singletons = Singletons(options);
        var plugins = durable
            ? (Journal: DayTradingPersistence.JournalPluginId, Snapshots: DayTradingPersistence.SnapshotPluginId)
            : (Journal: "akka.persistence.journal.inmem", Snapshots: "akka.persistence.snapshot-store.inmem");

        builder.Services.AddSingleton(options).AddSingleton(clock).AddSingleton<NodeReadiness>()
            .AddMetrics().AddSingleton<NodeMetrics>();
        Operations.NodeHealth.AddChecks(builder.Services, options);
        builder.Services.AddSingleton<Operations.OperationsEndpoints>().AddHostedService<Operations.ClusterInstruments>();
        builder.Services.AddAkka(options.ClusterSystemName, akka =>
        {
            akka.WithNodeRuntimeLog(options)
                .WithNodePersistence(options)
                .WithNodeCluster(options)
                .AddDayTradingSerialization()
                .AddQuotes(new QuoteOptions(quoteSource, quoteCache, clock, options.NodeName))
                .AddAuditRecorder(options.NodeName)
                .AddAccounts(new AccountsOptions(options.NodeName, plugins.Journal, plugins.Snapshots, quoteCache, clock)
                {
                    NumberOfShards = options.Shards, AuditAll = options.Audit, MaxLiveAccounts = options.MaxLiveAccounts,
                })
                .AddAuditor(options.EffectiveDumpDirectory, durable ? system => DayTradingPersistence.CreateEventLogReader(system) : null);
            // Always on, whatever --auto-tx says: pending orders must expire even when their node died.
            if (durable) akka.AddExpiryWatcher(new ExpiryWatchOptions(), system => DayTradingPersistence.CreateEventLogReader(system), clock);
            if (durable && options.AutoTx)
                akka.AddAutoTx(new AutoTxOptions { RefreshPeriod = options.TriggerRefresh }, system => DayTradingPersistence.CreateEventLogReader(system), quoteCache, clock);
            akka.AddSingletonWatch(singletons);
        });
        builder.Services.AddTradeGateway();
        // The web port listens first, before the node is Up, so /healthz, /ready and /metrics answer from the start.
        if (options.WebEnabled) builder.Services.AddWebFrontEnd(options, readyOutput);
        builder.Services.AddClusterAdmin(options, singletons) // before the edge, so the ready line can say where it listens
            .AddTcpEdge(options, readyOutput);
        return builder.Build();
    }

    /// <summary>The cluster singletons a node with <paramref name="options"/> runs (by their managers' names).</summary>
    public static IReadOnlyList<string> Singletons(NodeOptions options)
    {
        var names = new List<string> { QuotesSetup.SingletonName, AuditSetup.SingletonName };
        if (options.Durable) names.Add(ExpirySetup.SingletonName);
        if (options.Durable && options.AutoTx) names.Add(TriggersSetup.SingletonName);
        return names;
    }

    /// <summary>Akka's log events into the node's runtime log (<see cref="RuntimeLog"/>).</summary>
    private static AkkaConfigurationBuilder WithNodeRuntimeLog(this AkkaConfigurationBuilder akka, NodeOptions options) =>
        akka.ConfigureLoggers(l =>
        {
            l.LogLevel = RuntimeLog.AkkaLevel(options.LogLevel);
            l.ClearLoggers();
            l.AddLogger<AkkaRuntimeLogger>();
        });

    /// <summary>The group-commit journal and snapshot store on the node's database; account events tagged for the projections.</summary>
    private static AkkaConfigurationBuilder WithNodePersistence(this AkkaConfigurationBuilder akka, NodeOptions options)
    {
        // Benchmarks only (--journal memory): measures everything but the database. Nothing survives the process.
        if (!options.Durable) return akka.WithInMemoryJournal(adapters => adapters.AddAccountEventTags()).WithInMemorySnapshotStore();
        var store = options.JournalStore();
        // Tagged on every node, trigger engine and expiry watcher on or off: they may run on another node, and they tail the tags.
        return akka.WithJournalAndSnapshot(new DayTradingJournalOptions(store), new DayTradingSnapshotOptions(store),
            adapters => adapters.AddAccountEventTags(), _ => { });
    }

    /// <summary>
    /// Remoting, the cluster (cluster.hocon: sharding, singletons, the split-brain resolver), pub-sub; a node
    /// without seeds seeds itself, unless Cluster Bootstrap (<c>--discovery config</c>) forms the cluster.
    /// </summary>
    private static AkkaConfigurationBuilder WithNodeCluster(this AkkaConfigurationBuilder akka, NodeOptions options)
    {
        akka.AddHocon(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "cluster.hocon")), HoconAddMode.Append);
        // The resolver is the project's own (Akka.Cluster.Hosting configures only the built-in ones): its settings stay HOCON.
        if (options.SbrStableAfter is { } stableAfter)
            akka.AddHocon($"{DayTrading.Cluster.Downing.DayTradingDowningProvider.StableAfterPath} = {(int)stableAfter.TotalMilliseconds}ms", HoconAddMode.Prepend);
        var seeds = options.SeedAddresses();
        akka.WithRemoting(options.ClusterHost, options.ClusterPort)
            .WithClustering(new ClusterOptions { SeedNodes = seeds, Roles = ["trading"] })
            .WithDistributedPubSub(null!);
        if (options.Discovery != "seed-nodes") return akka.WithClusterBootstrap(options);
        return akka.AddStartup((system, _) =>
        {
            // Its own address is known only once remoting is bound (port 0 in tests).
            if (seeds.Length == 0) Akka.Cluster.Cluster.Get(system).Join(Akka.Cluster.Cluster.Get(system).SelfAddress);
        });
    }

    /// <summary>
    /// Akka.Management Cluster Bootstrap, its contact point served by <see cref="Operations.BootstrapContactPoint"/>:
    /// the nodes find each other's contact points through Akka.Discovery (<c>config</c>: <c>--discovery-endpoints</c>;
    /// <c>kubernetes-api</c>: the pods the selector names), probe them, and the lowest address forms the cluster once
    /// the required number answer (or the others join the cluster one of them already formed). No seed list anywhere.
    /// </summary>
    private static AkkaConfigurationBuilder WithClusterBootstrap(this AkkaConfigurationBuilder akka, NodeOptions options)
    {
        static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        var endpoints = string.Join(", ", options.DiscoveryEndpoints.Select(Quote));
        var host = Quote(options.EffectiveManagementHost);
        var discovery = options.Discovery == "config"
            ? $$"""
              akka.discovery.method = config
              akka.discovery.config.services.{{BootstrapServiceName}}.endpoints = [{{endpoints}}]
              """
            // The pods' own IPs (use-raw-ip): their contact points answer there; the selector's {0} is not used.
            : $$"""
              akka.discovery.method = kubernetes-api
              akka.discovery.kubernetes-api.pod-label-selector = {{Quote(options.DiscoveryPodSelector)}}
              akka.discovery.kubernetes-api.use-raw-ip = true
              """;
        akka.AddHocon($$"""
            {{discovery}}
            akka.management.http.hostname = {{host}}
            akka.management.http.bind-hostname = {{host}}
            akka.management.http.port = {{options.ManagementPort}}
            akka.management.http.bind-port = {{options.ManagementPort}}
            akka.management.cluster.bootstrap.contact-point-discovery {
              service-name = {{BootstrapServiceName}}
              discovery-method = {{options.Discovery}}
              required-contact-point-nr = {{options.EffectiveRequiredContactPoints}}
              contact-with-all-contact-points = true
              stable-margin = 3s
              interval = 1s
            }
            # Every endpoint has its own port (several nodes on one host): probe them all, not only the ones on our port.
            akka.management.cluster.bootstrap.contact-point.filter-on-fallback-port = false
            akka.management.cluster.bootstrap.contact-point.probe-interval = 1s
            """, HoconAddMode.Prepend);
        return akka.AddStartup((system, _) =>
        {
            Operations.BootstrapContactPoint.StartAsync(system, options.EffectiveManagementHost, options.ManagementPort).GetAwaiter().GetResult();
        });
    }

    /// <summary>The service name Cluster Bootstrap looks up in discovery.</summary>
    public const string BootstrapServiceName = "daytrading";

    /// <summary>The node's one gateway into the cluster, shared by every edge.</summary>
    private static IServiceCollection AddTradeGateway(this IServiceCollection services) => services.AddSingleton<NodeGateway>();

    /// <summary>The web front end (started before the node is Up: its API answers 503 until then; stopped after the TCP edge).</summary>
    private static IServiceCollection AddWebFrontEnd(this IServiceCollection services, NodeOptions options, TextWriter readyOutput) =>
        services.AddHostedService(sp => new Web.WebFrontEnd(sp, options, sp.GetRequiredService<TimeProvider>(), readyOutput));

    /// <summary>The TCP edge, opened once the node is up in its cluster; closed first on shutdown.</summary>
    private static IServiceCollection AddTcpEdge(this IServiceCollection services, NodeOptions options, TextWriter readyOutput) =>
        services.AddHostedService(sp => new EdgeHostedService(sp.GetRequiredService<ActorSystem>(), sp.GetRequiredService<NodeGateway>(),
            options, sp.GetRequiredService<NodeReadiness>(), sp.GetRequiredService<Operations.NodeHealth>(), readyOutput, sp.GetRequiredService<IHostApplicationLifetime>()));

    private static IQuoteSource CreateQuoteSource(NodeOptions options, TimeProvider clock)
    {
        if (options.QuoteServer is null) return new SimulatedQuoteSource(options.QuoteSeed, LatencyProfile.Parse(options.QuoteLatency), clock);
        var colon = options.QuoteServer.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(options.QuoteServer.AsSpan(colon + 1), out var port))
            throw new ArgumentException($"--quote-server must be host:port, not '{options.QuoteServer}'");
        return new LegacyQuoteClient(new LegacyQuoteClientOptions { Host = options.QuoteServer[..colon], Port = port });
    }
}

/// <summary>
/// Opens the TCP edge once the node has joined its cluster, says so in one line, and closes the edge first on
/// shutdown so no new request arrives while shards hand over.
/// </summary>
internal sealed class EdgeHostedService(ActorSystem system, NodeGateway nodeGateway, NodeOptions options, NodeReadiness readiness, Operations.NodeHealth health,
    TextWriter readyOutput, IHostApplicationLifetime lifetime) : IHostedService
{
    private TcpEdgeBinding? _binding;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(cancellationToken).ConfigureAwait(false);

        var gateway = await nodeGateway.GetAsync(cancellationToken).ConfigureAwait(false);
        // Checked afresh now that the node is Up, so the first connections are judged by this state, not the one
        // before. Cluster.SelfMember is a read view updated after the MemberUp callback: re-checked briefly until it
        // catches up (or 10 s pass; then the edge opens and refuses with the reason).
        var settleUntil = Environment.TickCount64 + 10_000;
        await health.EvaluateAsync(cancellationToken).ConfigureAwait(false);
        while (health.EdgeProblem is not null && Environment.TickCount64 < settleUntil)
        {
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            await health.EvaluateAsync(cancellationToken).ConfigureAwait(false);
        }
        _binding = await TcpEdge.StartAsync(system, options.EffectiveTcpAdmin ? gateway.WithAdminRights() : gateway, new TcpEdgeOptions
        {
            Host = options.TcpHost,
            Port = options.TcpPort,
            NotReady = () => health.EdgeProblem,
        }).ConfigureAwait(false);
        var journal = options.Journal switch
        {
            "sqlite" => $"SQLite {options.EffectiveConnectionString()["Data Source=".Length..]}",
            "memory" => "in memory (NOT durable: benchmarks only)",
            "redis" => $"Redis {options.Redis}" + (options.DbSchema.Length > 0 ? $" (key prefix {options.DbSchema})" : "") + (options.RedisUnsafe ? " (UNSAFE: not fsynced, benchmarks only)" : ""),
            _ => options.DbSchema.Length > 0 ? $"PostgreSQL (schema {options.DbSchema})" : "PostgreSQL",
        };
        var quotes = options.QuoteServer is null ? $"built-in simulator (seed {options.QuoteSeed}, latency {options.QuoteLatency})" : $"quote server {options.QuoteServer}";
        var edge = _binding.LocalEndPoint;
        // Written once every listener has started (the web starts after the edge), so the line names them all.
        lifetime.ApplicationStarted.Register(() =>
        {
            readyOutput.WriteLine(
                $"DayTrading node {options.NodeName} ready: TCP edge on {edge}, cluster {cluster.SelfAddress}, journal {journal}, quotes from {quotes}" +
                (readiness.Admin.Task.IsCompletedSuccessfully ? $", cluster admin on {readiness.Admin.Task.Result}" : "") +
                (readiness.Web.Task.IsCompletedSuccessfully ? $", web front end on {readiness.Web.Task.Result}" : ""));
            readyOutput.Flush();
        });
        readiness.Edge.TrySetResult(edge);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_binding is not null) await _binding.UnbindAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// The node's one <see cref="ClusterTradeGateway"/> (one reply collector for every edge), made once the actors it
/// sends to are registered.
/// </summary>
public sealed class NodeGateway
{
    private readonly Task<ClusterTradeGateway> _gateway;

    public NodeGateway(ActorSystem system, ActorRegistry registry, NodeOptions options, TimeProvider clock, NodeMetrics metrics) =>
        _gateway = CreateAsync(system, registry, options, clock, metrics);

    public Task<ClusterTradeGateway> GetAsync(CancellationToken cancellationToken) => _gateway.WaitAsync(cancellationToken);

    private static async Task<ClusterTradeGateway> CreateAsync(ActorSystem system, ActorRegistry registry, NodeOptions options, TimeProvider clock, NodeMetrics metrics)
    {
        var region = await registry.GetAsync<AccountRegionKey>().ConfigureAwait(false);
        var recorder = await registry.GetAsync<AuditRecorderKey>().ConfigureAwait(false);
        var auditor = await registry.GetAsync<AuditorKey>().ConfigureAwait(false);
        return new ClusterTradeGateway(new GatewaySettings(system, region, recorder, auditor, options.NodeName, clock, options.EffectiveDumpDirectory)
        {
            Timeout = options.RequestTimeout,
            Log = Akka.Event.Logging.GetLogger(system, "gateway"),
            Metrics = metrics,
        });
    }
}

/// <summary>Tells in-process users of a node (tests, tools) when and where its edge listens.</summary>
public sealed class NodeReadiness
{
    public TaskCompletionSource<System.Net.IPEndPoint> Edge { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The web front end's base address (http://host:port), once it listens.</summary>
    public TaskCompletionSource<Uri> Web { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Where the cluster admin channel listens (cluster, issue #7).</summary>
    public TaskCompletionSource<System.Net.IPEndPoint> Admin { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
