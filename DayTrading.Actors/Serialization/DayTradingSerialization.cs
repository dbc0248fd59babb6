using Akka.Hosting;

namespace DayTrading.Serialization;

/// <summary>Binds every persisted event and remote message of the project to <see cref="DayTradingSerializer"/>.</summary>
public static class DayTradingSerialization
{
    public static string Hocon => $$"""
        akka.actor {
          serializers.daytrading = "{{typeof(DayTradingSerializer).AssemblyQualifiedName}}"
          serialization-bindings {
            {{string.Join("\n    ", DayTradingSerializer.BoundTypes.Select(t => $"\"{t.FullName}, {t.Assembly.GetName().Name}\" = daytrading"))}}
          }
          serialization-identifiers { "{{typeof(DayTradingSerializer).FullName}}, {{typeof(DayTradingSerializer).Assembly.GetName().Name}}" = {{DayTradingSerializer.Id}} }
        }
        """;

    public static AkkaConfigurationBuilder AddDayTradingSerialization(this AkkaConfigurationBuilder builder) =>
        builder.WithCustomSerializer("daytrading", DayTradingSerializer.BoundTypes, system => new DayTradingSerializer(system));
}
