using System.Text;

namespace DayTrading.Loadgen.Generation;

public sealed record GeneratorOptions(int Users, long Commands, int Seed, string DumpFile = "./testLOG", int Symbols = CourseMix.SymbolCount);

/// <summary>
/// Writes synthetic workloads in the course format (<c>[N] CMD,args</c>), one line per command, ending with
/// <c>[M] DUMPLOG,./testLOG</c>. <see cref="GeneratorOptions.Commands"/> counts every line including that final one
/// (the course's 10-user file: 10,000 lines). Each line picks a user at random (uniformly); a user's first command
/// is ADD, the following ones follow <see cref="CourseMix.Transitions"/>. Deterministic for a seed (own PRNG, not
/// System.Random, so the output cannot change with the runtime) and streaming: nothing is kept per line.
/// </summary>
public static class WorkloadGenerator
{
    private const string Alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public static void WriteFile(string path, GeneratorOptions options)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 20);
        Write(writer, options);
    }

    public static string Generate(GeneratorOptions options)
    {
        using var sw = new StringWriter();
        Write(sw, options);
        return sw.ToString();
    }

    public static void Write(TextWriter writer, GeneratorOptions options)
    {
        if (options.Users < 1) throw new ArgumentOutOfRangeException(nameof(options), "at least one user");
        if (options.Commands < 2) throw new ArgumentOutOfRangeException(nameof(options), "at least 2 commands (one plus the DUMPLOG)");
        var rng = new SplitMix64((ulong)options.Seed);

        var users = new string[options.Users];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Span<char> id = stackalloc char[10];
        for (var u = 0; u < users.Length; u++)
        {
            do
            {
                for (var k = 0; k < id.Length; k++) id[k] = Alnum[rng.Next(Alnum.Length)];
            } while (!seen.Add(users[u] = new string(id)));
        }
        // Three letters A-Z give 17,576 distinct symbols.
        if (options.Symbols is < 1 or > 17_576) throw new ArgumentOutOfRangeException(nameof(options), "symbols must be 1 to 17576");
        var symbols = new string[options.Symbols];
        var symSeen = new HashSet<string>(StringComparer.Ordinal);
        for (var s = 0; s < symbols.Length; s++)
        {
            do
            {
                symbols[s] = string.Create(3, rng, static (span, r) =>
                {
                    for (var k = 0; k < span.Length; k++) span[k] = (char)('A' + r.Next(26));
                });
            } while (!symSeen.Add(symbols[s]));
        }

        // Cumulative rows for sampling.
        var n = CourseMix.Commands.Length;
        var cumulative = new int[n][];
        for (var i = 0; i < n; i++)
        {
            cumulative[i] = new int[n];
            var acc = 0;
            for (var j = 0; j < n; j++) cumulative[i][j] = acc += CourseMix.Transitions[i][j];
        }

        var last = new int[users.Length];
        Array.Fill(last, -1);
        var lastSymbol = new int[users.Length];
        var buf = new StringBuilder(96);
        var userLines = options.Commands - 1;
        for (long tx = 1; tx <= userLines; tx++)
        {
            var u = rng.Next(users.Length);
            int cmd;
            if (last[u] < 0)
            {
                cmd = CourseMix.Add;
            }
            else
            {
                var row = cumulative[last[u]];
                var pick = rng.Next(row[^1]);
                cmd = 0;
                while (row[cmd] <= pick) cmd++;
            }

            buf.Clear();
            buf.Append('[').Append(tx).Append("] ").Append(CourseMix.Commands[cmd]).Append(',').Append(users[u]);
            if (cmd == CourseMix.Add)
            {
                var cents = (long)Math.Round(Math.Clamp(70_000 + 15_000 * rng.NextGaussian(), 1_000, 150_000) * 100);
                if (rng.NextDouble() < CourseMix.NegativeAddShare) cents = -cents;
                buf.Append(',');
                AppendMoney(buf, cents);
            }
            else if (CourseMix.HasSymbol(cmd))
            {
                var prev = last[u];
                var reuse = (prev == CourseMix.SetSellAmount && cmd is CourseMix.SetSellTrigger or CourseMix.CancelSetSell)
                            || (prev == CourseMix.SetBuyAmount && cmd == CourseMix.CancelSetBuy && rng.Next(2) == 0);
                var sym = reuse ? lastSymbol[u] : rng.Next(symbols.Length);
                lastSymbol[u] = sym;
                buf.Append(',').Append(symbols[sym]);
                if (CourseMix.HasAmount(cmd))
                {
                    long cents;
                    if (cmd is CourseMix.SetBuyTrigger or CourseMix.SetSellTrigger)
                        cents = rng.NextDouble() < 0.8 ? 1 + rng.NextLong(20_000) : 20_000 + rng.NextLong(52_000);
                    else
                        cents = 1 + rng.NextLong(75_000);
                    buf.Append(',');
                    AppendMoney(buf, cents);
                }
            }
            last[u] = cmd;
            buf.Append('\n');
            writer.Write(buf);
        }
        writer.Write($"[{options.Commands}] DUMPLOG,{options.DumpFile}\n");
    }

    private static void AppendMoney(StringBuilder sb, long cents)
    {
        if (cents < 0)
        {
            sb.Append('-');
            cents = -cents;
        }
        sb.Append(cents / 100).Append('.');
        var c = cents % 100;
        sb.Append((char)('0' + c / 10)).Append((char)('0' + c % 10));
    }

    /// <summary>SplitMix64: tiny, fast, and fixed forever (unlike System.Random's unspecified seeded algorithm).</summary>
    private sealed class SplitMix64(ulong seed)
    {
        private ulong _state = seed;
        private double? _spare;

        private ulong NextULong()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public int Next(int bound) => (int)NextLong(bound);

        public long NextLong(long bound) => (long)((UInt128)NextULong() * (ulong)bound >> 64);

        public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

        public double NextGaussian()
        {
            if (_spare is { } s)
            {
                _spare = null;
                return s;
            }
            double u, v, q;
            do
            {
                u = 2 * NextDouble() - 1;
                v = 2 * NextDouble() - 1;
                q = u * u + v * v;
            } while (q is >= 1 or 0);
            var f = Math.Sqrt(-2 * Math.Log(q) / q);
            _spare = v * f;
            return u * f;
        }
    }
}
