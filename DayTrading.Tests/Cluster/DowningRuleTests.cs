using DayTrading.Cluster.Downing;
using Xunit;

namespace DayTrading.Tests.Cluster;

/// <summary>
/// The split-brain decision (<see cref="DowningRule"/>) on views a 3-node cluster (A, B, C in address order) has in
/// the faults of the partition test, each from the nodes that hold it; no actor system.
/// </summary>
public sealed class DowningRuleTests
{
    private static List<DowningMember> Members(params string[] ids) =>
        ids.Select((id, i) => new DowningMember(id, i, NodeStatus.Up)).ToList();

    private static readonly List<DowningMember> Three = Members("A", "B", "C");

    private static Observation U(string observer, string subject, int strikes = 1) => new(observer, subject, true, strikes);

    private static Observation R(string observer, string subject, int strikes = 0) => new(observer, subject, false, strikes);

    /// <summary>The observations every other member reports about the rest as reachable (a stale or healthy report).</summary>
    private static IEnumerable<Observation> Fine(string observer, params string[] subjects) => subjects.Select(s => R(observer, s));

    [Fact]
    public void Clean_two_one_split_the_majority_downs_the_minority()
    {
        // A and B see C unreachable; C's report is the one from before the split.
        var d = DowningRule.Decide(Three, [U("A", "C"), U("B", "C"), R("A", "B"), R("B", "A"), .. Fine("C", "A", "B")]);
        Assert.Equal(DecisionKind.DownUnreachable, d.Kind);
        Assert.Equal(["C"], d.Down);
        Assert.Equal(["A", "B"], d.Survivors);
        Assert.Equal("A", d.Responsible);
    }

    [Fact]
    public void Clean_two_one_split_the_minority_downs_itself()
    {
        // C sees both unreachable; A's and B's reports are from before the split.
        var d = DowningRule.Decide(Three, [U("C", "A"), U("C", "B"), .. Fine("A", "B", "C"), .. Fine("B", "A", "C")]);
        Assert.Equal(DecisionKind.DownReachable, d.Kind);
        Assert.Equal(["C"], d.Down);
        Assert.Equal(["A", "B"], d.Survivors);
    }

    [Fact]
    public void A_cut_off_or_crashed_node_that_never_reported_is_downed_by_the_others()
    {
        var d = DowningRule.Decide(Three, [U("A", "C"), U("B", "C")]);
        Assert.Equal(["C"], d.Down);
        Assert.Equal("A", d.Responsible);
        // The lowest address can be the lost one: the next one is then responsible.
        d = DowningRule.Decide(Three, [U("B", "A"), U("C", "A")]);
        Assert.Equal(["A"], d.Down);
        Assert.Equal("B", d.Responsible);
    }

    [Theory]
    [InlineData("A")]
    [InlineData("B")]
    [InlineData("C")]
    public void A_flapping_node_seen_by_both_peers_is_downed_alone_whatever_its_address(string flapping)
    {
        var peers = new[] { "A", "B", "C" }.Where(x => x != flapping).ToArray();
        // Both ends of the cycle: the flapping node sees its peers unreachable and they see it.
        var view = new List<Observation>
        {
            U(peers[0], flapping, 3), U(peers[1], flapping, 2), U(flapping, peers[0], 3), U(flapping, peers[1], 3),
            R(peers[0], peers[1]), R(peers[1], peers[0]),
        };
        var d = DowningRule.Decide(Three, view);
        Assert.Equal(DecisionKind.DownIndirectlyConnected, d.Kind);
        Assert.Equal([flapping], d.Picked);
        Assert.Equal([flapping], d.Down);
        Assert.Equal(peers, d.Survivors);
        Assert.Equal(peers[0], d.Responsible);
    }

    [Fact]
    public void The_flapping_nodes_own_view_without_its_peers_reports_downs_itself()
    {
        var d = DowningRule.Decide(Three, [U("C", "A", 2), U("C", "B", 2)]);
        Assert.Equal(["C"], d.Down);
        Assert.Equal(["A", "B"], d.Survivors);
    }

