using System.Net.Sockets;
using DayTrading.Loadgen.Client;

namespace DayTrading.Loadgen.Replay;

public sealed record Target(string Host, int Port)
{
    public override string ToString() => $"{Host}:{Port}";

    /// <summary>Parses <c>host:port[,host:port…]</c>.</summary>
    public static IReadOnlyList<Target> ParseList(string text)
    {
        var list = new List<Target>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(part[(colon + 1)..], out var port) || port is < 1 or > 65535)
                throw new FormatException($"target '{part}' is not host:port");
            list.Add(new Target(part[..colon].Trim('[', ']'), port));
        }
        if (list.Count == 0) throw new FormatException("no target given");
        return list;
    }
}

/// <summary>Every target is unreachable: the run cannot go on.</summary>
public sealed class AllTargetsDownException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The run's connections: <c>connectionsPerTarget</c> slots per target, connected lazily. When a slot's connection
/// fails, <see cref="ReplaceAsync"/> reconnects the slot to the next target that still accepts connections
/// (another target first; the same one only when it is the last one alive). Each connection announces the run id
/// (<c>#RUN</c>), so requests resent on the new connection with the same N are applied once.
/// </summary>
public sealed class ConnectionPool : IAsyncDisposable
{
    private readonly IReadOnlyList<Target> _targets;
    private readonly bool[] _dead;
    private readonly Slot[] _slots;
    private readonly EdgeClientOptions _options;
    private readonly Action<string>? _log;
    private int _connectAttempts;

    private sealed class Slot(int target)
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public int Target = target;
        public EdgeClient? Client;
    }

    public ConnectionPool(IReadOnlyList<Target> targets, int connectionsPerTarget, EdgeClientOptions options, Action<string>? log = null)
    {
        if (targets.Count == 0) throw new ArgumentException("no target", nameof(targets));
        if (connectionsPerTarget < 1) throw new ArgumentOutOfRangeException(nameof(connectionsPerTarget));
        _targets = targets;
        _dead = new bool[targets.Count];
        _options = options;
        _log = log;
        // Interleave so slot i, i+1… go to different targets.
        _slots = Enumerable.Range(0, targets.Count * connectionsPerTarget).Select(i => new Slot(i % targets.Count)).ToArray();
    }

    public int SlotCount => _slots.Length;
    public int Reconnects;

    public IReadOnlyList<Target> AliveTargets
    {
        get
        {
            lock (_dead) return _targets.Where((_, i) => !_dead[i]).ToArray();
        }
    }

    /// <summary>Connects every slot now (so a bad target is reported before the run starts).</summary>
    public async Task ConnectAllAsync(CancellationToken ct)
    {
        for (var i = 0; i < _slots.Length; i++) await GetAsync(i, ct).ConfigureAwait(false);
    }

    /// <summary>The slot's connection (made on first use). Allocation-free once connected: it is asked for on every request.</summary>
    public ValueTask<EdgeClient> GetAsync(int slot, CancellationToken ct) =>
        _slots[slot].Client is { } c ? ValueTask.FromResult(c) : new ValueTask<EdgeClient>(ConnectSlotAsync(slot, ct));

    private async Task<EdgeClient> ConnectSlotAsync(int slot, CancellationToken ct)
    {
        var s = _slots[slot];
        await s.Gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return s.Client ??= await ConnectSomewhereAsync(s, preferOther: false, ct).ConfigureAwait(false);
        }
        finally
        {
            s.Gate.Release();
        }
    }

    /// <summary>The slot's connection <paramref name="failed"/> broke: gives the slot's new connection (made once, shared by every user of the slot).</summary>
    public async Task<EdgeClient> ReplaceAsync(int slot, EdgeClient failed, CancellationToken ct)
    {
        var s = _slots[slot];
        await s.Gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (s.Client is { } current && !ReferenceEquals(current, failed)) return current;
            s.Client = null;
            _ = failed.DisposeAsync().AsTask();
            Interlocked.Increment(ref Reconnects);
            var next = await ConnectSomewhereAsync(s, preferOther: true, ct).ConfigureAwait(false);
            s.Client = next;
            return next;
        }
        finally
        {
            s.Gate.Release();
        }
    }

    private async Task<EdgeClient> ConnectSomewhereAsync(Slot s, bool preferOther, CancellationToken ct)
    {
        Exception? last = null;
        // Try the other targets first (in order after the slot's), the slot's own target last; twice around with a
        // short pause so a target that is just restarting gets a second chance.
        for (var round = 0; round < 2; round++)
        {
            for (var k = 0; k < _targets.Count; k++)
            {
                var t = preferOther ? (s.Target + 1 + k) % _targets.Count : (s.Target + k) % _targets.Count;
                lock (_dead)
                {
                    if (_dead[t] && round == 0 && _targets.Count > 1) continue;
                }
                try
                {
                    Interlocked.Increment(ref _connectAttempts);
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    timeout.CancelAfter(TimeSpan.FromSeconds(10));
                    var client = await EdgeClient.ConnectAsync(_targets[t].Host, _targets[t].Port, _options, timeout.Token).ConfigureAwait(false);
                    lock (_dead) _dead[t] = false;
                    if (t != s.Target) _log?.Invoke($"connection moved from {_targets[s.Target]} to {_targets[t]}");
                    s.Target = t;
                    return client;
                }
                catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or InvalidOperationException && !ct.IsCancellationRequested)
                {
                    last = ex;
                    lock (_dead) _dead[t] = true;
                    _log?.Invoke($"target {_targets[t]} unreachable: {ex.Message}");
                }
            }
            if (round == 0) await Task.Delay(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
        }
        throw new AllTargetsDownException(
            $"all targets are unreachable ({string.Join(", ", _targets)}); last error: {last?.Message}", last);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _slots)
        {
            if (s.Client is { } c) await c.DisposeAsync().ConfigureAwait(false);
            s.Client = null;
        }
    }
}
