using System.Text;
using Akka.Configuration;
using Akka.Persistence.Hosting;

namespace DayTrading.Persistence;

/// <summary>
/// The group-commit journal as Akka.Hosting options (<c>WithJournalAndSnapshot</c>): the plugin section is written
/// from <paramref name="store"/>, so its settings are stated once (<see cref="DayTradingDbSettings"/>).
/// </summary>
public sealed class DayTradingJournalOptions(DayTradingDbSettings store, bool isDefault = true) : JournalOptions(isDefault)
{
    public DayTradingDbSettings Store { get; } = store;

    public override string Identifier { get; set; } = "daytrading";

    protected override Config InternalDefaultConfig { get; } = PluginSection.Defaults(typeof(DayTradingJournal));

    protected override StringBuilder Build(StringBuilder sb)
    {
        AutoInitialize = Store.AutoInitialize;
        base.Build(PluginSection.Append(sb, Store, typeof(DayTradingJournal)));
        return DayTradingPersistence.AppendDispatcher(sb);
    }
}

/// <summary>The snapshot store beside <see cref="DayTradingJournalOptions"/>, on the same database.</summary>
public sealed class DayTradingSnapshotOptions(DayTradingDbSettings store, bool isDefault = true) : SnapshotOptions(isDefault)
{
    public DayTradingDbSettings Store { get; } = store;

    public override string Identifier { get; set; } = "daytrading";

    protected override Config InternalDefaultConfig { get; } = PluginSection.Defaults(typeof(DayTradingSnapshotStore));

    // Akka's snapshot store wraps every call in a circuit breaker whose default stays open for 30 s after its 10th
    // failure: after a database outage every account recovering in those 30 s would still fail ("Circuit Breaker is
    // open") although the database is back and the node says it is ready. The store's own calls are bounded (Redis
    // fails at once while down, every timeout is at most 5 s), so one trial call a second is enough to close it again.
    private const string Breaker = "circuit-breaker { max-failures = 10, call-timeout = 10s, reset-timeout = 1s }";

    protected override StringBuilder Build(StringBuilder sb)
    {
        AutoInitialize = Store.AutoInitialize;
        return base.Build(PluginSection.Append(sb, Store, typeof(DayTradingSnapshotStore)).AppendLine(Breaker));
    }
}

/// <summary>What both plugins' sections hold: the plugin class, its dispatcher and the database settings.</summary>
internal static class PluginSection
{
    private static string Keys(Type plugin) => $"""
        class = "{plugin.AssemblyQualifiedName}"
        plugin-dispatcher = "{DayTradingPersistence.DispatcherId}"
        """;

    public static Config Defaults(Type plugin) => ConfigurationFactory.ParseString(Keys(plugin));

    public static StringBuilder Append(StringBuilder sb, DayTradingDbSettings store, Type plugin)
    {
        store.AppendHocon(sb);
        return sb.AppendLine(Keys(plugin));
    }
}
