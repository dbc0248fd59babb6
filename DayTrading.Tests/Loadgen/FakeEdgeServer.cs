using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace DayTrading.Tests.Loadgen;

/// <summary>
/// A stand-in for the TCP edge, enough for the Loadgen: parses <c>[N] CMD,…</c>, answers <c>[N] OK CMD</c> (or
/// <c>[N] ERR CMD reason</c> when <see cref="ErrorFor"/> says so: a domain refusal or a failure, whatever text it
/// gives) after <see cref="Delay"/> (or <see cref="DelayFor"/> the line, e.g. a slow DUMPLOG), in request order per
/// connection (requests run concurrently, like the edge); answers <c>#RUN</c> and <c>#QUIET</c>. With
/// <see cref="Serial"/> one request at a time is served across all connections (a slow server of fixed capacity).
/// With <see cref="DieAfter"/> it "dies" when that many requests have been received: it stops listening and cuts
/// every connection without answering what is still pending. With <see cref="OutOfOrder"/> it answers each request
/// when it is ready instead (the edge's default): every request whose N is a multiple of 4 is held until a later
/// request of its connection has been answered (or 50 ms passed with none), so later answers overtake it;
/// directive answers go out at once.
/// </summary>
public sealed class FakeEdgeServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _cts = new();
    private readonly ConcurrentBag<TcpClient> _clients = [];
    private readonly SemaphoreSlim _serial = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Task _accept;
    private int _received;
    private volatile bool _dead;

    public sealed record Received(long Seq, string? RunId, long? N, string Line, DateTime At);

    public sealed record Answered(long? N, string Response, DateTime At);

    public List<Received> ReceivedLines { get; } = [];
    public List<Answered> AnsweredLines { get; } = [];
    public List<string> Directives { get; } = [];

    public TimeSpan Delay { get; init; }
    public bool Serial { get; init; }
    public int? DieAfter { get; init; }
    public Func<string, string?>? ErrorFor { get; init; }

    /// <summary>The delay of one request line, when not <see cref="Delay"/> (null: <see cref="Delay"/>).</summary>
    public Func<string, TimeSpan?>? DelayFor { get; init; }
    public bool OutOfOrder { get; init; }

    /// <summary>Out of order: held requests that a later request of their connection overtook.</summary>
    public int Overtaken => Volatile.Read(ref _overtaken);

    private int _overtaken;

    public FakeEdgeServer()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = Task.Run(AcceptLoop);
    }

    public int Port { get; }
    public string Endpoint => $"127.0.0.1:{Port}";
    public bool IsDead => _dead;

    private async Task AcceptLoop()
    {
        try
        {
            while (!_cts.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_cts.Token);
                if (_dead)
                {
                    client.Dispose();
                    continue;
                }
                _clients.Add(client);
                _ = Task.Run(() => Serve(client));
            }
        }
        catch
        {
            // stopped
        }
    }

    private async Task Serve(TcpClient client)
    {
        string? runId = null;
        var responses = Channel.CreateUnbounded<Task<string?>>();
        var answering = new List<Task>(); // out of order: answers not yet queued
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stream = client.GetStream();
        var writer = Task.Run(async () =>
        {
            try
            {
                await using var w = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true) { AutoFlush = true };
                await foreach (var t in responses.Reader.ReadAllAsync())
                {
                    var line = await t;
                    if (line is null || _dead) return;
                    var at = DateTime.UtcNow; // before the client can see it
                    await w.WriteLineAsync(line);
                    var n = line.StartsWith('[') ? long.Parse(line[1..line.IndexOf(']')]) : (long?)null;
                    lock (_gate) AnsweredLines.Add(new Answered(n, line, at));
                }
            }
            catch
            {
                // connection gone
            }
        });
        try
        {
            using var reader = new StreamReader(stream, new UTF8Encoding(false), leaveOpen: true);
            while (await reader.ReadLineAsync() is { } line)
            {
                if (_dead) break;
                line = line.Trim();
                if (line.Length == 0) continue;
                if (line.StartsWith('#'))
                {
                    var parts = line[1..].Split(',', 2);
                    var name = parts[0].ToUpperInvariant();
                    var value = parts.Length > 1 ? parts[1] : "";
                    if (name == "RUN") runId = value;
                    lock (_gate) Directives.Add(line);
                    responses.Writer.TryWrite(Task.FromResult<string?>($"# OK {name} {value}"));
                    continue;
                }
                var close = line.IndexOf(']');
                var n = long.Parse(line[1..close]);
                var body = line[(close + 1)..].Trim();
                var cmd = body.Split(',')[0].ToUpperInvariant();
                bool die;
                lock (_gate)
                {
                    ReceivedLines.Add(new Received(ReceivedLines.Count, runId, n, line, DateTime.UtcNow));
                    die = DieAfter is { } limit && ++_received >= limit;
                }
                if (die)
                {
                    Die();
                    break;
                }
                if (!OutOfOrder)
                {
                    responses.Writer.TryWrite(Answer(n, cmd, line));
                    continue;
                }
                answering.RemoveAll(t => t.IsCompleted);
                answering.Add(AnswerWhenReady(n, cmd, line));
            }
        }
        catch
        {
            // connection gone
        }
        await Task.WhenAll(answering);
        responses.Writer.TryComplete();
        await writer;
        client.Dispose();
        return;

        async Task AnswerWhenReady(long n, string cmd, string line)
        {
            if (n % 4 == 0)
            {
                var released = release.Task;
                if (await Task.WhenAny(released, Task.Delay(TimeSpan.FromMilliseconds(50))) == released) Interlocked.Increment(ref _overtaken);
                responses.Writer.TryWrite(Task.FromResult(await Answer(n, cmd, line)));
                return;
            }
            responses.Writer.TryWrite(Task.FromResult(await Answer(n, cmd, line)));
            // Queued behind this later answer: whatever is held now.
            Interlocked.Exchange(ref release, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    private async Task<string?> Answer(long n, string cmd, string line)
    {
        if (Serial) await _serial.WaitAsync();
        try
        {
            var delay = DelayFor?.Invoke(line) ?? Delay;
            if (delay > TimeSpan.Zero) await Task.Delay(delay);
        }
        finally
        {
            if (Serial) _serial.Release();
        }
        if (_dead) return null;
        var error = ErrorFor?.Invoke(line);
        return error is null ? $"[{n}] OK {cmd}" : $"[{n}] ERR {cmd} {error}";
    }

    /// <summary>Stops listening and cuts every connection (RST), leaving pending requests unanswered.</summary>
    public void Die()
    {
        _dead = true;
        try
        {
            _listener.Stop();
        }
        catch
        {
            // already
        }
        foreach (var c in _clients)
        {
            try
            {
                c.Client.LingerState = new LingerOption(true, 0);
                c.Client.Close();
            }
            catch
            {
                // already
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        Die();
        try
        {
            await _accept;
        }
        catch
        {
            // stopped
        }
    }
}
