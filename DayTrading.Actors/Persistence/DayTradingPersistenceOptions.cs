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

    private static readonly string PluginKeys = $"""
        class = "{typeof(DayTradingJournal).AssemblyQualifiedName}"
        plugin-dispatcher = "{DayTradingPersistence.DispatcherId}"
        """;

    protected override Config InternalDefaultConfig { get; } = ConfigurationFactory.ParseString(PluginKeys);

    protected override StringBuilder Build(StringBuilder sb)
    {
        AutoInitialize = Store.AutoInitialize;
        Store.AppendHocon(sb);
        sb.AppendLine(PluginKeys);
        base.Build(sb);
        return DayTradingPersistence.AppendDispatcher(sb);
    }
}

/// <summary>The snapshot store beside <see cref="DayTradingJournalOptions"/>, on the same database.</summary>
public sealed class DayTradingSnapshotOptions(DayTradingDbSettings store, bool isDefault = true) : SnapshotOptions(isDefault)
{
    public DayTradingDbSettings Store { get; } = store;

    public override string Identifier { get; set; } = "daytrading";

    private static readonly string PluginKeys = $"""
        class = "{typeof(DayTradingSnapshotStore).AssemblyQualifiedName}"
        plugin-dispatcher = "{DayTradingPersistence.DispatcherId}"
        """;

    protected override Config InternalDefaultConfig { get; } = ConfigurationFactory.ParseString(PluginKeys);

    protected override StringBuilder Build(StringBuilder sb)
    {
        AutoInitialize = Store.AutoInitialize;
        Store.AppendHocon(sb);
        sb.AppendLine(PluginKeys);
        return base.Build(sb);
    }
}
