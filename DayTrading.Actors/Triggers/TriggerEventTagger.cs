using Akka.Persistence.Journal;
using DayTrading.Accounts;
using DayTrading.Expiry;

namespace DayTrading.Triggers;

/// <summary>
/// Tags the account events that projections tail as they are written, so each reads just its rows instead of
/// reading and decoding every event (a twentieth of the node's CPU under load): <see cref="Tag"/> on events that
/// change triggers (the trigger index), <see cref="PendingIndex.Tag"/> on those that add or remove pending buys and
/// sells (the expiry watcher). No event does both, and a row's tags are matched exactly, so each row carries one
/// tag. The stored event is unchanged; only the row's tags column is set.
/// </summary>
public sealed class TriggerEventTagger : IWriteEventAdapter
{
    public const string Tag = "trigger";
    private static readonly System.Collections.Immutable.IImmutableSet<string> Tags = System.Collections.Immutable.ImmutableHashSet.Create(Tag);
    private static readonly System.Collections.Immutable.IImmutableSet<string> PendingTags = System.Collections.Immutable.ImmutableHashSet.Create(PendingIndex.Tag);

    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt) => evt switch
    {
        AccountEvent e when TriggerIndex.TouchesTriggers(e) => new Tagged(evt, Tags),
        AccountEvent e when PendingIndex.TouchesPending(e) => new Tagged(evt, PendingTags),
        _ => evt,
    };
}
