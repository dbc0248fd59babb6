using Akka.Actor;
using Akka.Persistence;

namespace DayTrading.Accounts;

/// <summary>What <see cref="RememberedOutcomeReader"/> found: the event at the remembered position, or why not.</summary>
internal sealed record RememberedOutcomeRead(TradeRequest Request, IActorRef ReplyTo, long CorrelationId, object? Event, string? Error)
    : INoSerializationVerificationNeeded;

/// <summary>
/// Reads one event of an account's journal for the account, its parent, and stops. A child of its own because
/// the journal answers a replay with several messages (the event, then the end of the replay) that must not reach
/// the account's command handlers.
/// </summary>
internal sealed class RememberedOutcomeReader : ReceiveActor
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private object? _event;

    public RememberedOutcomeReader(IActorRef journal, string persistenceId, long sequenceNr, TradeRequest request, IActorRef replyTo, long correlationId)
    {
        void Done(string? error)
        {
            Context.Parent.Tell(new RememberedOutcomeRead(request, replyTo, correlationId, error is null ? _event : null, error));
            Context.Stop(Self);
        }

        Receive<ReplayedMessage>(m => _event ??= m.Persistent.Payload);
        Receive<RecoverySuccess>(_ => Done(null));
        Receive<ReplayMessagesFailure>(f => Done(f.Cause.Message));
        Receive<ReceiveTimeout>(_ => Done("the journal did not answer in time"));
        SetReceiveTimeout(Timeout);
        journal.Tell(new ReplayMessages(sequenceNr, sequenceNr, 1, persistenceId, Self));
    }

    public static Props Props(IActorRef journal, string persistenceId, long sequenceNr, TradeRequest request, IActorRef replyTo, long correlationId) =>
        Akka.Actor.Props.Create(() => new RememberedOutcomeReader(journal, persistenceId, sequenceNr, request, replyTo, correlationId));
}
