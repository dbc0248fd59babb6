using DayTrading.Cluster.Downing;
using Xunit;

namespace DayTrading.Tests.Cluster;

/// <summary>
/// When a node acts on the downing rule (<see cref="DowningState"/>): three nodes' states fed their own failure
/// detectors' verdicts and each other's gossip on an explicit clock, as the actor shell does every tick.
/// </summary>
public sealed class DowningStateTests
{
    private static readonly DowningSettings Settings = new(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(2));
    private static readonly string[] Ids = ["A", "B", "C"];
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Three nodes; <see cref="Step"/> advances them by one tick with the links given.</summary>
    private sealed class Lab
    {
        public readonly Dictionary<string, DowningState> Nodes = Ids.ToDictionary(id => id, id => new DowningState(id, Settings));
        public DateTimeOffset Now = T0;
        public readonly List<(DateTimeOffset At, string By, DowningAction Action)> Actions = [];

        public Lab()
        {
            foreach (var n in Nodes.Values) n.SetMembers(Ids.Select((id, i) => new DowningMember(id, i, NodeStatus.Up)), Now);
        }

        /// <summary>A new membership, the same on every node still running (a node not listed has stopped).</summary>
        public void Membership(params DowningMember[] members)
        {
            foreach (var id in Nodes.Keys.Where(id => !members.Any(m => m.Id == id)).ToList()) Nodes.Remove(id);
            foreach (var m in members) Nodes.TryAdd(m.Id, new DowningState(m.Id, Settings));
            foreach (var n in Nodes.Values) n.SetMembers(members, Now);
        }

        /// <summary>
        /// One tick: each node's failure detector says whether it hears each peer (<paramref name="hears"/>), and
        /// gossip goes where <paramref name="delivers"/> lets it; then every node decides.
        /// </summary>
        public void Step(Func<string, string, bool> hears, Func<string, string, bool>? delivers = null, TimeSpan? tick = null)
        {
            delivers ??= hears;
            Now += tick ?? TimeSpan.FromMilliseconds(500);
            foreach (var (id, n) in Nodes) n.ObserveSelf(Nodes.Keys.Where(x => x != id).ToDictionary(x => x, x => hears(id, x)), Now);
            var sent = Nodes.ToDictionary(kv => kv.Key, kv => kv.Value.Reports);
            foreach (var (from, reports) in sent)
            foreach (var to in Nodes.Keys.Where(x => x != from && delivers(x, from)))
                Nodes[to].Merge(from, reports, Now);
            foreach (var (id, n) in Nodes)
                if (n.Tick(Now) is { } a) Actions.Add((Now, id, a));
        }

        public void Run(TimeSpan duration, Func<string, string, bool> hears, Func<string, string, bool>? delivers = null)
        {
            var until = Now + duration;
            while (Now < until) Step(hears, delivers);
        }
    }

    private static bool All(string observer, string subject) => true;

    private static Func<string, string, bool> Without(string lost) => (o, s) => o != lost && s != lost;

    [Fact]
    public void A_cut_off_node_is_downed_by_the_responsible_survivor_and_by_itself_after_stable_after_and_not_before()
    {
        var lab = new Lab();
        lab.Run(TimeSpan.FromSeconds(2), All);
        lab.Run(TimeSpan.FromSeconds(2.5), Without("C"));
        Assert.Empty(lab.Actions);
        lab.Run(TimeSpan.FromSeconds(1.5), Without("C"));
        Assert.Contains(lab.Actions, a => a.By == "A" && a.Action.ToDown.SequenceEqual(["C"]) && !a.Action.DownsSelf);
        Assert.Contains(lab.Actions, a => a.By == "C" && a.Action.DownsSelf && a.Action.ToDown.SequenceEqual(["C"]));
        // B is not responsible; nothing else is downed; a decision is taken once, not every tick.
        Assert.DoesNotContain(lab.Actions, a => a.By == "B");
        Assert.Equal(2, lab.Actions.Count);
        Assert.All(lab.Actions, a => Assert.True(a.At - T0 >= TimeSpan.FromSeconds(5), $"acted at {a.At - T0}"));
    }

    [Fact]
    public void A_change_in_the_view_restarts_the_wait()
    {
        var lab = new Lab();
        lab.Run(TimeSpan.FromSeconds(2), (o, s) => !(o == "A" && s == "C")); // only A lost C
        lab.Run(TimeSpan.FromSeconds(2), Without("C")); // now B too: the view changed
        Assert.Empty(lab.Actions);
        lab.Run(TimeSpan.FromSeconds(1.5), Without("C"));
        Assert.Contains(lab.Actions, a => a.By == "A" && a.Action.ToDown.SequenceEqual(["C"]));
    }

