using System.Collections.Immutable;
using Akka.Persistence.Journal;

namespace DayTrading.Accounts;

/// <summary>
/// Writes each account event's <see cref="AccountEventTags"/> tag into its row's tags column as it is journaled (the
/// stored event is unchanged). Bound on every node, whichever runs the projections: they may run on another one.
/// </summary>
public sealed class AccountEventTagger : IWriteEventAdapter
{
    private static readonly IImmutableSet<string> TriggerTags = ImmutableHashSet.Create(AccountEventTags.Trigger);
    private static readonly IImmutableSet<string> PendingTags = ImmutableHashSet.Create(AccountEventTags.Pending);

    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt) => evt switch
    {
        AccountEvent e when AccountEventTags.TouchesTriggers(e) => new Tagged(evt, TriggerTags),
        AccountEvent e when AccountEventTags.TouchesPending(e) => new Tagged(evt, PendingTags),
        _ => evt,
    };
}