    [Fact]
    public void A_flapping_node_that_sees_only_one_peer_unreachable_does_not_take_it_down()
    {
        // Akka's resolver here had C and B as a majority against A, while A downed C: both downed. C sees A
        // unreachable and B reachable; A sees C unreachable; B struck C earlier too (its report is relayed by B).
        var view = new List<Observation> { U("C", "A", 2), R("C", "B", 1), U("A", "C", 2), R("B", "C", 2), R("A", "B"), R("B", "A") };
        var d = DowningRule.Decide(Three, view);
        Assert.Equal(["C"], d.Down);
        Assert.Equal(["A", "B"], d.Survivors);
        Assert.Equal("A", d.Responsible);
    }

    [Fact]
    public void A_flapping_nodes_one_way_observation_is_discounted_when_it_is_the_one_recently_seen_unreachable_by_all()
    {
        // Right now only C sees A unreachable (no cycle); A and B both struck C within the window.
        var view = new List<Observation> { U("C", "A", 2), R("C", "B", 2), R("A", "C", 2), R("B", "C", 1), R("A", "B"), R("B", "A") };
        var d = DowningRule.Decide(Three, view);
        Assert.Equal(DecisionKind.DownIndirectlyConnected, d.Kind);
        Assert.Equal(["C"], d.Down);
    }

    [Fact]
    public void A_real_tie_between_two_nodes_that_cannot_see_each_other_downs_the_one_that_sees_more_peers_unreachable_then_the_higher_address()
    {
        // C struck B too: it is the one with the bad link.
        var d = DowningRule.Decide(Three, [U("A", "C"), U("C", "A"), R("C", "B", 1), R("B", "C"), R("A", "B"), R("B", "A")]);
        Assert.Equal(["C"], d.Down);
        d = DowningRule.Decide(Three, [U("A", "C"), U("C", "A"), R("A", "B", 1), R("B", "C"), R("C", "B"), R("B", "A")]);
        Assert.Equal(["A"], d.Down);
        Assert.Equal("B", d.Responsible);
        // Nothing tells them apart: the higher address goes, the lower one stays with B.
        d = DowningRule.Decide(Three, [U("A", "C"), U("C", "A")]);
        Assert.Equal(["C"], d.Down);
    }

    [Fact]
    public void Asymmetric_one_way_unreachability_downs_the_unreachable_node_from_every_view()
    {
        // A cannot hear B; B and C hear everyone. As Akka's keep-majority: B is the unreachable side.
        var view = new List<Observation> { U("A", "B"), R("A", "C"), R("B", "A"), R("B", "C"), R("C", "A"), R("C", "B") };
        var d = DowningRule.Decide(Three, view);
        Assert.Equal(DecisionKind.DownUnreachable, d.Kind);
        Assert.Equal(["B"], d.Down);
        Assert.Equal("A", d.Responsible);
    }

    [Fact]
    public void Equal_split_of_two_nodes_keeps_the_lowest_address_from_both_sides()
    {
        var two = Members("A", "B");
        var fromA = DowningRule.Decide(two, [U("A", "B"), R("B", "A")]);
        Assert.Equal(DecisionKind.DownUnreachable, fromA.Kind);
        Assert.Equal(["B"], fromA.Down);
        var fromB = DowningRule.Decide(two, [U("B", "A"), R("A", "B")]);
        Assert.Equal(DecisionKind.DownReachable, fromB.Kind);
        Assert.Equal(["B"], fromB.Down);
        // Both seeing each other: a cycle; the higher address is picked and A keeps half with the lowest address.
        var both = DowningRule.Decide(two, [U("A", "B"), U("B", "A")]);
        Assert.Equal(["B"], both.Down);
        Assert.Equal(["A"], both.Survivors);
    }

