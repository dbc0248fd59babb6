using System.CommandLine;
using System.Globalization;
using DayTrading.Host;
using DayTrading.Quotes;
using Microsoft.Extensions.Hosting;

// dotnet run --project DayTrading.Host                       a single node, zero set-up
// dotnet run --project DayTrading.Host -- quote-sim ...      the legacy quote server simulator
var root = new RootCommand("DayTrading node: sharded, event-sourced trading accounts behind a TCP edge.");

static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
static int EnvInt(string name, int fallback) => Env(name) is { } v && int.TryParse(v, CultureInfo.InvariantCulture, out var i) ? i : fallback;

var defaults = new NodeOptions();
var nodeName = new Option<string>("--node-name") { Description = "Name of this node in logs and the audit log's server field [DAYTRADING_NODE_NAME]", DefaultValueFactory = _ => Env("DAYTRADING_NODE_NAME") ?? defaults.NodeName };
var dataDir = new Option<string>("--data-dir") { Description = "Directory for the SQLite journal, dumps and logs [DAYTRADING_DATA_DIR]", DefaultValueFactory = _ => Env("DAYTRADING_DATA_DIR") ?? defaults.DataDirectory };
var tcpHost = new Option<string>("--tcp-host") { Description = "Interface of the TCP edge [DAYTRADING_TCP_HOST]", DefaultValueFactory = _ => Env("DAYTRADING_TCP_HOST") ?? defaults.TcpHost };
var tcpPort = new Option<int>("--tcp-port") { Description = "Port of the TCP edge [DAYTRADING_TCP_PORT]", DefaultValueFactory = _ => EnvInt("DAYTRADING_TCP_PORT", defaults.TcpPort) };
var clusterHost = new Option<string>("--cluster-host") { Description = "Host name other nodes reach this one at [DAYTRADING_CLUSTER_HOST]", DefaultValueFactory = _ => Env("DAYTRADING_CLUSTER_HOST") ?? defaults.ClusterHost };
var clusterPort = new Option<int>("--cluster-port") { Description = "Akka.Remote port [DAYTRADING_CLUSTER_PORT]", DefaultValueFactory = _ => EnvInt("DAYTRADING_CLUSTER_PORT", defaults.ClusterPort) };
var seeds = new Option<string?>("--seed-nodes") { Description = "Comma-separated host:port seed nodes; none: this node seeds itself [DAYTRADING_SEED_NODES]", DefaultValueFactory = _ => Env("DAYTRADING_SEED_NODES") };
var journal = new Option<string>("--journal") { Description = "sqlite (single node) or postgresql [DAYTRADING_JOURNAL]", DefaultValueFactory = _ => Env("DAYTRADING_JOURNAL") ?? defaults.Journal };
var connection = new Option<string?>("--connection-string") { Description = "Journal connection string (default: SQLite file in the data directory) [DAYTRADING_CONNECTION_STRING]", DefaultValueFactory = _ => Env("DAYTRADING_CONNECTION_STRING") };
var quoteServer = new Option<string?>("--quote-server") { Description = "host:port of a legacy quote server; default: built-in simulator [DAYTRADING_QUOTE_SERVER]", DefaultValueFactory = _ => Env("DAYTRADING_QUOTE_SERVER") };
var quoteSeed = new Option<int>("--quote-seed") { Description = "Seed of the built-in simulator's prices [DAYTRADING_QUOTE_SEED]", DefaultValueFactory = _ => EnvInt("DAYTRADING_QUOTE_SEED", defaults.QuoteSeed) };
var quoteLatency = new Option<string>("--quote-latency") { Description = "Built-in simulator latency: none, fixed:<ms> or lab [DAYTRADING_QUOTE_LATENCY]", DefaultValueFactory = _ => Env("DAYTRADING_QUOTE_LATENCY") ?? defaults.QuoteLatency };
var shards = new Option<int>("--shards") { Description = "Number of account shards; the same on every node, for the life of the data [DAYTRADING_SHARDS]", DefaultValueFactory = _ => EnvInt("DAYTRADING_SHARDS", defaults.Shards) };

