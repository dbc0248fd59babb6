using System.Globalization;

namespace DayTrading.Host;

/// <summary>
/// Everything a node is told at start. Each setting is stated once, here: its <see cref="NodeOptionAttribute"/>
/// names the command-line option (whose environment variable is DAYTRADING_ and the name in capitals) and says what it
/// is for; the initializer is the default. <see cref="NodeOptionsBinding"/> binds them from the command line, the
/// environment and an optional appsettings.json (in that order of precedence) and writes the README's table.
/// Defaults give a single node with zero set-up.
/// </summary>
public sealed record NodeOptions
{
    [NodeOption("--node-name", "name of the node (logs, audit `server`)")]
    public string NodeName { get; init; } = "node1";

    [NodeOption("--data-dir", "SQLite journal (`daytrading.db`), dumps, logs",
        Default = "`./data` (of the working directory; `dotnet run -c Release --project DayTrading.Host` runs in `DayTrading.Host/`)")]
    public string DataDirectory { get; init; } = "./data";

    [NodeOption("--tcp-host", "interface of the TCP edge")]
    public string TcpHost { get; init; } = "127.0.0.1";

    [NodeOption("--tcp-port", "port of the TCP edge (0: any free port, printed in the ready line)")]
    public int TcpPort { get; init; } = 4440;

    [NodeOption("--cluster-host", "host name other nodes reach this one at (Akka.Remote)")]
    public string ClusterHost { get; init; } = "127.0.0.1";

    [NodeOption("--cluster-port", "Akka.Remote port")]
    public int ClusterPort { get; init; } = 4441;

    /// <summary>Akka addresses or host:port pairs; empty means this node joins itself (a single node, or the first).</summary>
    [NodeOption("--seed-nodes", "comma-separated `host:port` (or full Akka addresses) of seed nodes", Default = "none: the node joins itself")]
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    [NodeOption("--discovery", "how the node finds its cluster: `seed-nodes` (the `--seed-nodes` list, or itself), `config` (Akka.Management Cluster Bootstrap over `--discovery-endpoints`) or `kubernetes-api` (Cluster Bootstrap over the pods `--discovery-pod-selector` selects; not run here) ([docs/CLUSTER.md](docs/CLUSTER.md#cluster-bootstrap))")]
    public string Discovery { get; init; } = "seed-nodes";

    [NodeOption("--discovery-pod-selector", "with `--discovery kubernetes-api`: label selector of the cluster's pods (their contact points listen on `--management-port`)")]
    public string DiscoveryPodSelector { get; init; } = "app=daytrading";

    [NodeOption("--discovery-required-contact-points", "contact points that must answer before the lowest-addressed node forms a new cluster", Default = "with `config`: every endpoint listed; with `kubernetes-api`: 3")]
    public int? DiscoveryRequiredContactPoints { get; init; }

    [NodeOption("--discovery-endpoints", "with `--discovery config`: comma-separated `host:port` of every node's contact point (`--management-port`), this node's too", Default = "none")]
    public IReadOnlyList<string> DiscoveryEndpoints { get; init; } = [];

    [NodeOption("--management-port", "port of the node's Cluster Bootstrap contact point (HTTP `GET /bootstrap/seed-nodes`; only with `--discovery config`)")]
    public int ManagementPort { get; init; } = 8558;

    [NodeOption("--management-host", "interface and host name of the Cluster Bootstrap contact point", Default = "`--cluster-host`")]
    public string? ManagementHost { get; init; }

    [NodeOption("--otlp-endpoint", "also export the node's metrics over OTLP to this URL (e.g. `http://localhost:4317`); `/metrics` is served on the web port whenever the web front end is on", Default = "none")]
    public string? OtlpEndpoint { get; init; }

    [NodeOption("--journal", "`sqlite` (single node), `postgresql` (a cluster), `redis` (one Redis server with `appendfsync always`; `--redis`) or `memory` (**benchmarks only**: no database at all, nothing survives)")]
    public string Journal { get; init; } = "sqlite";