    [Fact]
    public void Everyone_unreachable_downs_every_node()
    {
        // Each node's own view: it alone is reachable, a minority: it downs itself.
        foreach (var self in new[] { "A", "B", "C" })
        {
            var d = DowningRule.Decide(Three, new[] { "A", "B", "C" }.Where(x => x != self).Select(x => U(self, x)).ToList());
            Assert.Equal([self], d.Down);
        }
        // Every observation known (all six): no node is left with a majority.
        var all = DowningRule.Decide(Three, [U("A", "B"), U("A", "C"), U("B", "A"), U("B", "C"), U("C", "A"), U("C", "B")]);
        Assert.Equal(["A", "B", "C"], all.Down);
        Assert.Empty(all.Survivors);
    }

    [Fact]
    public void An_old_blip_of_a_healthy_node_does_not_turn_a_crash_into_more_downing()
    {
        // B and C struck A a minute ago (its link blipped); now C crashed.
        var view = new List<Observation> { U("A", "C"), U("B", "C"), R("B", "A", 1), R("C", "A", 1), R("C", "B"), R("A", "B", 1) };
        var d = DowningRule.Decide(Three, view);
        Assert.Equal(DecisionKind.DownUnreachable, d.Kind);
        Assert.Equal(["C"], d.Down);
    }

    [Fact]
    public void Nothing_unreachable_decides_nothing_and_downed_or_removed_members_do_not_count()
    {
        Assert.Equal(DecisionKind.None, DowningRule.Decide(Three, [R("A", "B", 3), R("B", "A", 1)]).Kind);
        // C is Down already: its observations and the ones of it are history.
        var members = new List<DowningMember> { new("A", 0, NodeStatus.Up), new("B", 1, NodeStatus.Up), new("C", 2, NodeStatus.Down) };
        Assert.Equal(DecisionKind.None, DowningRule.Decide(members, [U("A", "C"), U("C", "A"), U("C", "B")]).Kind);
        // An observation of an incarnation that is no longer a member (a restarted node has a new id) is ignored.
        Assert.Equal(DecisionKind.None, DowningRule.Decide(Three, [U("A", "C-old"), U("C-old", "B")]).Kind);
    }

    [Fact]
    public void A_joining_member_does_not_vote_but_is_downed_with_the_unreachable_side()
    {
        var members = new List<DowningMember> { new("A", 0, NodeStatus.Up), new("B", 1, NodeStatus.Up), new("C", 2, NodeStatus.Up), new("D", 3, NodeStatus.Joining) };
        var d = DowningRule.Decide(members, [U("A", "C"), U("B", "C"), U("A", "D"), U("B", "D")]);
        Assert.Equal(["C", "D"], d.Down);
        Assert.Equal(["A", "B"], d.Survivors);
    }

    [Fact]
    public void Two_flapping_nodes_of_five_are_both_downed_and_the_three_others_keep()
    {
        var five = Members("A", "B", "C", "D", "E");
        var view = new List<Observation>();
        foreach (var bad in new[] { "D", "E" })
        foreach (var other in new[] { "A", "B", "C", "D", "E" }.Where(x => x != bad))
        {
            view.Add(U(other, bad, 2));
            view.Add(U(bad, other, 2));
        }
        var d = DowningRule.Decide(five, view.Distinct().ToList());
        Assert.Equal(["D", "E"], d.Down);
        Assert.Equal(["A", "B", "C"], d.Survivors);
    }

    [Fact]
    public void Where_views_agree_every_node_takes_the_same_decision()
    {
        var view = new List<Observation> { U("A", "C", 3), U("B", "C", 2), U("C", "A", 3), R("C", "B", 2) };
        var orders = new[] { view, Enumerable.Reverse(view).ToList(), view.OrderBy(o => o.Subject).ToList() };
        var decisions = orders.Select(v => DowningRule.Decide(Three, v)).ToList();
        Assert.All(decisions, d => Assert.Equal(["C"], d.Down));
        Assert.All(decisions, d => Assert.Equal("A", d.Responsible));
    }
}
