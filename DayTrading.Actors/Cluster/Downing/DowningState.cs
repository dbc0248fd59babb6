namespace DayTrading.Cluster.Downing;

/// <summary>
/// When to decide (plain C#: the actor feeds it members, its own failure detector's verdicts and its peers' gossip,
/// with the time). <see cref="StableAfter"/>: decide once the unreachable observations and the membership have not
/// changed for that long. <see cref="DecideWhenUnstableAfter"/>: if they keep changing, decide anyway that long after
/// stable-after past the first unreachability (null: never) — the rule still downs the flapping node, not everyone.
/// <see cref="StrikeWindow"/>: how far back strikes (a node lost by an observer) count against it.
/// <see cref="FreshWithin"/>: a decision waits until every member it counts as reachable has gossiped that recently,
/// so no node acts on a view its own side has not confirmed. <see cref="SilentAfter"/>: a peer whose gossip has not
/// arrived for that long is struck (as when the failure detector loses it).
/// </summary>
public sealed record DowningSettings(TimeSpan StableAfter, TimeSpan? DecideWhenUnstableAfter, TimeSpan StrikeWindow, TimeSpan FreshWithin, TimeSpan SilentAfter);

/// <summary>One observer's latest observations; <paramref name="Version"/> grows with every change it makes.</summary>
public sealed record ObserverReport(string Observer, long Version, IReadOnlyList<SubjectReport> Subjects);

public sealed record SubjectReport(string Subject, bool Unreachable, int Strikes);

/// <summary>What this node must do now: down <see cref="ToDown"/> (itself last), because of <see cref="Decision"/>.</summary>
public sealed record DowningAction(DowningDecision Decision, IReadOnlyList<string> ToDown, bool DownsSelf, bool Forced, IReadOnlyList<Observation> View);

/// <summary>
/// One node's downing state: its own observations (with their strikes), the latest report of every other observer
/// (merged from gossip, relayed on, so a node hears of observations made by peers it cannot reach), stability, and
/// the decision. Responsibility follows the decision, not Akka's leader: the members it downs down themselves, the
/// first survivor in address order downs the rest; every other node does nothing.
/// </summary>
public sealed class DowningState(string selfId, DowningSettings settings)
{
    private Dictionary<string, DowningMember> _members = [];
    private readonly Dictionary<string, ObserverReport> _reports = [];
    private readonly Dictionary<string, DateTimeOffset> _heard = [];
    private readonly Dictionary<string, bool> _ownUnreachable = [];
    private readonly Dictionary<string, bool> _ownLost = [];
    private readonly Dictionary<string, List<DateTimeOffset>> _ownStrikes = [];
    private long _ownVersion;
    private string _signature = "";
    private DateTimeOffset _changedAt = DateTimeOffset.MinValue;
    private DateTimeOffset? _unstableSince;
    private DateTimeOffset? _calmSince;
    private List<Observation> _troubles = [];
    private (string Targets, DateTimeOffset At)? _lastAction;

    public string SelfId => selfId;
    public DowningSettings Settings => settings;

    /// <summary>When the view last changed, and since when it has had unreachable observations (null: calm, or just acted).</summary>
    public DateTimeOffset ChangedAt => _changedAt;
    public DateTimeOffset? UnstableSince => _unstableSince;

    /// <summary>The current members (all of them: removed ones are simply absent); reports of non-members are dropped.</summary>
    public void SetMembers(IEnumerable<DowningMember> members, DateTimeOffset now)
    {
        _members = members.GroupBy(m => m.Id).ToDictionary(g => g.Key, g => g.First());
        foreach (var gone in _reports.Keys.Where(k => !_members.ContainsKey(k) && k != selfId).ToList()) _reports.Remove(gone);
        foreach (var gone in _heard.Keys.Where(k => !_members.ContainsKey(k)).ToList()) _heard.Remove(gone);
        var ownChanged = false;
        foreach (var gone in _ownUnreachable.Keys.Where(k => !_members.ContainsKey(k)).ToList())
        {
            _ownUnreachable.Remove(gone);
            _ownLost.Remove(gone);
            _ownStrikes.Remove(gone);
            ownChanged = true;
        }
        if (ownChanged) PublishOwn();
        Changed(now);
    }

    /// <summary>This node's failure detector on each other member, now: true is available.</summary>
    public void ObserveSelf(IReadOnlyDictionary<string, bool> available, DateTimeOffset now)
    {
        var changed = false;
        foreach (var (subject, up) in available)
        {
            if (subject == selfId || !_members.ContainsKey(subject)) continue;
            var was = _ownUnreachable.GetValueOrDefault(subject);
            if (!_ownUnreachable.ContainsKey(subject) || was == up) changed = true;
            _ownUnreachable[subject] = !up;
            // A strike: the subject is lost, to the failure detector or by its gossip falling silent (which a link
            // that drops shows at both ends, before any failure detector trips, and often when only one does).
            var lost = !up || (_heard.TryGetValue(subject, out var heard) && now - heard > settings.SilentAfter);
            if (lost && !_ownLost.GetValueOrDefault(subject)) (_ownStrikes.TryGetValue(subject, out var l) ? l : _ownStrikes[subject] = []).Add(now);
            if (lost && !_ownLost.GetValueOrDefault(subject)) changed = true;
            _ownLost[subject] = lost;
        }
        foreach (var strikes in _ownStrikes.Values)
            if (strikes.RemoveAll(t => now - t > settings.StrikeWindow) > 0) changed = true;
        if (changed) PublishOwn();
        Changed(now);
    }