var maxLiveAccounts = new Option<int>("--max-live-accounts") { Description = "Live account entities on this node above which idle ones passivate at once instead of after 2 min [DAYTRADING_MAX_LIVE_ACCOUNTS]", DefaultValueFactory = _ => EnvInt("DAYTRADING_MAX_LIVE_ACCOUNTS", defaults.MaxLiveAccounts) };

var dumpDir = new Option<string?>("--dump-dir") { Description = "Directory DUMPLOG writes under (default: dumps in the data directory) [DAYTRADING_DUMP_DIR]", DefaultValueFactory = _ => Env("DAYTRADING_DUMP_DIR") };
var tcpAdmin = new Option<bool?>("--tcp-admin") { Description = "Allow the system-wide DUMPLOG on the TCP edge (default: only when it listens on loopback) [DAYTRADING_TCP_ADMIN]", DefaultValueFactory = _ => Env("DAYTRADING_TCP_ADMIN") is { } v ? v.Equals("true", StringComparison.OrdinalIgnoreCase) : null };
var logLevel = new Option<string>("--log-level") { Description = "Runtime log level: Verbose, Debug, Information, Warning, Error [DAYTRADING_LOG_LEVEL]", DefaultValueFactory = _ => Env("DAYTRADING_LOG_LEVEL") ?? defaults.LogLevel };
var audit = new Option<bool>("--audit") { Description = "Journal every request for the audit log; false (benchmarks only) skips requests that change nothing [DAYTRADING_AUDIT]", DefaultValueFactory = _ => Env("DAYTRADING_AUDIT") is not { } v || !v.Equals("false", StringComparison.OrdinalIgnoreCase) };
var autoTx = new Option<bool>("--auto-tx") { Description = "Fire armed buy/sell triggers (the AutoTxManager); false keeps them armed but idle [DAYTRADING_AUTO_TX]", DefaultValueFactory = _ => Env("DAYTRADING_AUTO_TX") is not { } v || !v.Equals("false", StringComparison.OrdinalIgnoreCase) };
var triggerRefresh = new Option<int>("--trigger-refresh-seconds") { Description = "Refresh period of quotes for symbols with armed triggers [DAYTRADING_TRIGGER_REFRESH_SECONDS]", DefaultValueFactory = _ => EnvInt("DAYTRADING_TRIGGER_REFRESH_SECONDS", 60) };

// Web front end
var web = new Option<bool>("--web") { Description = "Serve the web front end (REST API and browser UI) [DAYTRADING_WEB]", DefaultValueFactory = _ => Env("DAYTRADING_WEB") is not { } v || !v.Equals("false", StringComparison.OrdinalIgnoreCase) };
var webHost = new Option<string>("--web-host") { Description = "Interface of the web front end [DAYTRADING_WEB_HOST]", DefaultValueFactory = _ => Env("DAYTRADING_WEB_HOST") ?? defaults.WebHost };
var webPort = new Option<int>("--web-port") { Description = "Port of the web front end [DAYTRADING_WEB_PORT]", DefaultValueFactory = _ => EnvInt("DAYTRADING_WEB_PORT", defaults.WebPort) };
var webAdminPassword = new Option<string?>("--web-admin-password") { Description = "Password of the web user 'admin' (administrator); unset: no admin login [DAYTRADING_WEB_ADMIN_PASSWORD]", DefaultValueFactory = _ => Env("DAYTRADING_WEB_ADMIN_PASSWORD") };
var webMaxBody = new Option<long>("--web-max-body-bytes") { Description = "Largest request body the web front end reads [DAYTRADING_WEB_MAX_BODY_BYTES]", DefaultValueFactory = _ => EnvInt("DAYTRADING_WEB_MAX_BODY_BYTES", (int)defaults.WebMaxBodyBytes) };
var webMaxConnections = new Option<long>("--web-max-connections") { Description = "Web connections open at once [DAYTRADING_WEB_MAX_CONNECTIONS]", DefaultValueFactory = _ => EnvInt("DAYTRADING_WEB_MAX_CONNECTIONS", (int)defaults.WebMaxConnections) };
foreach (var o in new Option[] { web, webHost, webPort, webAdminPassword, webMaxBody, webMaxConnections }) root.Options.Add(o);

