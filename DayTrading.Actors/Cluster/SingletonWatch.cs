using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Hosting;

namespace DayTrading.Cluster;

/// <summary>
/// Says in the runtime log when a cluster singleton is missing where it should run. On the oldest member it asks
/// every few seconds whether each singleton is running under its manager; one absent for 30 s gets one warning (and an info line when it is back). It replaces the singleton proxies' own
/// warning, which Akka.NET 1.5 logs falsely on every start and hand-over (akka.net#8568) and cluster.hocon turns off;
/// a singleton that stopped for good (the partition test's stuck quote manager) is still told.
/// </summary>
public sealed class SingletonWatch : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan DefaultCheckEvery = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DefaultWarnAfter = TimeSpan.FromSeconds(30);

    private sealed class Check
    {
        public static readonly Check Instance = new();
    }

    private readonly IReadOnlyList<string> _singletons;
    private readonly TimeSpan _checkEvery;
    private readonly TimeSpan _warnAfter;
    private readonly Dictionary<string, long> _missingSince = new(StringComparer.Ordinal);
    private readonly HashSet<string> _warned = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="singletons">the singletons' names (their managers' names under /user, as Akka.Hosting makes them)</param>
    public SingletonWatch(IReadOnlyList<string> singletons, TimeSpan checkEvery, TimeSpan warnAfter)
    {
        _singletons = singletons;
        _checkEvery = checkEvery;
        _warnAfter = warnAfter;
        Receive<Check>(_ => OnCheck());
        Receive<ActorIdentity>(OnIdentity);
    }

    protected override void PreStart() => Timers.StartPeriodicTimer("check", Check.Instance, _checkEvery);

    public static Props Props(IReadOnlyList<string> singletons, TimeSpan? checkEvery = null, TimeSpan? warnAfter = null) =>
        Akka.Actor.Props.Create(() => new SingletonWatch(singletons, checkEvery ?? DefaultCheckEvery, warnAfter ?? DefaultWarnAfter));

    private bool SelfIsOldest()
    {
        var up = _cluster.State.Members.Where(m => m.Status == MemberStatus.Up).ToArray();
        if (up.Length == 0 || _cluster.SelfMember.Status != MemberStatus.Up) return false;
        return up.Aggregate((a, b) => b.IsOlderThan(a) ? b : a).UniqueAddress == _cluster.SelfUniqueAddress;
    }

    private void OnCheck()
    {
        if (!SelfIsOldest())
        {
            // Not where the singletons run (or leaving): the oldest member watches them.
            _missingSince.Clear();
            _warned.Clear();
            return;
        }
        foreach (var name in _singletons) Context.ActorSelection($"/user/{name}/{name}").Tell(new Identify(name));
    }

    private void OnIdentity(ActorIdentity identity)
    {
        if (identity.MessageId is not string name) return;
        if (identity.Subject is not null)
        {
            _missingSince.Remove(name);
            if (_warned.Remove(name)) _log.Info("singleton {0} is running again on this node", name);
            return;
        }
        var now = Environment.TickCount64;
        if (!_missingSince.TryGetValue(name, out var since)) _missingSince[name] = since = now;
        if (now - since >= (long)_warnAfter.TotalMilliseconds && _warned.Add(name))
            _log.Warning("singleton {0} has not been running on this node, the oldest, for {1:0} s: requests that need it wait or time out",
                name, TimeSpan.FromMilliseconds(now - since).TotalSeconds);
    }
}

public static class SingletonWatchSetup
{
    /// <summary>This node's <see cref="SingletonWatch"/> over <paramref name="singletons"/>.</summary>
    public static AkkaConfigurationBuilder AddSingletonWatch(this AkkaConfigurationBuilder builder, IReadOnlyList<string> singletons) =>
        builder.WithActors((system, _) => system.ActorOf(SingletonWatch.Props(singletons), "singleton-watch"));
}