    private void PublishOwn() =>
        _reports[selfId] = new ObserverReport(selfId, ++_ownVersion, _ownUnreachable.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new SubjectReport(kv.Key, kv.Value, _ownStrikes.TryGetValue(kv.Key, out var s) ? s.Count : 0)).ToList());

    /// <summary>The reports to gossip: this node's and the latest it has of every other member.</summary>
    public IReadOnlyList<ObserverReport> Reports => _reports.Values.ToList();

    /// <summary>A peer's gossip: newer reports replace older ones (a node's own report is only its own).</summary>
    public void Merge(string from, IEnumerable<ObserverReport> reports, DateTimeOffset now)
    {
        if (!_members.ContainsKey(from) || from == selfId) return;
        _heard[from] = now;
        foreach (var r in reports)
        {
            if (r.Observer == selfId || !_members.ContainsKey(r.Observer)) continue;
            if (_reports.TryGetValue(r.Observer, out var known) && known.Version >= r.Version) continue;
            _reports[r.Observer] = r;
        }
        Changed(now);
    }

    /// <summary>Every observation this node knows of, between current members.</summary>
    public IReadOnlyList<Observation> View =>
        _reports.Values.SelectMany(r => r.Subjects.Select(s => new Observation(r.Observer, s.Subject, s.Unreachable, s.Strikes)))
            .Where(o => _members.ContainsKey(o.Observer) && _members.ContainsKey(o.Subject)).ToList();

    public DowningDecision Decide() => DowningRule.Decide(_members.Values, View);

    // Stability is about what the rule decides on: the unreachable observations and the members' statuses (strike
    // counts only order the candidates, and expire on their own).
    private void Changed(DateTimeOffset now)
    {
        var view = View;
        var signature = string.Join(";", _members.Values.OrderBy(m => m.Id, StringComparer.Ordinal).Select(m => $"{m.Id}={m.Status}")) + "|" +
            string.Join(";", view.Where(o => o.Unreachable && Live(o.Observer) && Live(o.Subject)).Select(o => $"{o.Observer}>{o.Subject}").Order(StringComparer.Ordinal));
        if (signature != _signature)
        {
            _signature = signature;
            _changedAt = now;
        }
        var troubles = view.Where(o => o.Unreachable && Live(o.Observer) && Live(o.Subject)).ToList();
        var troubled = troubles.Count > 0;
        if (troubled)
        {
            _unstableSince ??= now;
            _calmSince = null;
        }
        else if (_unstableSince is not null && _troubles.All(o => !Live(o.Observer) || !Live(o.Subject)))
        {
            // The last trouble ended with its nodes downed or removed, not healed: that episode is over (a node that
            // joins next, or the next fault, starts a new one).
            _unstableSince = _calmSince = null;
        }
        else if (_unstableSince is not null)
        {
            // A flapping link looks healed for a moment between drops; only a calm stable-after ends the episode.
            _calmSince ??= now;
            if (now - _calmSince >= settings.StableAfter) _unstableSince = _calmSince = null;
        }
        if (troubled) _troubles = troubles;
    }

    private bool Live(string id) => _members.TryGetValue(id, out var m) && m.Status is not (NodeStatus.Down or NodeStatus.Exiting or NodeStatus.Removed);

    /// <summary>
    /// The action to take now, or null: none when nothing is unreachable, the view has not been stable for
    /// stable-after (unless unstable beyond the bound), this node is not Up or Leaving, the decision gives this node
    /// nothing to do, or it would down others while a member it counts as reachable has not gossiped within
    /// fresh-within.
    /// </summary>
    public DowningAction? Tick(DateTimeOffset now)
    {
        Changed(now);
        if (!_members.TryGetValue(selfId, out var self) || self.Status is not (NodeStatus.Up or NodeStatus.Leaving)) return null;
        var decision = Decide();
        if (decision.Kind == DecisionKind.None) return null;
        var stable = now - _changedAt >= settings.StableAfter;
        var forced = !stable && _unstableSince is { } since && settings.DecideWhenUnstableAfter is { } bound && now - since >= settings.StableAfter + bound;
        if (!stable && !forced) return null;
        // Unsettled, only nodes that keep turning unreachable go: one just seen unreachable once (a node joining
        // while its peers' connections to its address are still gated, say) waits for a stable view.
        if (forced && decision.Down.Any(id => View.Where(o => o.Subject == id && Live(o.Observer)).Sum(o => o.Strikes) < 2)) return null;
        var downsSelf = decision.Down.Contains(selfId);
        // Downing only itself never makes two clusters; downing others needs the own side's confirmation.
        if (!downsSelf && decision.Reachable.Any(id => id != selfId && (!_heard.TryGetValue(id, out var t) || now - t > settings.FreshWithin))) return null;
        IReadOnlyList<string> toDown = downsSelf ? [selfId] : decision.Responsible == selfId ? decision.Down : [];
        if (toDown.Count == 0) return null;
        // Acting changes the membership soon (Down is gossiped); until then the same downing is not repeated every tick.
        var targets = string.Join(",", toDown);
        if (_lastAction is { } last && last.Targets == targets && now - last.At < settings.StableAfter) return null;
        _lastAction = (targets, now);
        // Acting ends the episode (as Akka's resolver resets its instability measure): the next one is timed afresh.
        _unstableSince = _calmSince = null;
        return new DowningAction(decision, toDown, downsSelf, forced, View);
    }
}
