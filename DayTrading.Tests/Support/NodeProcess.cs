using System.Diagnostics;
using System.Text.RegularExpressions;

namespace DayTrading.Tests.Support;

/// <summary>A DayTrading node in its own OS process, as an operator runs it, that a test can SIGKILL.</summary>
public sealed partial class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<int> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _output = [];

    private NodeProcess(Process process) => _process = process;

    public int EdgePort { get; private set; }

    private readonly TaskCompletionSource<Uri> _web = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The web front end's address, once its line was printed (a node started with <c>--web true</c>).</summary>
    public Task<Uri> WebUri => _web.Task;

    /// <summary>Port of the cluster admin channel, from the ready line (0 when the line does not say).</summary>
    public int AdminPort { get; private set; }

    public bool HasExited => _process.HasExited;

    /// <summary>Exit code and time once the process has ended by itself or was stopped (null while it runs).</summary>
    public (int Code, DateTime At)? Exit => _process.HasExited ? (_process.ExitCode, _process.ExitTime) : null;

    /// <summary>Waits for the process to end by itself (e.g. after it left the cluster).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public IReadOnlyList<string> Output
    {
        get { lock (_output) return _output.ToArray(); }
    }

    /// <summary>
    /// Starts <c>DayTrading.Host</c> with <paramref name="arguments"/> and waits for its ready line;
    /// <paramref name="launcher"/> is a command that runs it (e.g. <c>ip netns exec ns</c>), null: run directly.
    /// </summary>
    public static async Task<NodeProcess> StartAsync(IEnumerable<string> arguments, TimeSpan? timeout = null, IReadOnlyList<string>? launcher = null)
    {
        var node = Launch(arguments, launcher);
        await node.WaitUntilReadyAsync(timeout);
        return node;
    }

    /// <summary>Waits for the ready line of a node started with <see cref="Launch"/>.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan? timeout = null)
    {
        try
        {
            EdgePort = await _ready.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            await DisposeAsync();
            throw new TimeoutException($"node not ready in time:\n{string.Join("\n", Output)}");
        }
    }

    /// <summary>Starts <c>DayTrading.Host</c> without waiting for its ready line.</summary>
    public static NodeProcess Launch(IEnumerable<string> arguments, IReadOnlyList<string>? launcher = null)
    {
        var hostDll = Path.Combine(AppContext.BaseDirectory, "DayTrading.Host.dll");
        var psi = new ProcessStartInfo(launcher is { Count: > 0 } ? launcher[0] : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (launcher is { Count: > 0 })
        {
            foreach (var a in launcher.Skip(1)) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add("dotnet");
        }
        psi.ArgumentList.Add(hostDll);
        var args = arguments.ToList();
        // Tests run side by side: no fixed ports unless a test asks for them.
        if (!args.Contains("--admin-port")) args.AddRange(["--admin-port", "0"]);
        if (!args.Contains("--web")) args.AddRange(["--web", "false"]);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var node = new NodeProcess(Process.Start(psi) ?? throw new InvalidOperationException("could not start DayTrading.Host"));
        node._process.OutputDataReceived += (_, e) => node.OnLine(e.Data);
        node._process.ErrorDataReceived += (_, e) => node.OnLine(e.Data);
        node._process.BeginOutputReadLine();
        node._process.BeginErrorReadLine();
        node._process.EnableRaisingEvents = true;
        node._process.Exited += (_, _) => node._ready.TrySetException(new InvalidOperationException(
            $"node exited with code {node._process.ExitCode} before it was ready:\n{string.Join("\n", node.Output)}"));
        return node;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_output) _output.Add(line);
        var web = WebLine().Match(line);
        if (web.Success) _web.TrySetResult(new Uri(web.Groups[1].Value));
        var m = ReadyLine().Match(line);
        if (!m.Success) return;
        var admin = AdminLine().Match(line);
        if (admin.Success) AdminPort = int.Parse(admin.Groups[1].Value);
        _ready.TrySetResult(int.Parse(m.Groups[1].Value));
    }

    [GeneratedRegex(@"ready: TCP edge on [^\s]+:(\d+),")]
    private static partial Regex ReadyLine();

    [GeneratedRegex(@" web front end on (\S+)")]
    private static partial Regex WebLine();

    [GeneratedRegex(@"cluster admin on [^\s]+:(\d+)")]
    private static partial Regex AdminLine();

    /// <summary>SIGKILL: no shutdown hooks, no flushing, exactly what a crash does.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM, then waits for a clean exit.</summary>
    public async Task<int> StopGracefullyAsync(TimeSpan timeout)
    {
        if (!_process.HasExited) Process.Start("kill", ["-TERM", _process.Id.ToString()])!.WaitForExit();
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // never started or already gone
        }
        _process.Dispose();
        await Task.CompletedTask;
    }
}
