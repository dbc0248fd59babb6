using DayTrading.Quotes;
using Xunit;

namespace DayTrading.Tests.Quotes;

public class QuotePriceModelTests
{
    private const long T0 = 1_700_000_000_000; // a window boundary: 1_700_000_000_000 % 60_000 == 20_000

    [Fact]
    public void Same_seed_gives_same_prices_and_keys()
    {
        var a = new QuotePriceModel(42);
        var b = new QuotePriceModel(42);
        foreach (var sym in new[] { "ABC", "XYZ", "S", "GOOG", "MSFT" })
        {
            for (long t = T0; t < T0 + 10 * 60_000; t += 7_919)
            {
                Assert.Equal(a.PriceAt(sym, t), b.PriceAt(sym, t));
                Assert.Equal(a.CryptoKeyFor(sym, "user1", t), b.CryptoKeyFor(sym, "user1", t));
            }
        }
    }

    [Fact]
    public void Values_are_pinned_across_processes()
    {
        // Golden values, cross-checked with an independent re-implementation (Python: FNV-1a/SplitMix64, hashlib.sha256).
        // If these change, prices differ between builds/processes (or the model changed on purpose).
        var m = new QuotePriceModel(42);
        Assert.Equal(PinnedBase, m.BasePrice("ABC"));
        Assert.Equal(PinnedPrice, m.PriceAt("ABC", T0));
        Assert.Equal(PinnedKey, m.CryptoKeyFor("ABC", "user1", T0));
    }

    private const decimal PinnedBase = 329.19m;
    private const decimal PinnedPrice = 317.57m;
    private const string PinnedKey = "6I1gNM8kzo9YVmUj37JQKZarWtMtHzknnjmeAH7/UVU=";

    [Fact]
    public void Another_seed_gives_other_prices_and_keys()
    {
        var a = new QuotePriceModel(42);
        var b = new QuotePriceModel(43);
        int samePrice = 0, sameKey = 0;
        for (int i = 0; i < 200; i++)
        {
            var sym = "S" + i;
            if (a.PriceAt(sym, T0) == b.PriceAt(sym, T0)) samePrice++;
            if (a.CryptoKeyFor(sym, "u", T0) == b.CryptoKeyFor(sym, "u", T0)) sameKey++;
        }
        Assert.True(samePrice <= 2, $"{samePrice} of 200 prices equal across seeds");
        Assert.Equal(0, sameKey);
    }

    [Fact]
    public void Prices_are_positive_cents_within_the_wobble_of_the_base()
    {
        var m = new QuotePriceModel(7);
        for (int i = 0; i < 1_000; i++)
        {
            var sym = "SYM" + i;
            decimal basePrice = m.BasePrice(sym);
            Assert.InRange(basePrice, 5.00m, 499.99m);
            for (long t = -3 * 60_000; t < 30 * 60_000; t += 60_000)
            {
                decimal p = m.PriceAt(sym, T0 + t);
                Assert.True(p >= 0.01m, $"{sym}: {p}");
                Assert.Equal(2, p.Scale);
                Assert.Equal(decimal.Round(p, 2), p);
                Assert.InRange(p, basePrice * 0.9m - 0.01m, basePrice * 1.1m + 0.01m);
            }
        }
    }

    [Fact]
    public void Price_is_constant_within_a_60_second_window_and_moves_between_windows()
    {
        var m = new QuotePriceModel(42);
        long start = T0 - T0 % 60_000;
        Assert.Equal(m.PriceAt("ABC", start), m.PriceAt("ABC", start + 59_999));
        int moved = 0;
        for (int w = 0; w < 20; w++)
            if (m.PriceAt("ABC", start + w * 60_000) != m.PriceAt("ABC", start + (w + 1) * 60_000)) moved++;
        Assert.True(moved >= 15, $"price moved in only {moved} of 20 windows");
    }

    [Fact]
    public void Negative_times_use_floor_windows()
    {
        var m = new QuotePriceModel(42);
        Assert.Equal(m.PriceAt("ABC", -1), m.PriceAt("ABC", -60_000));
    }

    [Fact]
    public void Crypto_key_is_44_chars_without_separators_and_depends_on_every_input()
    {
        var m = new QuotePriceModel(42);
        var k = m.CryptoKeyFor("ABC", "user1", T0);
        Assert.Equal(QuotePriceModel.CryptoKeyLength, k.Length);
        Assert.DoesNotContain(',', k);
        Assert.DoesNotContain('\n', k);
        Assert.NotEqual(k, m.CryptoKeyFor("ABD", "user1", T0));
        Assert.NotEqual(k, m.CryptoKeyFor("ABC", "user2", T0));
        Assert.NotEqual(k, m.CryptoKeyFor("ABC", "user1", T0 + 1));
    }

    [Fact]
    public void QuoteAt_combines_price_and_key()
    {
        var m = new QuotePriceModel(42);
        var q = m.QuoteAt("ABC", "user1", T0);
        Assert.Equal(new Quote("ABC", m.PriceAt("ABC", T0), "user1", T0, m.CryptoKeyFor("ABC", "user1", T0)), q);
    }
}
