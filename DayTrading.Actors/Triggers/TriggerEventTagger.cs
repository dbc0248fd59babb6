using Akka.Persistence.Journal;
using DayTrading.Accounts;

namespace DayTrading.Triggers;

/// <summary>
/// Tags the account events that change triggers (<see cref="Tag"/>) as they are written, so the trigger index
/// tails just those rows of the journal instead of reading and decoding every event (a twentieth of the node's
/// CPU under load). The stored event is unchanged; only the row's tags column is set.
/// </summary>
public sealed class TriggerEventTagger : IWriteEventAdapter
{
    public const string Tag = "trigger";
    private static readonly System.Collections.Immutable.IImmutableSet<string> Tags = System.Collections.Immutable.ImmutableHashSet.Create(Tag);

    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt) => evt is AccountEvent e && TriggerIndex.TouchesTriggers(e) ? new Tagged(evt, Tags) : evt;
}
