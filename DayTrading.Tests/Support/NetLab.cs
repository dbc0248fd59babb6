using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using DayTrading.Loadgen.Client;

namespace DayTrading.Tests.Support;

/// <summary>
/// A lab of network namespaces made by <c>scripts/netlab.sh</c>: a hub (bridge 10.77.0.254, a throwaway PostgreSQL
/// 15, the test's clients) and one namespace per node (10.77.0.i), with faults as DROP rules inside them. The test
/// process stays in its own namespace and places sockets in the lab's (setns on a short-lived thread: a socket keeps
/// the namespace it was made in); it reads the database through its Unix socket. Disposing stops every process in
/// the lab and removes it, also after a failure.
/// </summary>
public sealed class NetLab : IAsyncDisposable
{
    public const int EdgePort = 4440, ClusterPort = 4441, AdminPort = 4442;

    private readonly Dictionary<string, string> _facts;

    private NetLab(string name, Dictionary<string, string> facts)
    {
        Name = name;
        _facts = facts;
    }

    public string Name { get; }
    public string HubNamespace => _facts["HUB_NS"];
    public string NodeNamespace(int node) => _facts[$"NS_{node}"];
    public string NodeAddress(int node) => _facts[$"NODE_{node}"];

    /// <summary>The database as the nodes reach it: over the lab's bridge (trust authentication inside the lab).</summary>
    public string NodeConnectionString => $"Host={_facts["PG_HOST"]};Port={_facts["PG_PORT"]};Username={_facts["PG_USER"]};Password=lab;Database={_facts["PG_DATABASE"]}";

    /// <summary>The same database as the test reaches it: its Unix socket (no address outside the lab involved).</summary>
    public string TestConnectionString => $"Host={_facts["PG_SOCKET_DIR"]};Port={_facts["PG_PORT"]};Username={_facts["PG_USER"]};Database={_facts["PG_DATABASE"]};Pooling=false";

    /// <summary>Runs a command inside a node's namespace (for <see cref="NodeProcess.StartAsync"/>).</summary>
    public IReadOnlyList<string> Launcher(int node) => ["ip", "netns", "exec", NodeNamespace(node)];

    public static string? Script => SharedData.RepoRoot is { } root && File.Exists(Path.Combine(root, "scripts", "netlab.sh"))
        ? Path.Combine(root, "scripts", "netlab.sh") : null;

    private static readonly Lazy<string?> WhyNotLazy = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces are Linux only";
        if (Script is null) return "scripts/netlab.sh not found next to DayTrading.sln";
        var (exit, output, error) = RunScript(["check"], TimeSpan.FromSeconds(60));
        return exit == 0 ? null : (output + error).Trim();
    });

    /// <summary>Null when a lab can be made here; otherwise why not (e.g. not root, no iptables).</summary>
    public static string? WhyUnavailable => WhyNotLazy.Value;

    /// <summary>Makes a lab of <paramref name="nodes"/> node namespaces and starts its PostgreSQL.</summary>
    public static async Task<NetLab> UpAsync(int nodes)
    {
        // A crashed earlier run leaves its lab behind: remove labs whose owner is gone.
        await Task.Run(() => RunScript(["gc"], TimeSpan.FromSeconds(60)));
        var name = "dtp" + Guid.NewGuid().ToString("N")[..6];
        var (exit, output, error) = await Task.Run(() => RunScript(["up", name, nodes.ToString()], TimeSpan.FromSeconds(120)));
        if (exit != 0) throw new InvalidOperationException($"netlab.sh up {name} failed ({exit}):\n{output}\n{error}");
        var facts = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        return new NetLab(name, facts);
    }

    /// <summary>Node <paramref name="node"/> loses <paramref name="percent"/> % of its packets both ways, to and from everything.</summary>
    public Task IsolateAsync(int node, int percent = 100) => Fault("isolate", Name, node.ToString(), percent.ToString());

    /// <summary>No packet between the two groups of nodes, either way; the hub (database, clients) still reaches all.</summary>
    public Task SplitAsync(IEnumerable<int> a, IEnumerable<int> b) => Fault("split", Name, string.Join(',', a), string.Join(',', b));

    public Task HealAsync() => Fault("heal", Name);

    private static async Task Fault(params string[] args)
    {
        var (exit, output, error) = await Task.Run(() => RunScript(args, TimeSpan.FromSeconds(30)));
        if (exit != 0) throw new InvalidOperationException($"netlab.sh {string.Join(' ', args)} failed ({exit}): {output}{error}");
    }

    private static (int Exit, string Output, string Error) RunScript(IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Script!);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NETLAB_OWNER"] = Environment.ProcessId.ToString();
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            return (-1, output.Result, error.Result + $"\n(timed out after {timeout.TotalSeconds:0} s)");
        }
        p.WaitForExit();
        return (p.ExitCode, output.Result, error.Result);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int setns(int fd, int nstype);

    private const int CloneNewNet = 0x40000000;

    /// <summary>An unconnected TCP socket in network namespace <paramref name="ns"/>.</summary>
    public static Socket SocketIn(string ns)
    {
        Socket? socket = null;
        Exception? error = null;
        // setns changes the calling thread only; the thread ends right after, the socket keeps its namespace.
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle(Path.Combine("/run/netns", ns));
                if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new IOException($"setns into {ns} failed: errno {Marshal.GetLastPInvokeError()}");
                socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            }
            catch (Exception e)
            {
                error = e;
            }
        }) { IsBackground = true, Name = "netns " + ns };
        thread.Start();
        thread.Join();
        if (error is not null) throw error;
        return socket!;
    }

    /// <summary>A client of node <paramref name="node"/>'s TCP edge, from the hub (as every client of the lab).</summary>
    public Task<EdgeClient> ConnectEdgeAsync(int node, string? runId, CancellationToken ct) =>
        EdgeClient.ConnectAsync(NodeAddress(node), EdgePort, new EdgeClientOptions { RunId = runId, SocketFactory = () => SocketIn(HubNamespace) }, ct);

    /// <summary>
    /// One request on node <paramref name="node"/>'s admin channel, which listens on loopback inside its namespace
    /// (so it answers even while the node is cut off). Returns the answer's JSON, or throws with the node's error.
    /// </summary>
    public async Task<string> AdminAsync(int node, string secret, string request, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var socket = SocketIn(NodeNamespace(node));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, AdminPort), cts.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(Encoding.UTF8.GetBytes($"AUTH {secret}\n{request}\n"), cts.Token);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var answer = await reader.ReadToEndAsync(cts.Token);
        var newline = answer.IndexOf('\n');
        var status = newline < 0 ? answer.Trim() : answer[..newline].Trim();
        if (status != "OK") throw new IOException($"admin '{request}' on node {node}: {answer.Trim()}");
        return answer[(newline + 1)..].Trim();
    }

    public async ValueTask DisposeAsync()
    {
        await Task.Run(() => RunScript(["down", Name], TimeSpan.FromSeconds(60)));
    }
}
