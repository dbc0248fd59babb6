using System.CommandLine;
using DayTrading.Host;
using DayTrading.Quotes;
using Microsoft.Extensions.Hosting;

// dotnet run -c Release --project DayTrading.Host                       a single node, zero set-up
// dotnet run -c Release --project DayTrading.Host -- quote-sim ...      the legacy quote server simulator
var root = new RootCommand("DayTrading node: sharded, event-sourced trading accounts behind a TCP edge.");

// Every node setting is declared once, on NodeOptions; its command-line options are made from those declarations.
var settingOptions = new Dictionary<string, Option>();
foreach (var setting in NodeOptionsBinding.All.Where(o => !o.Option.EnvironmentOnly))
{
    var description = $"{setting.Option.Description} (default: {setting.Option.Default ?? setting.DefaultText ?? "none"}) [{setting.EnvironmentVariable}]";
    Option option = setting.IsFlag
        ? new Option<bool?>(setting.Name) { Description = description }
        : new Option<string?>(setting.Name) { Description = description };
    settingOptions[setting.Name] = option;
    root.Options.Add(option);
}
var settingsFile = new Option<string?>("--settings") { Description = "JSON settings file (section \"DayTrading\", keys the NodeOptions names; under the environment and the command line)", DefaultValueFactory = _ => "appsettings.json" };
root.Options.Add(settingsFile);
root.Subcommands.Add(DayTrading.Host.Cluster.ClusterCommand.Create());
var optionsTable = new Command("options", "Print the node's settings as the README's Markdown table.");
optionsTable.SetAction(_ => Console.Out.Write(NodeOptionsBinding.MarkdownTable()));
root.Subcommands.Add(optionsTable);

root.SetAction(async (parse, ct) =>
{
    var given = settingOptions.ToDictionary(kv => kv.Key, kv => kv.Value switch
    {
        Option<bool?> flag => parse.GetValue(flag) is { } b ? (b ? "true" : "false") : null,
        Option<string?> text => parse.GetValue(text),
        _ => null,
    });
    var (options, bindError) = NodeOptionsBinding.Bind(NodeOptionsBinding.Configuration(given, Environment.GetEnvironmentVariables(), parse.GetValue(settingsFile)));
    if (options is null)
    {
        await Console.Error.WriteLineAsync($"error: {bindError}");
        return 2;
    }
    var error = options.Validate() ?? (LatencyProfile.TryParse(options.QuoteLatency, out _, out var latencyError) ? null : latencyError);
    if (error is not null)
    {
        await Console.Error.WriteLineAsync($"error: {error}");
        return 2;
    }
    if (options.Durable && await DayTrading.Persistence.DayTradingPersistence.PreflightProblemAsync(options.JournalStore()) is { } storeProblem)
    {
        await Console.Error.WriteLineAsync($"error: {storeProblem}");
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

var parsed = root.Parse(args);
if (CommandLineUsage.IsParseError(parsed)) return CommandLineUsage.ReportParseError(parsed, Console.Error);
// No termination timeout: a node given SIGTERM takes the time coordinated shutdown needs.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