    [Fact]
    public void A_decision_to_down_others_waits_for_fresh_gossip_from_the_members_it_counts_as_reachable()
    {
        var lab = new Lab();
        lab.Run(TimeSpan.FromSeconds(1), All);
        // A's failure detector loses C, B's does not; no gossip reaches A: A must not act on its own view.
        Func<string, string, bool> aLostC = (o, s) => !(o == "A" && s == "C");
        lab.Run(TimeSpan.FromSeconds(6), aLostC, (to, from) => to != "A");
        Assert.DoesNotContain(lab.Actions, a => a.By == "A");
        // C, told by A that it is unreachable, downs itself: that needs nobody's confirmation.
        Assert.Contains(lab.Actions, a => a.By == "C" && a.Action.DownsSelf);
        // B's gossip arrives again, saying nothing new: A acts.
        lab.Step(aLostC, (to, from) => true);
        Assert.Contains(lab.Actions, a => a.By == "A" && a.Action.ToDown.SequenceEqual(["C"]));
    }

    [Fact]
    public void A_flapping_node_seen_by_both_peers_is_downed_alone_by_itself_and_the_responsible_peer()
    {
        var lab = new Lab();
        lab.Run(TimeSpan.FromSeconds(1), All);
        // Two flaps: C loses and regains its peers.
        for (var i = 0; i < 2; i++)
        {
            lab.Run(TimeSpan.FromSeconds(1.5), (o, s) => o != "C" && s != "C");
            lab.Run(TimeSpan.FromSeconds(1), All);
        }
        Assert.Empty(lab.Actions);
        // Then every failure detector involving C has tripped both ways, while B still relays gossip between A and C.
        lab.Run(TimeSpan.FromSeconds(5), (o, s) => o != "C" && s != "C", (to, from) => !(to == "C" && from == "A") && !(to == "A" && from == "C"));
        Assert.NotEmpty(lab.Actions);
        Assert.All(lab.Actions, a => Assert.Equal(["C"], a.Action.Decision.Down));
        Assert.All(lab.Actions, a => Assert.Equal(DecisionKind.DownIndirectlyConnected, a.Action.Decision.Kind));
        Assert.Contains(lab.Actions, a => a.By == "A" && !a.Action.DownsSelf);
        Assert.Contains(lab.Actions, a => a.By == "C" && a.Action.DownsSelf);
        Assert.DoesNotContain(lab.Actions, a => a.By == "B");
    }

    [Fact]
    public void A_dropped_link_strikes_at_both_ends_so_the_flapping_nodes_lone_verdict_on_a_peer_downs_the_flapping_node()
    {
        var lab = new Lab();
        lab.Run(TimeSpan.FromSeconds(1), All);
        // C's link drops for 2.5 s: no gossip either way, too short for any failure detector, but silent gossip strikes.
        lab.Run(TimeSpan.FromSeconds(2.5), All, (to, from) => to != "C" && from != "C");
        Assert.Empty(lab.Actions);
        // Back up, only C's failure detector has tripped, on B: keep-majority alone would down B.
        lab.Run(TimeSpan.FromSeconds(5), (o, s) => !(o == "C" && s == "B"), (to, from) => true);
        Assert.NotEmpty(lab.Actions);
        Assert.All(lab.Actions, a => Assert.Equal(["C"], a.Action.Decision.Down));
        Assert.Contains(lab.Actions, a => a.By == "A" && !a.Action.DownsSelf);
        Assert.Contains(lab.Actions, a => a.By == "C" && a.Action.DownsSelf);
    }

    [Fact]
    public void A_link_that_never_settles_is_decided_after_the_unstable_bound_and_still_downs_only_the_flapping_node()
    {
        var lab = new Lab();
        lab.Run(TimeSpan.FromSeconds(1), All);
        // C's failure detectors flip every second, never stable for 3 s; A's and B's about C likewise.
        var flaps = 0;
        while (lab.Actions.Count == 0 && flaps < 40)
        {
            var down = flaps++ % 2 == 0;
            lab.Run(TimeSpan.FromSeconds(1), (o, s) => !down || (o != "C" && s != "C"));
        }
        Assert.NotEmpty(lab.Actions);
        Assert.All(lab.Actions, a => Assert.True(a.Action.Forced));
        Assert.All(lab.Actions, a => Assert.Equal(["C"], a.Action.Decision.Down));
        // stable-after 3 s + the bound 4 s from the first unreachability, decided at the next unreachable tick.
        var first = lab.Actions.Min(a => a.At) - T0;
        Assert.InRange(first.TotalSeconds, 1 + 7, 1 + 7 + 2.5);
    }

    [Fact]
    public void An_episode_ends_when_its_nodes_are_downed_so_a_node_joining_next_is_not_decided_on_the_old_clock()
    {
        var lab = new Lab();
        lab.Run(TimeSpan.FromSeconds(1), All);
        lab.Run(TimeSpan.FromSeconds(4), Without("C"));
        Assert.Contains(lab.Actions, a => a.By == "A" && a.Action.ToDown.SequenceEqual(["C"]));
        var decided = lab.Actions.Count;
        lab.Membership(new("A", 0, NodeStatus.Up), new("B", 1, NodeStatus.Up), new("C", 2, NodeStatus.Down));
        lab.Run(TimeSpan.FromSeconds(0.5), Without("C"));
        // C removed; its address comes back as a new incarnation, which B's failure detector does not hear yet (its
        // connections to that address are still gated), struck once: well past the first episode's bound, but a
        // new episode, so nothing happens before a stable-after.
        lab.Membership(new("A", 0, NodeStatus.Up), new("B", 1, NodeStatus.Up), new("C2", 2, NodeStatus.Up));
        lab.Run(TimeSpan.FromSeconds(3), (o, s) => !(o == "B" && s == "C2"));
        Assert.True(lab.Now - T0 >= TimeSpan.FromSeconds(1.5 + 3 + 4), "past the first episode's bound");
        Assert.Equal(decided, lab.Actions.Count);
        // Had the trouble lasted a stable-after, it would be decided as any other (B is the only one not hearing it).
        lab.Step((o, s) => !(o == "B" && s == "C2"));
        Assert.Contains(lab.Actions.Skip(decided), a => a.By == "A" && a.Action.ToDown.SequenceEqual(["C2"]) && !a.Action.Forced);
    }

