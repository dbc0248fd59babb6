using Xunit;

namespace DayTrading.Tests.Support;

/// <summary>Tests that assert on the test process's managed heap run one at a time, with nothing else beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapMeasurementCollection
{
    public const string Name = "heap measurements";
}
