namespace DayTrading.Cluster.Downing;

/// <summary>A member's status as the downing rule needs it (Akka's MemberStatus, without Akka).</summary>
public enum NodeStatus { Joining, WeaklyUp, Up, Leaving, Exiting, Down, Removed }

/// <summary>
/// One member. <paramref name="Id"/> names one incarnation (address and uid: a restarted node is a new member);
/// <paramref name="Order"/> is its place in address order (Akka's <c>Member.AddressOrdering</c>), lowest first: the
/// same number on every node that knows the same members.
/// </summary>
public sealed record DowningMember(string Id, int Order, NodeStatus Status);

/// <summary>
/// What <paramref name="Observer"/>'s own failure detector says of <paramref name="Subject"/>: unreachable right
/// now or not; and <paramref name="Strikes"/>, how many times the observer lost the subject within the recent window
/// (its failure detector, or the subject's gossip falling silent): a flapping link keeps striking, at both ends.
/// </summary>
public sealed record Observation(string Observer, string Subject, bool Unreachable, int Strikes);

public enum DecisionKind
{
    /// <summary>Nothing is unreachable.</summary>
    None,
    /// <summary>The reachable side is the majority (or the half with the lowest address): it downs the unreachable side.</summary>
    DownUnreachable,
    /// <summary>The reachable side is a minority: it downs itself.</summary>
    DownReachable,
    /// <summary>
    /// Observations were inconsistent (a node both observes and is observed unreachable): the worst node or nodes
    /// are downed, then keep-majority decides over the rest (<see cref="DowningDecision.Side"/>).
    /// </summary>
    DownIndirectlyConnected,
}

/// <summary>
/// What <see cref="DowningRule.Decide"/> found. <see cref="Down"/> are the members to down, <see cref="Survivors"/>
/// the ones that stay; <see cref="Responsible"/> (the first survivor in address order) downs the others, and every
/// member in <see cref="Down"/> downs itself. <see cref="Picked"/> are the nodes the indirect-connection rule chose,
/// in the order chosen; <see cref="Reachable"/> the side the decision calls reachable (it needs their gossip to be
/// fresh before anyone acts); <see cref="Side"/> what keep-majority then decided for that side.
/// </summary>
public sealed record DowningDecision(
    DecisionKind Kind,
    DecisionKind Side,
    IReadOnlyList<string> Down,
    IReadOnlyList<string> Survivors,
    IReadOnlyList<string> Reachable,
    IReadOnlyList<string> Picked,
    string? Responsible,
    string Reason)
{
    public static readonly DowningDecision Nothing = new(DecisionKind.None, DecisionKind.None, [], [], [], [], null, "nothing unreachable");
}

