using System.Security.Cryptography;
using System.Text;

namespace DayTrading.Quotes;

/// <summary>
/// Deterministic prices and crypto keys for the quote simulator. Same seed and inputs give the same
/// outputs in every process (no <see cref="string.GetHashCode()"/>, no <see cref="Random"/>).
/// <para>
/// Model: each symbol has a base price in [5.00, 500.00) (whole cents) from a stable 64-bit hash of
/// (seed, symbol). A quote at time <c>t</c> (Unix ms) falls in the 60-second window
/// <c>floor(t / 60000)</c>; the window gets a wobble of −10 %…+10 % in whole basis points from a stable
/// hash of (seed, symbol, window). Price = base × (1 + wobble), rounded half away from zero to cents,
/// never below 0.01. Prices always carry exactly two decimals (scale 2).
/// </para>
/// <para>
/// Crypto key: base64 of SHA-256 over "seed|symbol|userId|timestampMs" (UTF-8): always 44 characters
/// (A–Z a–z 0–9 + / and one trailing '='), never containing ',' or a newline.
/// </para>
/// </summary>
public sealed class QuotePriceModel(int seed)
{
    public const long WindowMs = 60_000;
    public const int MinBaseCents = 500;       // 5.00
    public const int MaxBaseCentsExclusive = 50_000; // 500.00
    public const int MaxWobbleBasisPoints = 1_000;   // ±10 %
    public const int CryptoKeyLength = 44;

    public int Seed { get; } = seed;

    /// <summary>Base price of <paramref name="symbol"/> for this seed, in [5.00, 500.00).</summary>
    public decimal BasePrice(string symbol) => Cents(BaseCents(Seed, symbol));

    /// <summary>Price of <paramref name="symbol"/> at <paramref name="timestampMs"/> (Unix ms).</summary>
    public decimal PriceAt(string symbol, long timestampMs) => Price(Seed, symbol, timestampMs);

    /// <summary>Deterministic 44-character crypto key for one answer.</summary>
    public string CryptoKeyFor(string symbol, string userId, long timestampMs) => CryptoKey(Seed, symbol, userId, timestampMs);

    /// <summary>The full quote the simulator answers for this query at this time.</summary>
    public Quote QuoteAt(string symbol, string userId, long timestampMs) =>
        new(symbol, PriceAt(symbol, timestampMs), userId, timestampMs, CryptoKeyFor(symbol, userId, timestampMs));

    public static decimal Price(int seed, string symbol, long timestampMs)
    {
        ArgumentNullException.ThrowIfNull(symbol);
        long baseCents = BaseCents(seed, symbol);
        long window = Math.DivRem(timestampMs, WindowMs, out long rem);
        if (rem < 0) window--; // floor for times before 1970
        int spread = 2 * MaxWobbleBasisPoints + 1;
        long basisPoints = (long)(Hash(seed, symbol, window, 1) % (ulong)spread) - MaxWobbleBasisPoints;
        // cents = round(base * (10000 + bp) / 10000), half away from zero, in integers.
        long scaled = baseCents * (10_000 + basisPoints);
        long cents = (scaled + 5_000) / 10_000;
        return Cents(Math.Max(1, cents));
    }

    public static string CryptoKey(int seed, string symbol, string userId, long timestampMs)
    {
        ArgumentNullException.ThrowIfNull(symbol);
        ArgumentNullException.ThrowIfNull(userId);
        // "seed|symbol|userId|timestampMs" — stack buffer for the usual short inputs.
        int maxBytes = 11 + 1 + Encoding.UTF8.GetMaxByteCount(symbol.Length) + 1
                       + Encoding.UTF8.GetMaxByteCount(userId.Length) + 1 + 20;
        Span<byte> buf = maxBytes <= 512 ? stackalloc byte[512] : new byte[maxBytes];
        int n = 0;
        seed.TryFormat(buf[n..], out int w, provider: System.Globalization.CultureInfo.InvariantCulture); n += w;
        buf[n++] = (byte)'|';
        n += Encoding.UTF8.GetBytes(symbol, buf[n..]);
        buf[n++] = (byte)'|';
        n += Encoding.UTF8.GetBytes(userId, buf[n..]);
        buf[n++] = (byte)'|';
        timestampMs.TryFormat(buf[n..], out w, provider: System.Globalization.CultureInfo.InvariantCulture); n += w;
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(buf[..n], digest);
        return Convert.ToBase64String(digest);
    }

    internal static long BaseCents(int seed, string symbol)
    {
        ArgumentNullException.ThrowIfNull(symbol);
        ulong h = Hash(seed, symbol, 0, 0);
        return MinBaseCents + (long)(h % (ulong)(MaxBaseCentsExclusive - MinBaseCents));
    }

    private static decimal Cents(long cents) => new((int)cents, 0, 0, false, 2);

    /// <summary>FNV-1a 64 over (tag, seed, symbol UTF-16 units, extra), then the SplitMix64 finaliser.</summary>
    private static ulong Hash(int seed, string symbol, long extra, byte tag)
    {
        const ulong offset = 14695981039346656037UL;
        const ulong prime = 1099511628211UL;
        ulong h = offset;
        h = (h ^ tag) * prime;
        for (int i = 0; i < 4; i++) h = (h ^ (byte)(seed >> (8 * i))) * prime;
        foreach (char c in symbol)
        {
            h = (h ^ (byte)c) * prime;
            h = (h ^ (byte)(c >> 8)) * prime;
        }
        h = (h ^ 0xFF) * prime; // separator
        for (int i = 0; i < 8; i++) h = (h ^ (byte)(extra >> (8 * i))) * prime;
        // SplitMix64 finaliser for good low-bit mixing.
        h ^= h >> 30; h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 27; h *= 0x94D049BB133111EBUL;
        h ^= h >> 31;
        return h;
    }
}
