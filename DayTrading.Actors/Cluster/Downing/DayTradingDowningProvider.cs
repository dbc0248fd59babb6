using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Event;
using AkkaCluster = Akka.Cluster.Cluster;

namespace DayTrading.Cluster.Downing;

/// <summary>
/// The cluster's downing provider (<c>akka.cluster.downing-provider-class</c> in cluster.hocon), replacing Akka's
/// split-brain resolver: the same keep-majority for clean partitions, but a flapping link downs the flapping node
/// alone (<see cref="DowningRule"/>; docs/CLUSTER.md, "Partitions"). Settings under
/// <c>akka.cluster.daytrading-downing</c>: <c>stable-after</c> (the one definition; <c>--sbr-stable-after-seconds</c>
/// overrides it), <c>down-when-unstable-after</c> (<c>on</c>: 3/4 of stable-after, at least 4 s; <c>off</c>; or a
/// duration), <c>strike-window</c>.
/// </summary>
public sealed class DayTradingDowningProvider : IDowningProvider
{
    public const string ConfigPath = "akka.cluster.daytrading-downing";
    public const string StableAfterPath = ConfigPath + ".stable-after";
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(500);
    private readonly AkkaCluster _cluster;

    public DayTradingDowningProvider(ActorSystem system, AkkaCluster cluster)
    {
        _cluster = cluster;
        Settings = ReadSettings(system.Settings.Config);
    }

    public DowningSettings Settings { get; }

    /// <summary>Singletons and shards of a downed node start elsewhere this long after it is removed (as Akka's resolver does).</summary>
    public TimeSpan DownRemovalMargin => Settings.StableAfter;

    public Props DowningActorProps => Props.Create(() => new DowningActor(_cluster, Settings, TickInterval));

    public static DowningSettings ReadSettings(Config config)
    {
        var section = config.GetConfig(ConfigPath);
        if (section is null || section.IsEmpty) throw new ConfigurationException($"{ConfigPath} is missing (cluster.hocon defines it)");
        TimeSpan Duration(string key) =>
            section.HasPath(key) ? section.GetTimeSpan(key) : throw new ConfigurationException($"{ConfigPath}.{key} is missing (cluster.hocon defines it)");
        var stableAfter = Duration("stable-after");
        if (stableAfter <= TimeSpan.Zero) throw new ConfigurationException($"{StableAfterPath} must be positive");
        var unstable = section.GetString("down-when-unstable-after")?.Trim().ToLowerInvariant() switch
        {
            "on" => TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(4).Ticks, stableAfter.Ticks * 3 / 4)),
            "off" => (TimeSpan?)null,
            null or "" => throw new ConfigurationException($"{ConfigPath}.down-when-unstable-after is missing (cluster.hocon defines it)"),
            _ => Duration("down-when-unstable-after"),
        };
        // A peer that gossips every tick and has not for six ticks is not one to act with; silent for four, it is
        // struck (a 3 s drop shows so at both ends; a few delayed ticks on a busy machine do not).
        return new DowningSettings(stableAfter, unstable, Duration("strike-window"), TickInterval * 6, TickInterval * 4);
    }
}

/// <summary>Gossip between the downing actors: the sender's id and every observer's report it has.</summary>
public sealed record DowningGossip(string From, IReadOnlyList<ObserverReport> Reports);

/// <summary>
/// The shell around <see cref="DowningState"/> on every node (a child of the cluster daemon): every tick it reads the
/// membership and its own failure detector, gossips every report it knows to the other members' downing actors,
/// and carries out what the state decides (<see cref="AkkaCluster.Down"/>).
/// </summary>
internal sealed class DowningActor : ReceiveActor, IWithTimers
{
    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private readonly AkkaCluster _cluster;
    private readonly TimeSpan _tick;
    private readonly DowningState _state;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly DateTimeOffset _start = DateTimeOffset.UtcNow;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Dictionary<string, Member> _members = [];
    private bool _troubled;

    public ITimerScheduler Timers { get; set; } = null!;

    public DowningActor(AkkaCluster cluster, DowningSettings settings, TimeSpan tick)
    {
        _cluster = cluster;
        _tick = tick;
        _state = new DowningState(IdOf(cluster.SelfUniqueAddress), settings);
        Receive<Tick>(_ => OnTick());
        Receive<DowningGossip>(g => _state.Merge(g.From, g.Reports, Now));
    }