    [NodeOption("--redis", "with `--journal redis`: the Redis server, `host:port` (StackExchange.Redis configuration string); `--db-schema` is the key prefix", Default = "none")]
    public string? Redis { get; init; }

    [NodeOption("--redis-unsafe", "with `--journal redis`: start although the server does not fsync every write (**benchmarks only**: an acknowledged event may be lost on a crash)")]
    public bool RedisUnsafe { get; init; }

    [NodeOption("--connection-string", "journal database; required with `--journal postgresql`", Default = "SQLite file in the data dir")]
    public string? ConnectionString { get; init; }

    [NodeOption("--quote-server", "`host:port` of a legacy quote server", Default = "built-in simulator")]
    public string? QuoteServer { get; init; }

    [NodeOption("--quote-seed", "seed of the built-in simulator's prices")]
    public int QuoteSeed { get; init; } = 42;

    [NodeOption("--quote-latency", "built-in simulator latency: `none`, `fixed:<ms>`, `lab`")]
    public string QuoteLatency { get; init; } = "none";

    [NodeOption("--shards", "account shards; identical on every node for the life of the data")]
    public int Shards { get; init; } = 100;

    [NodeOption("--max-live-accounts", "live account entities on this node above which an idle one (nothing pending) passivates as soon as it has answered instead of after 2 min ([docs/SECURITY.md](docs/SECURITY.md))")]
    public int MaxLiveAccounts { get; init; } = 20_000;

    [NodeOption("--dump-dir", "DUMPLOG writes only below it", Default = "`dumps` in the data dir")]
    public string? DumpDirectory { get; init; }

    [NodeOption("--tcp-admin", "the TCP edge may run the system-wide `DUMPLOG,filename`", Default = "true when the edge is on loopback")]
    public bool? TcpAdmin { get; init; }

    [NodeOption("--auto-tx", "armed triggers fire (the AutoTxManager runs); `false` keeps them armed but idle")]
    public bool AutoTx { get; init; } = true;

    [NodeOption("--trigger-refresh-seconds", "refresh period of quotes for symbols with armed triggers")]
    public TimeSpan TriggerRefresh { get; init; } = TimeSpan.FromSeconds(60);

    [NodeOption("--log-level", "runtime log level (`Verbose`, `Debug`, `Information`, `Warning`, `Error`)")]
    public string LogLevel { get; init; } = "Information";

    [NodeOption("--audit", "journal every request for the audit log; `false` (**benchmarks only**): requests that change nothing are neither journaled nor audited")]
    public bool Audit { get; init; } = true;

    [NodeOption("--request-timeout-seconds", "how long an edge waits for an account (resending the request every 5 s meanwhile) before answering \"outcome unknown, retry\"")]
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    // Web front end (DayTrading.Host/Web): REST API + browser UI in this process.
    [NodeOption("--web", "serve the web front end on this node (`--web false`: off)")]
    public bool WebEnabled { get; init; } = true;

    [NodeOption("--web-host", "interface of the web front end")]
    public string WebHost { get; init; } = "127.0.0.1";

    [NodeOption("--web-port", "port of the web front end (0: any free port, printed in the ready line)")]
    public int WebPort { get; init; } = 8080;

    [NodeOption("--web-admin-password", "password of the web administrator `admin` (at most 128 characters)", Default = "none: no admin login")]
    public string? WebAdminPassword { get; init; }

    [NodeOption("--web-max-body-bytes", "largest request body the web front end reads (413 beyond; its API takes small JSON documents only)")]
    public long WebMaxBodyBytes { get; init; } = 16 * 1024;

    [NodeOption("--web-max-connections", "web connections open at once (the live feed keeps one per open page)")]
    public long WebMaxConnections { get; init; } = 1000;

    // Cluster
    [NodeOption("--admin-host", "interface of the cluster admin channel (the `cluster` CLI's server); keep it on loopback unless the network is trusted")]
    public string AdminHost { get; init; } = "127.0.0.1";