// cluster (issue #7)
var adminHost = new Option<string>("--admin-host") { Description = "Interface of the cluster admin channel; keep it on loopback unless the network is trusted [DAYTRADING_ADMIN_HOST]", DefaultValueFactory = _ => Env("DAYTRADING_ADMIN_HOST") ?? defaults.AdminHost };
var adminPort = new Option<int>("--admin-port") { Description = "Port of the cluster admin channel (0: any free port, -1: off) [DAYTRADING_ADMIN_PORT]", DefaultValueFactory = _ => EnvInt("DAYTRADING_ADMIN_PORT", defaults.AdminPort) };
var dbSchema = new Option<string>("--db-schema") { Description = "PostgreSQL schema of the journal tables (created if missing; default: the search path) [DAYTRADING_DB_SCHEMA]", DefaultValueFactory = _ => Env("DAYTRADING_DB_SCHEMA") ?? defaults.DbSchema };
var sbrStableAfter = new Option<int?>("--sbr-stable-after-seconds") { Description = "Split-brain resolver stable-after (default: cluster.hocon's 15 s) [DAYTRADING_SBR_STABLE_AFTER_SECONDS]", DefaultValueFactory = _ => Env("DAYTRADING_SBR_STABLE_AFTER_SECONDS") is { } v && int.TryParse(v, CultureInfo.InvariantCulture, out var i) ? i : null };
var requestTimeout = new Option<int>("--request-timeout-seconds") { Description = "How long the edge waits for an account before answering 'outcome unknown, retry' [DAYTRADING_REQUEST_TIMEOUT_SECONDS]", DefaultValueFactory = _ => EnvInt("DAYTRADING_REQUEST_TIMEOUT_SECONDS", 30) };
var adminSecretFile = new Option<string?>("--admin-secret-file") { Description = "File of the admin channel's shared secret, created with a random one if missing (default: DAYTRADING_ADMIN_SECRET if set, else admin.secret in the data dir) [DAYTRADING_ADMIN_SECRET_FILE]", DefaultValueFactory = _ => Env("DAYTRADING_ADMIN_SECRET_FILE") };
var adminMaxConnections = new Option<int>("--admin-max-connections") { Description = "Admin channel connections served at once [DAYTRADING_ADMIN_MAX_CONNECTIONS]", DefaultValueFactory = _ => EnvInt("DAYTRADING_ADMIN_MAX_CONNECTIONS", defaults.AdminMaxConnections) };
var adminIdleTimeout = new Option<int>("--admin-idle-timeout-seconds") { Description = "How long an admin connection has to send its request [DAYTRADING_ADMIN_IDLE_TIMEOUT_SECONDS]", DefaultValueFactory = _ => EnvInt("DAYTRADING_ADMIN_IDLE_TIMEOUT_SECONDS", (int)defaults.AdminIdleTimeout.TotalSeconds) };
root.Subcommands.Add(DayTrading.Host.Cluster.ClusterCommand.Create());
foreach (var o in new Option[] { adminHost, adminPort, adminSecretFile, adminMaxConnections, adminIdleTimeout, dbSchema, sbrStableAfter, requestTimeout }) root.Options.Add(o);
// end cluster

foreach (var o in new Option[] { nodeName, dataDir, tcpHost, tcpPort, clusterHost, clusterPort, seeds, journal, connection, quoteServer, quoteSeed, quoteLatency, shards, maxLiveAccounts, autoTx, triggerRefresh, dumpDir, tcpAdmin, logLevel, audit })
{
    root.Options.Add(o);
}

