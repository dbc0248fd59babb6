using System.Globalization;

namespace DayTrading.Host;

/// <summary>
/// Everything a node is told at start. Each has a command-line option and an environment variable
/// (DAYTRADING_*); the command line wins. Defaults give a single node with zero set-up.
/// </summary>
public sealed record NodeOptions
{
    public string NodeName { get; init; } = "node1";
    public string DataDirectory { get; init; } = "./data";
    public string TcpHost { get; init; } = "127.0.0.1";
    public int TcpPort { get; init; } = 4440;
    public string ClusterHost { get; init; } = "127.0.0.1";
    public int ClusterPort { get; init; } = 4441;

    /// <summary>Akka addresses or host:port pairs; empty means this node joins itself (a single node, or the first).</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    /// <summary>sqlite (default, under <see cref="DataDirectory"/>) or postgresql.</summary>
    public string Journal { get; init; } = "sqlite";

    /// <summary>Null: SQLite file under the data directory; required for postgresql.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>host:port of a legacy quote server; null uses the built-in simulator in-process.</summary>
    public string? QuoteServer { get; init; }

    /// <summary>Where DUMPLOG writes; null: <c>dumps</c> under the data directory.</summary>
    public string? DumpDirectory { get; init; }

    /// <summary>Whether the TCP edge may run the system-wide DUMPLOG; null: only when it listens on loopback.</summary>
    public bool? TcpAdmin { get; init; }

    public string EffectiveDumpDirectory => Path.GetFullPath(DumpDirectory ?? Path.Combine(DataDirectory, "dumps"));

    public bool EffectiveTcpAdmin => TcpAdmin ?? (TcpHost is "127.0.0.1" or "localhost" or "::1");

    /// <summary>Runtime log level: Verbose, Debug, Information, Warning or Error.</summary>
    public string LogLevel { get; init; } = "Information";

    public int QuoteSeed { get; init; } = 42;
    public string QuoteLatency { get; init; } = "none";
    public int Shards { get; init; } = 100;

    /// <summary>Live account entities on this node above which an idle one passivates at once, not after 2 min.</summary>
    public int MaxLiveAccounts { get; init; } = 20_000;

    /// <summary>Whether armed triggers fire (the AutoTxManager runs); off keeps them armed but idle.</summary>
    public bool AutoTx { get; init; } = true;

    /// <summary>False (benchmarks only): requests that change nothing are neither journaled nor audited.</summary>
    public bool Audit { get; init; } = true;

    /// <summary>How often quotes of symbols with armed triggers are refreshed.</summary>
    public TimeSpan TriggerRefresh { get; init; } = TimeSpan.FromSeconds(60);

    // Web front end (DayTrading.Host/Web): REST API + browser UI in this process.
    /// <summary>Whether this node serves the web front end.</summary>
    public bool WebEnabled { get; init; } = true;
    public string WebHost { get; init; } = "127.0.0.1";
    /// <summary>Port of the web front end; 0: any free port (see <see cref="NodeReadiness.Web"/>).</summary>
    public int WebPort { get; init; } = 8080;
    /// <summary>When set, the web user "admin" exists with this password and administrator rights.</summary>
    public string? WebAdminPassword { get; init; }
    /// <summary>The largest request body the web front end reads (its API takes small JSON documents only).</summary>
    public long WebMaxBodyBytes { get; init; } = 16 * 1024;
    /// <summary>Web connections open at once (the live feed keeps one per open page).</summary>
    public long WebMaxConnections { get; init; } = 1000;
    // --- cluster (issue #7) ---
    /// <summary>Interface of the cluster admin channel (the `cluster` CLI's server); loopback by default.</summary>
    public string AdminHost { get; init; } = "127.0.0.1";

    /// <summary>Port of the cluster admin channel; 0: any free port (printed in the ready line); -1: off.</summary>
    public int AdminPort { get; init; } = 4442;

    /// <summary>File of the admin channel's shared secret (created with a random one if missing); null: the secret
    /// from <see cref="AdminSecret"/> if set, else <c>admin.secret</c> in the data directory.</summary>
    public string? AdminSecretFile { get; init; }

    /// <summary>The admin secret itself (DAYTRADING_ADMIN_SECRET; no command-line option, to keep it out of ps).</summary>
    public string? AdminSecret { get; init; }

    /// <summary>Admin channel connections served at once.</summary>
    public int AdminMaxConnections { get; init; } = 16;

    /// <summary>How long an admin connection has to send its request.</summary>
    public TimeSpan AdminIdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>PostgreSQL schema of the journal and snapshot tables ("" = the connection's search path).</summary>
    public string DbSchema { get; init; } = "";

    /// <summary>Split-brain resolver stable-after; null keeps cluster.hocon's.</summary>
    public TimeSpan? SbrStableAfter { get; init; }

    /// <summary>How long the edge waits for an account's answer before replying "outcome unknown, retry".</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);
    // --- end cluster ---

    public string ClusterSystemName => "daytrading";

    public string SelfAddress => $"akka.tcp://{ClusterSystemName}@{ClusterHost}:{ClusterPort.ToString(CultureInfo.InvariantCulture)}";

    public string[] SeedAddresses() =>
        SeedNodes.Select(s => s.Contains("://", StringComparison.Ordinal) ? s : $"akka.tcp://{ClusterSystemName}@{s}").ToArray();

    public string EffectiveConnectionString()
    {
        if (ConnectionString is not null) return ConnectionString;
        if (Journal == "memory") return "";
        if (Journal != "sqlite") throw new ArgumentException("--connection-string is required with --journal postgresql");
        var path = Path.GetFullPath(Path.Combine(DataDirectory, "daytrading.db"));
        return $"Data Source={path}";
    }

    /// <summary>A clear error for settings that cannot work, or null.</summary>
    public string? Validate()
    {
        if (Journal is not ("sqlite" or "postgresql" or "memory")) return $"--journal must be sqlite, postgresql or memory, not '{Journal}'";
        if (Journal == "postgresql" && string.IsNullOrWhiteSpace(ConnectionString)) return "--journal postgresql needs --connection-string";
        var others = SeedAddresses().Where(a => a != SelfAddress).ToArray();
        if (Journal == "sqlite" && others.Length > 0)
            return "a node joining other nodes needs the shared PostgreSQL journal (--journal postgresql): SQLite is for a single node";
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
