using DayTrading.Audit;
using Xunit;

namespace DayTrading.Tests.Audit;

public sealed class RecentMapTests
{
    [Fact]
    public void The_oldest_key_is_forgotten_first_and_a_key_set_again_counts_from_then()
    {
        var m = new RecentMap<string, int>(3);
        m.Set("a", 1);
        m.Set("b", 2);
        m.Set("c", 3);
        m.Set("a", 10); // "a" is now the newest
        m.Set("d", 4);  // forgets "b", the oldest
        Assert.False(m.TryGetValue("b", out _));
        Assert.True(m.TryGetValue("a", out var a));
        Assert.Equal(10, a);
        Assert.Equal(["c", "a", "d"], m.Entries().Select(e => e.Key));
        Assert.Equal(3, m.Count);
    }

    [Fact]
    public void TryAdd_keeps_the_first_value_and_the_bound_holds_over_many_keys()
    {
        var m = new RecentMap<int, string>(100);
        Assert.True(m.TryAdd(1, "first"));
        Assert.False(m.TryAdd(1, "second"));
        Assert.True(m.TryGetValue(1, out var v));
        Assert.Equal("first", v);
        for (var i = 0; i < 10_000; i++) m.Set(i % 150, "x" + i);
        Assert.Equal(100, m.Count);
        Assert.Equal(100, m.Entries().Count());
        Assert.Equal(Enumerable.Range(0, 150).Select(i => i).Where(k => m.TryGetValue(k, out _)).Order(), m.Entries().Select(e => e.Key).Order());
        m.Clear();
        Assert.Equal(0, m.Count);
        Assert.Empty(m.Entries());
        Assert.Throws<ArgumentOutOfRangeException>(() => new RecentMap<int, int>(0));
    }
}