root.SetAction(async (parse, ct) =>
{
    var options = new NodeOptions
    {
        NodeName = parse.GetValue(nodeName)!,
        DataDirectory = parse.GetValue(dataDir)!,
        TcpHost = parse.GetValue(tcpHost)!,
        TcpPort = parse.GetValue(tcpPort),
        ClusterHost = parse.GetValue(clusterHost)!,
        ClusterPort = parse.GetValue(clusterPort),
        SeedNodes = (parse.GetValue(seeds) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        Journal = parse.GetValue(journal)!,
        ConnectionString = parse.GetValue(connection),
        QuoteServer = parse.GetValue(quoteServer),
        QuoteSeed = parse.GetValue(quoteSeed),
        QuoteLatency = parse.GetValue(quoteLatency)!,
        Shards = parse.GetValue(shards),
        MaxLiveAccounts = parse.GetValue(maxLiveAccounts),
        AutoTx = parse.GetValue(autoTx),
        DumpDirectory = parse.GetValue(dumpDir),
        LogLevel = parse.GetValue(logLevel)!,
        Audit = parse.GetValue(audit),
        TcpAdmin = parse.GetValue(tcpAdmin),
        TriggerRefresh = TimeSpan.FromSeconds(parse.GetValue(triggerRefresh)),
        WebEnabled = parse.GetValue(web),
        WebHost = parse.GetValue(webHost)!,
        WebPort = parse.GetValue(webPort),
        WebAdminPassword = parse.GetValue(webAdminPassword),
        WebMaxBodyBytes = parse.GetValue(webMaxBody),
        WebMaxConnections = parse.GetValue(webMaxConnections),
        AdminHost = parse.GetValue(adminHost)!,
        AdminPort = parse.GetValue(adminPort),
        AdminSecretFile = parse.GetValue(adminSecretFile),
        AdminSecret = Env(DayTrading.Cluster.AdminSecret.EnvironmentVariable),
        AdminMaxConnections = parse.GetValue(adminMaxConnections),
        AdminIdleTimeout = TimeSpan.FromSeconds(parse.GetValue(adminIdleTimeout)),
        DbSchema = parse.GetValue(dbSchema)!,
        SbrStableAfter = parse.GetValue(sbrStableAfter) is { } sbrSeconds ? TimeSpan.FromSeconds(sbrSeconds) : null,
        RequestTimeout = TimeSpan.FromSeconds(parse.GetValue(requestTimeout)),
    };
    var error = options.Validate() ?? (LatencyProfile.TryParse(options.QuoteLatency, out _, out var latencyError) ? null : latencyError);
    if (error is not null)
    {
        await Console.Error.WriteLineAsync($"error: {error}");
        return 2;
    }
    IHost built;
    try
    {
        built = NodeHost.Build(options);
    }
    catch (DayTrading.Cluster.AdminSecretException e)
    {
        await Console.Error.WriteLineAsync($"error: {e.Message}");
        return 2;
    }
    using var host = built;
    // The generic host handles Ctrl-C and SIGTERM itself: coordinated shutdown hands shards and singletons over.
    await host.RunAsync();
    return 0;
});

var simPort = new Option<int>("--port") { Description = "TCP port to listen on (127.0.0.1)", DefaultValueFactory = _ => 4444 };
var simLatency = new Option<string>("--latency") { Description = "none, fixed:<ms> or lab", DefaultValueFactory = _ => "lab" };
var simSeed = new Option<int>("--seed") { Description = "Seed of the deterministic prices", DefaultValueFactory = _ => 42 };
var quoteSim = new Command("quote-sim", "Run the legacy quote server simulator (SPEC §3).") { simPort, simLatency, simSeed };
quoteSim.SetAction(async (parse, ct) =>
{
    if (!LatencyProfile.TryParse(parse.GetValue(simLatency), out _, out var latencyError))
    {
        await Console.Error.WriteLineAsync($"error: {latencyError}");
        return 2;
    }
    await QuoteSimServer.RunAsync(parse.GetValue(simPort), parse.GetValue(simLatency)!, parse.GetValue(simSeed), ct);
    return 0;
});
root.Subcommands.Add(quoteSim);

// No termination timeout: a node given SIGTERM takes the time coordinated shutdown needs.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