    [Fact]
    public void Without_the_bound_an_unsettled_link_is_never_decided()
    {
        var lab = new Lab();
        foreach (var id in Ids) lab.Nodes[id] = new DowningState(id, Settings with { DecideWhenUnstableAfter = null });
        foreach (var n in lab.Nodes.Values) n.SetMembers(Ids.Select((id, i) => new DowningMember(id, i, NodeStatus.Up)), lab.Now);
        for (var i = 0; i < 20; i++) lab.Run(TimeSpan.FromSeconds(1), (o, s) => i % 2 == 1 || (o != "C" && s != "C"));
        Assert.Empty(lab.Actions);
    }

    [Fact]
    public void A_calm_stable_after_ends_the_unstable_episode_and_strikes_expire_after_their_window()
    {
        var lab = new Lab();
        lab.Run(TimeSpan.FromSeconds(1), (o, s) => !(o == "A" && s == "C"));
        var a = lab.Nodes["A"];
        Assert.NotNull(a.UnstableSince);
        lab.Run(TimeSpan.FromSeconds(2), All);
        Assert.NotNull(a.UnstableSince); // healed for less than stable-after: may be a flap
        lab.Run(TimeSpan.FromSeconds(1.5), All);
        Assert.Null(a.UnstableSince);
        Assert.Contains(a.View, o => o is { Observer: "A", Subject: "C", Unreachable: false, Strikes: 1 });
        Assert.Contains(lab.Nodes["B"].View, o => o is { Observer: "A", Subject: "C", Strikes: 1 }); // gossiped
        lab.Run(TimeSpan.FromSeconds(60), All);
        Assert.Contains(a.View, o => o is { Observer: "A", Subject: "C", Strikes: 0 });
        Assert.Contains(lab.Nodes["C"].View, o => o is { Observer: "A", Subject: "C", Strikes: 0 });
        Assert.Empty(lab.Actions);
    }

    [Fact]
    public void Gossip_keeps_the_newest_report_of_each_observer_relays_it_and_never_overwrites_a_nodes_own()
    {
        var a = new DowningState("A", Settings);
        a.SetMembers(Ids.Select((id, i) => new DowningMember(id, i, NodeStatus.Up)), T0);
        a.ObserveSelf(new Dictionary<string, bool> { ["B"] = true, ["C"] = true }, T0);
        a.Merge("B", [new ObserverReport("C", 5, [new SubjectReport("A", true, 2)]), new ObserverReport("A", 99, [new SubjectReport("B", true, 9)])], T0);
        a.Merge("B", [new ObserverReport("C", 4, [new SubjectReport("A", false, 0)])], T0); // older: ignored
        Assert.Contains(a.View, o => o is { Observer: "C", Subject: "A", Unreachable: true, Strikes: 2 });
        Assert.DoesNotContain(a.View, o => o is { Observer: "A", Unreachable: true });
        Assert.Contains(a.Reports, r => r.Observer == "C" && r.Version == 5); // relayed on
        // Gossip from a non-member, or reports of non-members, are dropped; so are a removed member's.
        a.Merge("X", [new ObserverReport("C", 6, [])], T0);
        a.Merge("B", [new ObserverReport("X", 1, [new SubjectReport("A", true, 1)])], T0);
        Assert.Contains(a.Reports, r => r.Observer == "C" && r.Version == 5);
        Assert.DoesNotContain(a.Reports, r => r.Observer == "X");
        a.SetMembers([new DowningMember("A", 0, NodeStatus.Up), new DowningMember("B", 1, NodeStatus.Up)], T0);
        Assert.DoesNotContain(a.Reports, r => r.Observer == "C");
    }

    [Fact]
    public void A_node_that_is_not_up_takes_no_decision()
    {
        var c = new DowningState("C", Settings);
        c.SetMembers([new DowningMember("A", 0, NodeStatus.Up), new DowningMember("B", 1, NodeStatus.Up), new DowningMember("C", 2, NodeStatus.Joining)], T0);
        var now = T0;
        for (var i = 0; i < 20; i++)
        {
            now += TimeSpan.FromSeconds(1);
            c.ObserveSelf(new Dictionary<string, bool> { ["A"] = false, ["B"] = false }, now);
            Assert.Null(c.Tick(now));
        }
    }
}
