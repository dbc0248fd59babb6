using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Hosting;
using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Edge;
using DayTrading.Expiry;
using DayTrading.Host.Cluster;
using DayTrading.Persistence;
using DayTrading.Quotes;
using DayTrading.Serialization;
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
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        RuntimeLog.Configure(builder, options);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        clock ??= TimeProvider.System;
        var quoteCache = new NodeQuoteCache();
        quoteSource ??= CreateQuoteSource(options, clock);
        var hocon = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "cluster.hocon"));

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<NodeReadiness>();
        builder.Services.AddMetrics().AddSingleton<DayTrading.Telemetry.NodeMetrics>();
        builder.Services.AddAkka(options.ClusterSystemName, akka =>
        {
            var journalPlugin = DayTradingPersistence.JournalPluginId;
            var snapshotPlugin = DayTradingPersistence.SnapshotPluginId;
            if (options.Journal == "memory")
            {
                // Benchmarks only: measures everything but the database. Nothing survives the process.
                journalPlugin = "akka.persistence.journal.inmem";
                snapshotPlugin = "akka.persistence.snapshot-store.inmem";
            }
            else
            {
                akka.AddHocon(DayTradingPersistence.Hocon(options.Journal, options.EffectiveConnectionString(), schema: options.DbSchema), HoconAddMode.Prepend);
            }
            akka.ConfigureLoggers(l =>
            {
                l.LogLevel = RuntimeLog.AkkaLevel(options.LogLevel);
                l.ClearLoggers();
                l.AddLogger<AkkaRuntimeLogger>();
            });
            if (options.SbrStableAfter is { } stableAfter) // cluster (issue #7)
                akka.AddHocon($"{DayTrading.Cluster.Downing.DayTradingDowningProvider.StableAfterPath} = {(int)stableAfter.TotalMilliseconds}ms", HoconAddMode.Prepend);
            akka.AddHocon($"akka.persistence.journal.plugin = \"{journalPlugin}\"\nakka.persistence.snapshot-store.plugin = \"{snapshotPlugin}\"", HoconAddMode.Prepend)
                .AddHocon(hocon, HoconAddMode.Append)
                .AddDayTradingSerialization()
                .WithRemoting(options.ClusterHost, options.ClusterPort)
                .WithClustering(new ClusterOptions { SeedNodes = options.SeedAddresses(), Roles = ["trading"] })
                .WithDistributedPubSub(null!)
                .AddQuotes(new QuoteOptions(quoteSource, quoteCache, clock, options.NodeName))
                .AddAccountEventTags(journalPlugin)
                .AddAuditRecorder(options.NodeName)
                .AddAccounts(new AccountsOptions(options.NodeName, journalPlugin, snapshotPlugin, quoteCache, clock) { NumberOfShards = options.Shards, AuditAll = options.Audit, MaxLiveAccounts = options.MaxLiveAccounts });
            Directory.CreateDirectory(options.EffectiveDumpDirectory);
            akka.AddAuditor(options.EffectiveDumpDirectory,
                options.Journal == "memory" ? null : system => DayTradingPersistence.CreateEventLogReader(system));
            if (options.Journal != "memory")
            {
                // Always on, whatever --auto-tx says: pending orders must expire even when their node died.
                akka.AddExpiryWatcher(new ExpiryWatchOptions(), system => DayTradingPersistence.CreateEventLogReader(system), clock);
            }
            if (options.AutoTx && options.Journal != "memory")
            {
                akka.AddAutoTx(new AutoTxOptions { RefreshPeriod = options.TriggerRefresh },
                    system => DayTradingPersistence.CreateEventLogReader(system), quoteCache, clock);
            }
        });
        builder.Services.AddClusterAdmin(options); // cluster (issue #7): before the edge, so the ready line can say where it listens
        builder.Services.AddHostedService(sp => new EdgeHostedService(sp.GetRequiredService<ActorSystem>(),
            sp.GetRequiredService<ActorRegistry>(), options, sp.GetRequiredService<NodeReadiness>(), readyOutput ?? Console.Out,
            sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<DayTrading.Telemetry.NodeMetrics>()));
        // Web front end (after the edge: it shares the edge's audit recorder).
        if (options.WebEnabled) builder.Services.AddHostedService(sp => new Web.WebFrontEnd(sp, options, clock, readyOutput ?? Console.Out));
        return builder.Build();
    }

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
internal sealed class EdgeHostedService(ActorSystem system, ActorRegistry registry, NodeOptions options, NodeReadiness readiness, TextWriter readyOutput,
    IHostApplicationLifetime lifetime, DayTrading.Telemetry.NodeMetrics metrics) : IHostedService
{
    private TcpEdgeBinding? _binding;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        if (options.SeedNodes.Count == 0) cluster.Join(cluster.SelfAddress);
        await up.Task.WaitAsync(cancellationToken).ConfigureAwait(false);

        var region = await registry.GetAsync<AccountRegionKey>(cancellationToken).ConfigureAwait(false);
        var recorder = await registry.GetAsync<AuditRecorderKey>(cancellationToken).ConfigureAwait(false);
        var auditor = await registry.GetAsync<AuditorKey>(cancellationToken).ConfigureAwait(false);
        var gateway = new ClusterTradeGateway(new GatewaySettings(system, region, recorder, auditor, options.NodeName, TimeProvider.System,
            options.EffectiveDumpDirectory, options.EffectiveTcpAdmin)
        {
            Timeout = options.RequestTimeout,
            Log = Akka.Event.Logging.GetLogger(system, "gateway"),
            Metrics = metrics,
        });
        _binding = await TcpEdge.StartAsync(system, gateway, new TcpEdgeOptions
        {
            Host = options.TcpHost,
            Port = options.TcpPort,
        }).ConfigureAwait(false);
        var journal = options.Journal switch
        {
            "sqlite" => $"SQLite {options.EffectiveConnectionString()["Data Source=".Length..]}",
            "memory" => "in memory (NOT durable: benchmarks only)",
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

/// <summary>Tells in-process users of a node (tests, tools) when and where its edge listens.</summary>
public sealed class NodeReadiness
{
    public TaskCompletionSource<System.Net.IPEndPoint> Edge { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The web front end's base address (http://host:port), once it listens.</summary>
    public TaskCompletionSource<Uri> Web { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>Where the cluster admin channel listens (cluster, issue #7).</summary>
    public TaskCompletionSource<System.Net.IPEndPoint> Admin { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