    [NodeOption("--admin-port", "port of the cluster admin channel (0: any free port, printed in the ready line; -1: off)")]
    public int AdminPort { get; init; } = 4442;

    [NodeOption("--admin-secret-file", "the admin channel's shared secret (a missing file is created with a random one, mode 0600) ([docs/SECURITY.md](docs/SECURITY.md))",
        Default = "`DAYTRADING_ADMIN_SECRET` if set, else `admin.secret` in the data dir")]
    public string? AdminSecretFile { get; init; }

    /// <summary>The admin secret itself: no command-line option, to keep it out of <c>ps</c>.</summary>
    [NodeOption("--admin-secret", "the admin channel's shared secret itself (environment only: kept out of `ps`)", Default = "none", EnvironmentOnly = true)]
    public string? AdminSecret { get; init; }

    [NodeOption("--admin-max-connections", "admin channel connections served at once")]
    public int AdminMaxConnections { get; init; } = 16;

    [NodeOption("--admin-idle-timeout-seconds", "how long an admin connection has to send its request")]
    public TimeSpan AdminIdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    [NodeOption("--db-schema", "PostgreSQL schema of the journal tables (created if missing); with `--journal redis` the key prefix of everything the node keeps there", Default = "the search path; Redis: `dt`")]
    public string DbSchema { get; init; } = "";

    [NodeOption("--sbr-stable-after-seconds", "stable-after of the project's split-brain resolver ([docs/CLUSTER.md](docs/CLUSTER.md#the-split-brain-resolver))",
        Default = "`15` (cluster.hocon, `akka.cluster.daytrading-downing.stable-after`)")]
    public TimeSpan? SbrStableAfter { get; init; }

    /// <summary>False only with <c>--journal memory</c> (benchmarks): then nothing survives, and the journal projections do not run.</summary>
    public bool Durable => Journal != "memory";

    public string EffectiveDumpDirectory => Path.GetFullPath(DumpDirectory ?? Path.Combine(DataDirectory, "dumps"));

    public bool EffectiveTcpAdmin => TcpAdmin ?? (TcpHost is "127.0.0.1" or "localhost" or "::1");

    public string ClusterSystemName => "daytrading";

    public string EffectiveManagementHost => ManagementHost ?? ClusterHost;

    /// <summary>Cluster Bootstrap's required-contact-point-nr.</summary>
    public int EffectiveRequiredContactPoints => DiscoveryRequiredContactPoints ?? (Discovery == "config" ? DiscoveryEndpoints.Count : 3);

    public string SelfAddress => $"akka.tcp://{ClusterSystemName}@{ClusterHost}:{ClusterPort.ToString(CultureInfo.InvariantCulture)}";

    public string[] SeedAddresses() =>
        SeedNodes.Select(s => s.Contains("://", StringComparison.Ordinal) ? s : $"akka.tcp://{ClusterSystemName}@{s}").ToArray();

    public string EffectiveConnectionString()
    {
        if (Journal == "redis") return Redis ?? throw new ArgumentException("--redis is required with --journal redis");
        if (ConnectionString is not null) return ConnectionString;
        if (Journal == "memory") return "";
        if (Journal != "sqlite") throw new ArgumentException("--connection-string is required with --journal postgresql");
        var path = Path.GetFullPath(Path.Combine(DataDirectory, "daytrading.db"));
        return $"Data Source={path}";
    }

    /// <summary>The journal and snapshot store these options name (a durable journal only).</summary>
    public DayTrading.Persistence.DayTradingDbSettings JournalStore() =>
        DayTrading.Persistence.DayTradingPersistence.Store(Journal, EffectiveConnectionString(), DbSchema) with { RedisUnsafe = RedisUnsafe };

