using DayTrading.Quotes;
using Xunit;

namespace DayTrading.Tests.Quotes;

public class LatencyProfileTests
{
    [Theory]
    [InlineData("none", "none")]
    [InlineData("NONE", "none")]
    [InlineData(" lab ", "lab")]
    [InlineData("fixed:0", "fixed:0")]
    [InlineData("fixed:250", "fixed:250")]
    [InlineData("Fixed:3600000", "fixed:3600000")]
    public void Parses_the_known_forms(string text, string name) => Assert.Equal(name, LatencyProfile.Parse(text).Name);

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("slow")]
    [InlineData("fixed")]
    [InlineData("fixed:")]
    [InlineData("fixed:-5")]
    [InlineData("fixed:1.5")]
    [InlineData("fixed:abc")]
    [InlineData("fixed:3600001")]
    [InlineData("lab2")]
    public void Rejects_anything_else_with_a_clear_error(string text)
    {
        var e = Assert.Throws<FormatException>(() => LatencyProfile.Parse(text));
        Assert.Contains("fixed", e.Message);
        Assert.False(LatencyProfile.TryParse(text, out _, out var error));
        Assert.Equal(e.Message, error);
    }

    [Fact]
    public void Null_is_rejected() => Assert.Throws<FormatException>(() => LatencyProfile.Parse(null));

    [Fact]
    public void None_and_fixed_are_constant()
    {
        var r = new Random(1);
        Assert.Equal(TimeSpan.Zero, LatencyProfile.None.NextDelay(r));
        Assert.Equal(TimeSpan.FromMilliseconds(250), LatencyProfile.Parse("fixed:250").NextDelay(r));
    }

    [Fact]
    public void Lab_distribution_is_68_percent_fast_and_the_rest_near_whole_seconds()
    {
        const int n = 100_000;
        var r = new Random(1234);
        int fast = 0;
        double fastSumMs = 0;
        var slow = new int[5];
        for (int i = 0; i < n; i++)
        {
            var d = LatencyProfile.Lab.NextDelay(r);
            double ms = d.TotalMilliseconds;
            if (ms < 100)
            {
                Assert.InRange(ms, 1.0, 2.0);
                fast++;
                fastSumMs += ms;
            }
            else
            {
                int s = (int)Math.Round(ms / 1000);
                Assert.InRange(s, 1, 4);
                Assert.InRange(ms - s * 1000, 0, 3.0); // "almost exactly"
                slow[s]++;
            }
        }
        Assert.InRange(fast / (double)n, 0.67, 0.69);
        Assert.InRange(fastSumMs / fast, 1.45, 1.55);
        for (int s = 1; s <= 4; s++)
            Assert.InRange(slow[s] / (double)n, 0.07, 0.09);
    }

    [Fact]
    public void Lab_sampling_is_deterministic_for_a_seed()
    {
        var a = new Random(99);
        var b = new Random(99);
        for (int i = 0; i < 1_000; i++)
            Assert.Equal(LatencyProfile.Lab.NextDelay(a), LatencyProfile.Lab.NextDelay(b));
    }
}
