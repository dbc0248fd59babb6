using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace DayTrading.Tests.Persistence;

/// <summary>
/// The in-memory journal, except that it rejects every atomic write holding an event the current rule picks — what a
/// real journal does with an event it cannot serialize (the write is refused, nothing of it is stored, and the journal
/// goes on). Set the rule with <see cref="RejectWhere"/>; null accepts everything again. <see cref="FailWhere"/> instead
/// fails the whole write as a lost database connection does (the writer cannot tell whether anything was stored).
/// </summary>
public sealed class RejectingJournal : MemoryJournal
{
    public const string PluginId = "akka.persistence.journal.rejecting";

    /// <summary>HOCON for the plugin (add it to a test system's config).</summary>
    public static readonly string Hocon = $$"""
        {{PluginId}} {
          class = "{{typeof(RejectingJournal).AssemblyQualifiedName}}"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        """;

    /// <summary>Rejects the writes that hold an event <see cref="Rule"/> is true for; answered with <see cref="Ack"/>.</summary>
    public sealed record RejectWhere(Func<object, bool>? Rule) : INoSerializationVerificationNeeded;

    /// <summary>Fails the writes that hold an event <see cref="Rule"/> is true for; answered with <see cref="Ack"/>.</summary>
    public sealed record FailWhere(Func<object, bool>? Rule) : INoSerializationVerificationNeeded;

    public sealed class Ack : INoSerializationVerificationNeeded
    {
        public static readonly Ack Instance = new();
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private Func<object, bool>? _rule;
    private Func<object, bool>? _failRule;

    /// <summary>Sets the rule of the journal <paramref name="pluginId"/> of <paramref name="system"/> and waits until it holds.</summary>
    public static void Set(ActorSystem system, Func<object, bool>? rule, string pluginId = PluginId)
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(pluginId);
        journal.Ask<Ack>(new RejectWhere(rule), TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
    }

    /// <summary>Sets the failure rule of the journal <paramref name="pluginId"/> of <paramref name="system"/> and waits until it holds.</summary>
    public static void SetFailing(ActorSystem system, Func<object, bool>? rule, string pluginId = PluginId)
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(pluginId);
        journal.Ask<Ack>(new FailWhere(rule), TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
    }

    protected override bool ReceivePluginInternal(object message)
    {
        if (message is RejectWhere r)
        {
            _rule = r.Rule;
            Sender.Tell(Ack.Instance);
            return true;
        }
        if (message is FailWhere f)
        {
            _failRule = f.Rule;
            Sender.Tell(Ack.Instance);
            return true;
        }
        return base.ReceivePluginInternal(message);
    }

    protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        if (_failRule is { } fail && writes.Any(w => ((IImmutableList<IPersistentRepresentation>)w.Payload).Any(p => fail(p.Payload))))
        {
            _log.Info("failing a batch of {0} writes", writes.Count);
            throw new InvalidOperationException("test journal lost its database");
        }
        var results = new List<Exception?>();
        foreach (var write in writes)
        {
            var payloads = (IImmutableList<IPersistentRepresentation>)write.Payload;
            if (_rule is { } rule && payloads.Any(p => rule(p.Payload)))
            {
                _log.Info("rejecting the write of {0}", string.Join(", ", payloads.Select(p => p.Payload.GetType().Name)));
                results.Add(new InvalidOperationException("test journal refuses this event"));
                continue;
            }
            var stored = await base.WriteMessagesAsync([write], cancellationToken).ConfigureAwait(false);
            results.Add(stored is { Count: > 0 } ? stored[0] : null);
        }
        return results.ToImmutableList()!;
    }
}
