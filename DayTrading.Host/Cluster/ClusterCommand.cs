using System.CommandLine;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using DayTrading.Cluster;

namespace DayTrading.Host.Cluster;

/// <summary>
/// <c>DayTrading.Host cluster &lt;verb&gt; --node host:port</c>: the membership admin CLI, a client of a node's
/// admin channel (<see cref="ClusterAdminServer"/>). It sends the node's admin secret first (<see cref="AdminSecret"/>:
/// <c>--secret-file</c>, else <c>DAYTRADING_ADMIN_SECRET</c>, else <c>&lt;--data-dir&gt;/admin.secret</c>).
/// Exit codes: 0 done, 1 bad usage, no secret, or the node refused (wrong secret, unknown address…), 3 the node is
/// unreachable or did not answer.
/// </summary>
public static class ClusterCommand
{
    public const int ExitOk = 0, ExitRefused = 1, ExitUsage = 1, ExitUnreachable = 3;

    public static Command Create()
    {
        var cluster = new Command("cluster", "Cluster membership admin: asks a node's admin channel (--admin-port on the node, loopback by default).");
        cluster.Subcommands.Add(Verb("members", "Members of the cluster as the node sees them: address, status, reachability, roles, leader."));
        cluster.Subcommands.Add(Verb("join", "Make the node join the cluster at <address> (host:port or akka.tcp://daytrading@host:port).", needsAddress: true));
        cluster.Subcommands.Add(Verb("leave", "Make the member at <address> leave gracefully (hands its shards and singletons over, then exits).", needsAddress: true));
        cluster.Subcommands.Add(Verb("down", "Mark the member at <address> down (for a node that is gone; the cluster removes it).", needsAddress: true));
        cluster.Subcommands.Add(Verb("shards", "Account shards and their entity counts per node."));
        cluster.Subcommands.Add(Verb("singletons", "Where each cluster singleton runs: the QuoteManager, the Auditor, the expiry watcher, the AutoTxManager and the account sharding coordinator."));
        return cluster;
    }

    private static Command Verb(string verb, string description, bool needsAddress = false)
    {
        var node = new Option<string>("--node")
        {
            Description = "host:port of the node's admin channel [DAYTRADING_ADMIN_NODE]",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DAYTRADING_ADMIN_NODE") is { Length: > 0 } v ? v : $"127.0.0.1:{ClusterAdminProtocol.DefaultPort}",
        };
        var json = new Option<bool>("--json") { Description = "Print the node's JSON answer instead of a table" };
        var secretFile = new Option<string?>("--secret-file")
        {
            Description = $"File holding the node's admin secret (the node's --admin-secret-file) [{AdminSecret.FileEnvironmentVariable}]; " +
                          $"default: {AdminSecret.EnvironmentVariable} if set, else {AdminSecret.DefaultFileName} in --data-dir",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(AdminSecret.FileEnvironmentVariable) is { Length: > 0 } v ? v : null,
        };
        var dataDir = new Option<string>("--data-dir")
        {
            Description = "The node's data directory, where its admin.secret is by default [DAYTRADING_DATA_DIR]",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DAYTRADING_DATA_DIR") is { Length: > 0 } v ? v : "./data",
        };
        var command = new Command(verb, description) { node, json, secretFile, dataDir };
        Argument<string>? address = null;
        if (needsAddress)
        {
            address = new Argument<string>("address") { Description = "host:port (Akka.Remote endpoint) or a full akka.tcp:// address" };
            command.Arguments.Add(address);
        }
        command.SetAction(async (parse, ct) =>
        {
            var request = address is null ? verb : $"{verb} {parse.GetValue(address)}";
            string secret;
            try
            {
                secret = ResolveSecret(parse.GetValue(secretFile), Environment.GetEnvironmentVariable(AdminSecret.EnvironmentVariable), parse.GetValue(dataDir)!);
            }
            catch (AdminSecretException e)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}");
                return ExitUsage;
            }
            return await RunAsync(parse.GetValue(node)!, secret, request, parse.GetValue(json), Console.Out, Console.Error, ct);
        });
        return command;
    }

    /// <summary>
    /// The secret the CLI sends: the file if named, else the environment's secret, else <c>admin.secret</c> in
    /// <paramref name="dataDirectory"/> (never created here); throws <see cref="AdminSecretException"/> with a clear reason.
    /// </summary>
    public static string ResolveSecret(string? secretFile, string? environmentSecret, string dataDirectory)
    {
        if (secretFile is { Length: > 0 }) return AdminSecret.Read(secretFile);
        if (environmentSecret is { Length: > 0 })
            return AdminSecret.Problem(environmentSecret) is { } problem ? throw new AdminSecretException($"{AdminSecret.EnvironmentVariable}: {problem}") : environmentSecret;
        var path = AdminSecret.DefaultPath(dataDirectory);
        if (!File.Exists(path))
        {
            throw new AdminSecretException($"no admin secret: {Path.GetFullPath(path)} does not exist; pass --secret-file <the node's admin secret file>, " +
                                           $"--data-dir <the node's data directory>, or set {AdminSecret.EnvironmentVariable}");
        }
        return AdminSecret.Read(path);
    }

    /// <summary>
    /// Sends <paramref name="secret"/> and then <paramref name="request"/> to the admin channel at <paramref name="node"/>
    /// and prints the answer.
    /// </summary>
    public static async Task<int> RunAsync(string node, string secret, string request, bool json, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var colon = node.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(node.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
        {
            await error.WriteLineAsync($"error: --node must be host:port, not '{node}'");
            return ExitUsage;
        }
        var host = node[..colon].Trim('[', ']');
        string answer;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            using var client = new TcpClient();
            await client.ConnectAsync(host, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.UTF8.GetBytes($"{ClusterAdminProtocol.AuthVerb} {secret}\n{request}\n"), timeout.Token);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            answer = await reader.ReadToEndAsync(timeout.Token);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            var why = e is OperationCanceledException ? "no answer within 30 s" : e.Message;
            await error.WriteLineAsync($"error: node {node} is unreachable on its admin channel ({why}); is it running, with --admin-port {port}?");
            return ExitUnreachable;
        }

        var newline = answer.IndexOf('\n');
        var status = newline < 0 ? answer : answer[..newline];
        var body = newline < 0 ? "" : answer[(newline + 1)..].Trim();
        if (status.StartsWith("ERR", StringComparison.Ordinal))
        {
            await error.WriteLineAsync($"error: {status[3..].Trim()}");
            return ExitRefused;
        }
        if (status != "OK")
        {
            await error.WriteLineAsync($"error: unexpected answer from {node}: '{status}' (is it a DayTrading admin channel?)");
            return ExitUnreachable;
        }
        if (json)
        {
            await output.WriteLineAsync(body);
            return ExitOk;
        }
        var verb = request.Split(' ')[0];
        var text = verb switch
        {
            "members" => ClusterAdminProtocol.Format(JsonSerializer.Deserialize<MembersReport>(body, ClusterAdminProtocol.Json)!),
            "shards" => ClusterAdminProtocol.Format(JsonSerializer.Deserialize<ShardsReport>(body, ClusterAdminProtocol.Json)!),
            "singletons" => ClusterAdminProtocol.Format(JsonSerializer.Deserialize<SingletonsReport>(body, ClusterAdminProtocol.Json)!),
            _ => JsonSerializer.Deserialize<VerbDone>(body, ClusterAdminProtocol.Json)!.Message,
        };
        await output.WriteLineAsync(text);
        return ExitOk;
    }
}