    /// <summary>A clear error for settings that cannot work, or null.</summary>
    public string? Validate()
    {
        if (Journal is not ("sqlite" or "postgresql" or "redis" or "memory")) return $"--journal must be sqlite, postgresql, redis or memory, not '{Journal}'";
        if (Journal == "redis" && string.IsNullOrWhiteSpace(Redis)) return "--journal redis needs --redis host:port";
        if (Journal != "redis" && (Redis is not null || RedisUnsafe)) return "--redis and --redis-unsafe go with --journal redis";
        if (Journal == "postgresql" && string.IsNullOrWhiteSpace(ConnectionString)) return "--journal postgresql needs --connection-string";
        if (Discovery is not ("seed-nodes" or "config" or "kubernetes-api")) return $"--discovery must be seed-nodes, config or kubernetes-api, not '{Discovery}'";
        if (Discovery != "seed-nodes" && SeedNodes.Count > 0) return $"--discovery {Discovery} forms the cluster without --seed-nodes: give one or the other";
        if (DiscoveryRequiredContactPoints is < 1 or > 1000) return "--discovery-required-contact-points must be between 1 and 1000";
        if (Discovery == "kubernetes-api" && (string.IsNullOrWhiteSpace(DiscoveryPodSelector) || DiscoveryPodSelector.Contains('"')))
            return "--discovery-pod-selector must be a Kubernetes label selector such as app=daytrading";
        if (Discovery == "config")
        {
            if (DiscoveryEndpoints.Count == 0) return "--discovery config needs --discovery-endpoints host:port,… (every node's management endpoint)";
            foreach (var e in DiscoveryEndpoints)
            {
                var colon = e.LastIndexOf(':');
                if (colon <= 0 || !int.TryParse(e.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
                    return $"--discovery-endpoints takes host:port pairs, not '{e}'";
            }
            if (Journal == "sqlite" && DiscoveryEndpoints.Count > 1)
                return "a node forming a cluster with others needs a journal shared by the cluster (--journal postgresql or --journal redis): SQLite is for a single node";
        }
        if (ManagementPort is < 0 or > 65535) return "--management-port must be between 0 and 65535";
        if (OtlpEndpoint is { } otlp && !(Uri.TryCreate(otlp, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
            return $"--otlp-endpoint must be an http(s) URL, not '{otlp}'";
        var others = SeedAddresses().Where(a => a != SelfAddress).ToArray();
        if (Journal == "sqlite" && others.Length > 0)
            return "a node joining other nodes needs a journal shared by the cluster (--journal postgresql or --journal redis): SQLite is for a single node";
        if (TcpPort is < 0 or > 65535 || ClusterPort is < 0 or > 65535 || WebPort is < 0 or > 65535) return "ports must be between 0 and 65535";
        if (Shards < 1) return "--shards must be at least 1";
        if (MaxLiveAccounts < 1) return "--max-live-accounts must be at least 1";
        if (!RuntimeLog.Levels.Contains(LogLevel, StringComparer.OrdinalIgnoreCase)) return $"--log-level must be one of {string.Join(", ", RuntimeLog.Levels)}";
        if (AdminPort is < -1 or > 65535) return "--admin-port must be between 0 and 65535, or -1 (off)";
        if (!System.Net.IPAddress.TryParse(AdminHost, out _) && AdminHost != "localhost") return $"--admin-host must be an IP address, not '{AdminHost}'";
        if (AdminMaxConnections < 1) return "--admin-max-connections must be at least 1";
        if (AdminIdleTimeout <= TimeSpan.Zero) return "--admin-idle-timeout-seconds must be positive";
        if (WebMaxBodyBytes < 1024) return "--web-max-body-bytes must be at least 1024";
        if (WebMaxConnections < 1) return "--web-max-connections must be at least 1";
        if (WebAdminPassword is { Length: > Web.WebApi.MaxPasswordLength }) return $"--web-admin-password must have at most {Web.WebApi.MaxPasswordLength} characters";
        if (RequestTimeout <= TimeSpan.Zero) return "--request-timeout-seconds must be positive";
        if (SbrStableAfter is { } sbr && sbr <= TimeSpan.Zero) return "--sbr-stable-after-seconds must be positive";
        if (TriggerRefresh <= TimeSpan.Zero) return "--trigger-refresh-seconds must be positive";
        return null;
    }
}