    // Monotonic: a wall-clock step must not make a view look stable.
    private DateTimeOffset Now => _start + _clock.Elapsed;

    public static string IdOf(UniqueAddress a) => $"{a.Address}#{a.Uid}";

    private static string AddressOf(string id) => id[..id.LastIndexOf('#')];

    protected override void PreStart()
    {
        _log.Info("Downing: stable-after {0} s, decide when unstable after {1}, strikes counted over {2} s",
            _state.Settings.StableAfter.TotalSeconds, _state.Settings.DecideWhenUnstableAfter is { } u ? $"{u.TotalSeconds} s more" : "never",
            _state.Settings.StrikeWindow.TotalSeconds);
        Timers.StartPeriodicTimer("tick", Tick.Instance, _tick);
    }

    private void OnTick()
    {
        var now = Now;
        var state = _cluster.State;
        var sorted = state.Members.OrderBy(m => m.Address, Member.AddressOrdering).ToList();
        _members = sorted.ToDictionary(m => IdOf(m.UniqueAddress));
        _state.SetMembers(sorted.Select((m, i) => new DowningMember(IdOf(m.UniqueAddress), i, StatusOf(m.Status))), now);
        var self = _cluster.SelfUniqueAddress;
        var available = new Dictionary<string, bool>();
        foreach (var m in sorted)
            if (!m.UniqueAddress.Equals(self)) available[IdOf(m.UniqueAddress)] = _cluster.FailureDetector.IsAvailable(m.Address);
        _state.ObserveSelf(available, now);

        var gossip = new DowningGossip(_state.SelfId, _state.Reports);
        foreach (var m in sorted)
            if (!m.UniqueAddress.Equals(self) && m.Status is not (MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Removed))
                Context.ActorSelection(new RootActorPath(m.Address) / Self.Path.Elements).Tell(gossip, Self);

        var troubled = _state.Decide().Kind != DecisionKind.None;
        if (troubled != _troubled)
        {
            _troubled = troubled;
            if (troubled) _log.Info("Downing: unreachable members seen ({0}); deciding once this view is stable for {1} s", Edges(_state.View), _state.Settings.StableAfter.TotalSeconds);
            else _log.Info("Downing: no member unreachable (any more), no decision needed");
        }

        if (_state.Tick(now) is not { } action) return;
        var d = action.Decision;
        var forced = action.Forced ? $" (unstable for {(now - _state.UnstableSince!.Value).TotalSeconds:0.0} s)" : "";
        var strikes = string.Join(", ", action.View.Where(o => o.Strikes > 0).Select(o => $"{Short(o.Observer)}>{Short(o.Subject)}:{o.Strikes}"));
        // The partition test reads this line: "took decision <kind> and is downing [<addresses>]".
        _log.Warning($"Downing took decision {d.Kind}{forced} and is downing [{string.Join(", ", action.ToDown.Select(AddressOf))}]" +
            $"{(action.DownsSelf ? " (itself)" : "")}: {d.Reason}; unreachable [{Edges(action.View)}]; strikes [{strikes}]");
        foreach (var id in action.ToDown.Where(id => id != _state.SelfId))
            if (_members.TryGetValue(id, out var m)) _cluster.Down(m.Address);
        if (action.DownsSelf) _cluster.Down(_cluster.SelfAddress);
    }

    private static string Edges(IEnumerable<Observation> view) =>
        string.Join(", ", view.Where(o => o.Unreachable).Select(o => $"{Short(o.Observer)}>{Short(o.Subject)}"));

    private static string Short(string id)
    {
        var address = AddressOf(id);
        var at = address.IndexOf('@');
        return at < 0 ? address : address[(at + 1)..];
    }

    private static NodeStatus StatusOf(MemberStatus s) => s switch
    {
        MemberStatus.Joining => NodeStatus.Joining,
        MemberStatus.WeaklyUp => NodeStatus.WeaklyUp,
        MemberStatus.Up => NodeStatus.Up,
        MemberStatus.Leaving => NodeStatus.Leaving,
        MemberStatus.Exiting => NodeStatus.Exiting,
        MemberStatus.Down => NodeStatus.Down,
        _ => NodeStatus.Removed,
    };
}
