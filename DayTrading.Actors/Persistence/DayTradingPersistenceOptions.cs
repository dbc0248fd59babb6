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

    protected override StringBuilder Build(StringBuilder sb)
    {
        AutoInitialize = Store.AutoInitialize;
        return base.Build(PluginSection.Append(sb, Store, typeof(DayTradingSnapshotStore)));
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