/// <summary>
/// The split-brain decision as a pure function of the cluster's view: the members and every observer's
/// reachability observations (docs/CLUSTER.md, "Partitions"). Every node evaluates it on the view it has; where
/// views agree the answer is the same on every node, so at most one side survives.
/// <list type="number">
/// <item>Only unreachable observations between live members (not Down, Exiting or removed) count.</item>
/// <item>
/// Indirectly connected: a node that observes some member unreachable while it is itself observed unreachable (both
/// ends of a reachability cycle, as a flapping link makes them), or that observes a member unreachable whom no one
/// else does while it has itself been seen unreachable (now or recently) by more observers than that member — its
/// observation is the suspect one. Of these, the one seen unreachable by the most observers (now or recently) is
/// downed; ties: the one that sees the most peers unreachable, then the most strikes against it, then the highest
/// address. Its observations are then ignored and the rule repeats, so a single flapping node is downed alone
/// rather than with every peer it was in a cycle with.
/// </item>
/// <item>
/// Keep-majority over the rest: the members nobody (still counted) observes unreachable are the reachable side.
/// It survives if it holds more than half of the voting members (Up and Leaving, counting the ones just picked:
/// the survivors must be a majority of the cluster as it was), or exactly half and the lowest address of those
/// not picked; then it downs the unreachable side, else it downs itself.
/// </item>
/// </list>
/// </summary>
public static class DowningRule
{
    public static DowningDecision Decide(IReadOnlyCollection<DowningMember> members, IReadOnlyCollection<Observation> observations)
    {
        var live = members.Where(m => m.Status is not (NodeStatus.Down or NodeStatus.Exiting or NodeStatus.Removed))
            .GroupBy(m => m.Id).Select(g => g.First()).ToDictionary(m => m.Id);
        var counted = observations.Where(o => o.Observer != o.Subject && live.ContainsKey(o.Observer) && live.ContainsKey(o.Subject))
            .GroupBy(o => (o.Observer, o.Subject)).Select(g => g.First()).ToList();
        if (!counted.Any(o => o.Unreachable)) return DowningDecision.Nothing;

        var picked = new List<string>();
        var remaining = new HashSet<string>(live.Keys);
        var reasons = new List<string>();
        while (true)
        {
            var edges = counted.Where(o => o.Unreachable && remaining.Contains(o.Observer) && remaining.Contains(o.Subject)).ToList();
            var history = counted.Where(o => (o.Unreachable || o.Strikes > 0) && remaining.Contains(o.Observer) && remaining.Contains(o.Subject)).ToList();
            var accusers = history.GroupBy(o => o.Subject).ToDictionary(g => g.Key, g => g.Select(o => o.Observer).Distinct().Count());
            int Accusers(string id) => accusers.GetValueOrDefault(id);
            var subjects = edges.Select(o => o.Subject).ToHashSet();
            var candidates = edges
                .Where(o => subjects.Contains(o.Observer)
                    || (Accusers(o.Observer) > Accusers(o.Subject) && !edges.Any(e => e.Subject == o.Subject && e.Observer != o.Observer)))
                .Select(o => o.Observer).Distinct().ToList();
            if (candidates.Count == 0) break;
            var worst = candidates
                .OrderByDescending(Accusers)
                .ThenByDescending(id => history.Where(o => o.Observer == id).Select(o => o.Subject).Distinct().Count())
                .ThenByDescending(id => history.Where(o => o.Subject == id).Sum(o => Math.Max(o.Strikes, 1)))
                .ThenByDescending(id => live[id].Order)
                .First();
            reasons.Add($"{worst} indirectly connected (seen unreachable by {Accusers(worst)}, of {string.Join(", ", candidates)})");
            picked.Add(worst);
            remaining.Remove(worst);
        }

        var unreachable = counted.Where(o => o.Unreachable && remaining.Contains(o.Observer) && remaining.Contains(o.Subject))
            .Select(o => o.Subject).ToHashSet();
        var reachable = remaining.Where(id => !unreachable.Contains(id)).OrderBy(id => live[id].Order).ToList();
        static bool Votes(DowningMember m) => m.Status is NodeStatus.Up or NodeStatus.Leaving;
        var voting = live.Values.Count(Votes);
        var reachableVotes = reachable.Count(id => Votes(live[id]));
        var lowest = live.Values.Where(m => Votes(m) && !picked.Contains(m.Id)).OrderBy(m => m.Order).FirstOrDefault();
        var keep = 2 * reachableVotes > voting || (2 * reachableVotes == voting && reachableVotes > 0 && lowest is not null && reachable.Contains(lowest.Id));
        var side = unreachable.Count == 0 && keep ? DecisionKind.None : keep ? DecisionKind.DownUnreachable : DecisionKind.DownReachable;
        reasons.Add(keep
            ? $"reachable side {reachableVotes} of {voting} voting members{(2 * reachableVotes == voting ? " with the lowest address" : "")}: keeps"
            : $"reachable side {reachableVotes} of {voting} voting members: downs itself");

        var down = picked.Concat(keep ? unreachable : reachable).Distinct().OrderBy(id => live[id].Order).ToList();
        var survivors = live.Keys.Where(id => !down.Contains(id)).OrderBy(id => live[id].Order).ToList();
        var kind = picked.Count > 0 ? DecisionKind.DownIndirectlyConnected : side;
        return new DowningDecision(kind, side, down, survivors, reachable, picked, survivors.FirstOrDefault(), string.Join("; ", reasons));
    }
}
