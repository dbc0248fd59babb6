using System.Runtime.CompilerServices;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using DayTrading.Accounts;
using DayTrading.Host;
using DayTrading.Quotes;
using DayTrading.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DayTrading.Tests.Edge;

/// <summary>
/// A bounded fuzz of the TCP edge (issue 13): more than 50,000 generated lines — valid workload lines in every
/// spelling docs/PROTOCOL.md accepts, and malformed ones of every kind it refuses (bad commands and arity, huge,
/// negative and zero amounts, bad symbols and ids, non-ASCII, control characters, invalid UTF-8, overlong lines,
/// blank lines, CR/LF mixes, bad [N], bad directives and DUMPLOG names) — over several concurrent connections to
/// an in-process node, checked against the pure domain: the node keeps going, every line gets exactly one answer,
/// every refused line a clear error and no effect, and every answer and every user's final books are what
/// <see cref="AccountDomain"/> computes from the lines the node accepted.
/// <para>Users are disjoint per connection, so a connection's order is each of its users' order (PROTOCOL.md); the
/// clock is frozen and quotes are a fixed function of the symbol, so no outcome depends on timing. Trigger prices
/// never cross the quote, so no trigger fires. The seed is printed; set DAYTRADING_FUZZ_SEED to replay a run
/// (and DAYTRADING_FUZZ_LINES for a longer one).</para>
/// </summary>
public sealed class EdgeFuzzTests(ITestOutputHelper output)
{
    private const int Connections = 6;
    private const int DefaultLinesPerConnection = 8_500;

    // Fixed so the suite is repeatable; explore other seeds locally with DAYTRADING_FUZZ_SEED.
    private const int DefaultSeed = 20261201;
    private static readonly TimeSpan AnswerDeadline = TimeSpan.FromSeconds(150);

    [Fact]
    public async Task Fifty_thousand_fuzzed_lines_over_six_connections_match_the_pure_domain()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("DAYTRADING_FUZZ_SEED"), out var s) ? s : DefaultSeed;
        var perConnection = int.TryParse(Environment.GetEnvironmentVariable("DAYTRADING_FUZZ_LINES"), out var n) ? Math.Max(100, n / Connections) : DefaultLinesPerConnection;
        output.WriteLine($"fuzz seed {seed} (DAYTRADING_FUZZ_SEED={seed} replays it), {Connections} connections x {perConnection} lines");

        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var clock = new FrozenClock(now);
        var nowMs = now.ToUnixTimeMilliseconds();
        var scripts = Enumerable.Range(0, Connections).Select(c => new Script(seed, c, perConnection, nowMs).Generate()).ToArray();
        output.WriteLine($"generated {scripts.Sum(x => x.Lines.Count)} lines: " + string.Join(", ",
            scripts.SelectMany(x => x.Lines).GroupBy(l => l.Kind).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}")));

        using var data = new TempDirectory();
        var quotes = new FixedQuoteSource(clock);
        using var host = NodeHost.Build(new NodeOptions { AdminPort = -1, DataDirectory = data.Path, TcpPort = 0, ClusterPort = 0, WebEnabled = false },
            TextWriter.Null, quotes, clock);
        await host.StartAsync(TestContext.Current.CancellationToken);
        var problems = new Problems(seed);
        try
        {
            var edge = await host.Services.GetRequiredService<NodeReadiness>().Edge.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
            var started = System.Diagnostics.Stopwatch.StartNew();
            var runs = scripts.Select(x => Run(edge.Port, x, seed, problems)).ToArray();
            await Task.WhenAll(runs);
            output.WriteLine($"all lines sent and answered in {started.ElapsedMilliseconds} ms ({quotes.Hits} quote hits)");

            var models = new Dictionary<string, AccountState>(StringComparer.Ordinal);
            foreach (var script in scripts)
            {
                if (Pair(script, problems)) Verify(script, models, nowMs, problems);
            }
            problems.ThrowIfAny();

            // The node is still up, and every user's books are the model's; users named only in refused lines (or
            // only in commands refused for an unknown user) do not exist.
            await using var final = await Connection.Open(edge.Port);
            var users = scripts.SelectMany(x => x.Mentioned).Distinct().Order(StringComparer.Ordinal).ToArray();
            var request = new StringBuilder();
            for (var i = 0; i < users.Length; i++) request.Append(CultureInfo.InvariantCulture, $"[{i + 1}] DISPLAY_SUMMARY,{users[i]}\n");
            await final.Write(Encoding.ASCII.GetBytes(request.ToString()));
            final.ShutdownSend();
            var answers = new Dictionary<long, string>();
            while (await final.ReadLine() is { } line) answers[long.Parse(line[1..line.IndexOf(']')], CultureInfo.InvariantCulture)] = line;
            var existing = 0;
            for (var i = 0; i < users.Length; i++)
            {
                var answer = answers.GetValueOrDefault(i + 1);
                if (models.TryGetValue(users[i], out var model) && model.Exists)
                {
                    existing++;
                    var expected = $"[{i + 1}] OK DISPLAY_SUMMARY {AccountSummary.Json(model, nowMs)}";
                    if (answer != expected) problems.Add($"final books of {users[i]}:\n  node  {answer}\n  model {expected}");
                }
                else if (answer is null || !answer.StartsWith($"[{i + 1}] ERR DISPLAY_SUMMARY ", StringComparison.Ordinal))
                {
                    problems.Add($"{users[i]} was never created by an accepted ADD, yet DISPLAY_SUMMARY answered {answer ?? "nothing"}");
                }
            }
            output.WriteLine($"final books: {existing} accounts equal the model, {users.Length - existing} named ids do not exist");
            Assert.True(existing > Connections * 5, $"too few accounts were created ({existing}): the generator is off");
            problems.ThrowIfAny();

            var all = scripts.SelectMany(x => x.Lines).ToArray();
            output.WriteLine($"answers: {all.Count(l => l.Response?.Contains("] OK ", StringComparison.Ordinal) == true)} OK, " +
                $"{all.Count(l => l.Kind == LineKind.Request && l.Response?.Contains("] ERR ", StringComparison.Ordinal) == true)} refused by the domain, " +
                $"{all.Count(l => l.Kind == LineKind.Refused)} refused by the edge, {all.Count(l => l.Kind == LineKind.Directive)} directives, {all.Count(l => l.Kind == LineKind.Blank)} blank");
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    // ------------------------------------------------------------------------------------------- sending

    /// <summary>Writes the script's bytes in random chunks (splitting lines, CRLFs and UTF-8 sequences) while reading every answer.</summary>
    private static async Task Run(int port, Script script, int seed, Problems problems)
    {
        try
        {
            await RunOne(port, script, seed, problems);
        }
        catch (Exception ex)
        {
            problems.Add($"connection {script.Index}: {ex}");
        }
    }

    private static async Task RunOne(int port, Script script, int seed, Problems problems)
    {
        await using var c = await Connection.Open(port);
        var rng = new Random(seed ^ (script.Index * 7919 + 17));
        var bytes = script.Lines.SelectMany(l => l.Bytes).ToArray();
        var writer = Task.Run(async () =>
        {
            var at = 0;
            while (at < bytes.Length)
            {
                var size = rng.Next(10) switch { 0 => rng.Next(1, 8), < 4 => rng.Next(8, 512), _ => rng.Next(512, 16_384) };
                size = Math.Min(size, bytes.Length - at);
                await c.Write(bytes.AsMemory(at, size));
                at += size;
            }
            c.ShutdownSend(); // the last line has no LF: the half-close makes the edge take it
        });
        var reading = Task.Run(async () =>
        {
            while (await c.ReadLine() is { } line) script.Responses.Add(line);
        });
        var done = await Task.WhenAny(Task.WhenAll(writer, reading), Task.Delay(AnswerDeadline));
        if (!reading.IsCompleted)
        {
            problems.Add($"connection {script.Index}: {script.Responses.Count} answers after {AnswerDeadline.TotalSeconds} s for {script.Lines.Count(l => l.Kind != LineKind.Blank)} answerable lines; the edge did not finish");
            return;
        }
        await done; // surfaces a socket error
        await writer;
    }

    // ------------------------------------------------------------------------------------------- pairing

    /// <summary>
    /// Gives each line its answer: by N for lines that carry one; lines the node numbers get their numbers in read
    /// order (one counter, taken as lines are parsed), so sorted assigned numbers pair with those lines in order;
    /// directive answers carry no N and are compared as a multiset. False when the answers cannot be paired.
    /// </summary>
    private static bool Pair(Script script, Problems problems)
    {
        var byN = new Dictionary<long, Queue<FuzzLine>>();
        var unnumbered = new List<FuzzLine>();
        foreach (var l in script.Lines)
        {
            if (l.Kind is LineKind.Blank or LineKind.Directive) continue;
            if (l.N is { } n)
            {
                if (!byN.TryGetValue(n, out var q)) byN[n] = q = new Queue<FuzzLine>();
                q.Enqueue(l);
            }
            else
            {
                unnumbered.Add(l);
            }
        }
        var assigned = new List<(long N, int Arrival, string Line)>();
        var directiveAnswers = new List<string>();
        var ok = true;
        for (var i = 0; i < script.Responses.Count; i++)
        {
            var r = script.Responses[i];
            if (r.StartsWith("# ", StringComparison.Ordinal))
            {
                directiveAnswers.Add(r);
                continue;
            }
            var close = r.IndexOf(']');
            if (!r.StartsWith('[') || close < 2 || !long.TryParse(r.AsSpan(1, close - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                || !(r.AsSpan(close).StartsWith("] OK ") || r.AsSpan(close).StartsWith("] ERR ")))
            {
                problems.Add($"connection {script.Index}: malformed answer {Show(r)}");
                ok = false;
                continue;
            }
            if (byN.TryGetValue(n, out var q) && q.Count > 0)
            {
                var line = q.Dequeue();
                line.Response = r;
                line.Arrival = i;
            }
            else
            {
                assigned.Add((n, i, r));
            }
        }
        foreach (var (n, q) in byN)
        {
            foreach (var l in q)
            {
                problems.Add($"connection {script.Index} line {l.Index} {Show(l.Bytes)}: no answer carrying [{n}]");
                ok = false;
            }
        }
        assigned.Sort((a, b) => a.N.CompareTo(b.N));
        if (assigned.Count != unnumbered.Count)
        {
            problems.Add($"connection {script.Index}: {unnumbered.Count} lines without a usable [N], {assigned.Count} answers with a number the client did not send" +
                $" (first of them: {string.Join(" | ", assigned.Take(3).Select(a => Show(a.Line)))}; first such lines: {string.Join(" | ", unnumbered.Take(3).Select(l => Show(l.Bytes)))})");
            ok = false;
        }
        else
        {
            for (var i = 0; i < assigned.Count; i++)
            {
                unnumbered[i].Response = assigned[i].Line;
                unnumbered[i].Arrival = assigned[i].Arrival;
                unnumbered[i].AssignedN = assigned[i].N;
            }
        }

        var expectedDirectives = script.Lines.Where(l => l.Kind == LineKind.Directive).Select(l => l.Answer!).Order(StringComparer.Ordinal).ToArray();
        directiveAnswers.Sort(StringComparer.Ordinal);
        if (!expectedDirectives.SequenceEqual(directiveAnswers))
        {
            var missing = expectedDirectives.Except(directiveAnswers).Take(5);
            var extra = directiveAnswers.Except(expectedDirectives).Take(5);
            problems.Add($"connection {script.Index}: directive answers differ; expected {expectedDirectives.Length}, got {directiveAnswers.Count}; missing {string.Join(" | ", missing)}; unexpected {string.Join(" | ", extra)}");
        }
        return ok;
    }

    // ------------------------------------------------------------------------------------------- checking

    private static void Verify(Script script, Dictionary<string, AccountState> models, long nowMs, Problems problems)
    {
        var lastArrivalOfUser = new Dictionary<string, (int Arrival, FuzzLine Line)>(StringComparer.Ordinal);
        FuzzLine? lastPositioned = null;
        foreach (var line in script.Lines)
        {
            if (line.Kind is LineKind.Blank or LineKind.Directive) continue;
            var r = line.Response!;
            var where = $"connection {script.Index} line {line.Index} {Show(line.Bytes)}";
            var n = line.N ?? line.AssignedN;

            if (line.Positioned)
            {
                // #ORDER,position: these lines' answers leave in the order the lines were read.
                if (lastPositioned is not null && lastPositioned.Arrival > line.Arrival)
                    problems.Add($"{where}: read in position order after line {lastPositioned.Index} {Show(lastPositioned.Bytes)} (answer {lastPositioned.Arrival} {Show(lastPositioned.Response!)}), yet answered before it ({line.Arrival} {Show(r)})");
                lastPositioned = line;
            }
            if (r.Contains('\uFFFD')) problems.Add($"{where}: the answer carries a replacement character (a broken UTF-8 or UTF-16 sequence): {Show(r)}");

            if (line.Kind == LineKind.Refused)
            {
                var prefix = $"[{n}] ERR {line.Command} ";
                if (!r.StartsWith(prefix, StringComparison.Ordinal) || !r.Contains(line.Reason, StringComparison.Ordinal))
                    problems.Add($"{where}: expected {prefix}…{line.Reason}…, got {Show(r)}");
                else if (r.Length - prefix.Length > 200)
                    problems.Add($"{where}: the reason is {r.Length - prefix.Length} characters long (echoed values are cut to 40): {Show(r)}");
                continue;
            }

            // An accepted request: exactly what the domain answers, in the user's order.
            var request = line.Request! with { TxNum = n };
            var user = request.UserId!;
            // One user's answers come in the order sent, except that a line read in ready order may overtake an
            // earlier one still held back by position order (the commands still run in order: the model checks that).
            if (lastArrivalOfUser.TryGetValue(user, out var before) && before.Arrival > line.Arrival && (!before.Line.Positioned || line.Positioned))
                problems.Add($"{where}: answered before line {before.Line.Index} {Show(before.Line.Bytes)} of the same user (positioned {before.Line.Positioned}/{line.Positioned})");
            lastArrivalOfUser[user] = (line.Arrival, line);
            if (!models.TryGetValue(user, out var model)) models[user] = model = new AccountState(user);
            var (ok, body, error) = Model.Apply(model, request, nowMs);
            var name = request.Kind.Name();
            if (ok)
            {
                var expected = $"[{n}] OK {name}" + (line.Quiet || body is null ? "" : " " + body);
                var matches = request.Kind == CommandKind.DumpLog
                    ? r == $"[{n}] OK {name}" || r.StartsWith($"[{n}] OK {name} ", StringComparison.Ordinal) // the dump's own summary
                    : r == expected;
                if (!matches) problems.Add($"{where}:\n  node  {Show(r)}\n  model {Show(expected)}");
            }
            else
            {
                var expected = $"[{n}] ERR {name} {error}";
                // An unknown user's refusal may be worded by whoever refuses it first (the account or the gateway).
                var matches = r == expected || (error!.StartsWith("unknown user", StringComparison.Ordinal)
                    && r.StartsWith($"[{n}] ERR {name} ", StringComparison.Ordinal) && r.Contains("unknown", StringComparison.OrdinalIgnoreCase));
                if (!matches) problems.Add($"{where}:\n  node  {Show(r)}\n  model {Show(expected)}");
            }
        }
    }

    /// <summary>What an account does with one request (AccountActor: a retry is answered from memory; otherwise decide and apply).</summary>
    private static class Model
    {
        public static Quote QuoteFor(string symbol, string user, long nowMs) =>
            new(symbol, FixedQuoteSource.PriceOf(symbol), user, nowMs, "fixed-" + symbol);

        // The account's idempotency memory, per model account: every handled request with a run id and its outcome.
        private static readonly ConditionalWeakTable<AccountState, Dictionary<(string RunId, long TxNum), (TradeRequest Request, CommandHandled Handled)>> Memory = new();

        public static (bool Ok, string? Body, string? Error) Apply(AccountState state, TradeRequest r, long nowMs)
        {
            var memory = Memory.GetOrCreateValue(state);
            if (r.RunId is not null && memory.TryGetValue((r.RunId, r.TxNum), out var earlier))
            {
                var e = earlier.Handled;
                if (e.Kind != r.Kind || e.Symbol != r.Symbol || e.Amount != r.Amount || e.FileName != r.FileName)
                    return (false, null, $"transaction {r.TxNum} of run {r.RunId} was already used for a different request; nothing was done");
                return (e.Ok, e.Ok ? Body(r.Kind, state, e.Quote, SharesOf(e), nowMs) : null, e.Error);
            }
            var quote = AccountDomain.NeedsQuote(r.Kind) ? QuoteFor(r.Symbol!, r.UserId!, nowMs) : null;
            var handled = AccountDomain.Decide(state, r, quote, nowMs, "model");
            AccountDomain.Apply(state, handled);
            if (r.RunId is not null) memory[(r.RunId, r.TxNum)] = (r, handled);
            return (handled.Ok, handled.Ok ? Body(r.Kind, state, handled.Quote, SharesOf(handled), nowMs) : null, handled.Error);
        }

        private static int SharesOf(CommandHandled e) => e.Changes.Select(c => c switch { BuyReserved b => b.Shares, SellReserved x => x.Shares, _ => 0 }).Sum();

        // docs/PROTOCOL.md's bodies; the summary is the serializer's (tested byte-for-byte elsewhere).
        private static string? Body(CommandKind kind, AccountState state, QuoteUsed? q, int shares, long nowMs) => kind switch
        {
            CommandKind.Quote => string.Create(CultureInfo.InvariantCulture, $"{Money(q!.Price)},{q.Symbol},{state.UserId},{q.QuoteTimeMs},{q.CryptoKey}"),
            CommandKind.Buy or CommandKind.Sell => string.Create(CultureInfo.InvariantCulture,
                $"{shares},{q!.Symbol},{Money(q.Price)},{Money(shares * q.Price)},{q.QuoteTimeMs},{q.CryptoKey}"),
            CommandKind.DisplaySummary => AccountSummary.Json(state, nowMs),
            _ => null,
        };
    }

    // ------------------------------------------------------------------------------------------- generating

    private enum LineKind { Request, Refused, Directive, Blank }

    private sealed class FuzzLine
    {
        public int Index;
        public byte[] Bytes = [];
        public LineKind Kind;
        /// <summary>The number the line carries; null when the node must assign one.</summary>
        public long? N;
        public bool Positioned;
        public bool Quiet;
        /// <summary>Request: what the node must execute (its TxNum is N, or the assigned number once paired).</summary>
        public TradeRequest? Request;
        /// <summary>Refused: the CMD of the answer, and a part its reason must contain.</summary>
        public string Command = "?";
        public string Reason = "";
        /// <summary>Directive: the exact answer.</summary>
        public string? Answer;
        public string? Response;
        public int Arrival = -1;
        public long AssignedN;
    }

    private static readonly string[] Names =
    [
        "ADD", "QUOTE", "BUY", "COMMIT_BUY", "CANCEL_BUY", "SELL", "COMMIT_SELL", "CANCEL_SELL", "SET_BUY_AMOUNT",
        "SET_BUY_TRIGGER", "CANCEL_SET_BUY", "SET_SELL_AMOUNT", "SET_SELL_TRIGGER", "CANCEL_SET_SELL", "DUMPLOG", "DISPLAY_SUMMARY",
    ];

    private static CommandKind KindOf(string name) => (CommandKind)(Array.IndexOf(Names, name) + 1);

    /// <summary>The arguments each command takes (docs/PROTOCOL.md); DUMPLOG's user form.</summary>
    private static string[] Shape(CommandKind k) => k switch
    {
        CommandKind.Add => ["user", "amount"],
        CommandKind.Quote or CommandKind.CancelSetBuy or CommandKind.CancelSetSell => ["user", "symbol"],
        CommandKind.Buy or CommandKind.Sell or CommandKind.SetBuyAmount or CommandKind.SetSellAmount => ["user", "symbol", "amount"],
        CommandKind.SetBuyTrigger or CommandKind.SetSellTrigger => ["user", "symbol", "price"],
        CommandKind.DumpLog => ["user", "filename"],
        _ => ["user"],
    };

    private static readonly string[] Symbols = ["S", "AB", "XYZ", "Q", "ZZZ", "MN"];

    private static readonly string[] BadUsers =
    [
        "a b", "u!", "jürgen", "用户", "u.x", "😀", "u\u0001x", "u\u007f", "u\u00a0v", "u\u2028v", "ab\rcd", "u$", "\u0000",
        "u\u200bv", "ｕｓｅｒ", "x/y", "'u'", "u\"", "\u001b[31mu", new string('a', 65),
        "a" + string.Concat(Enumerable.Repeat("😀", 30)), // cut at 40 UTF-16 characters: inside a surrogate pair
    ];

    private static readonly string[] BadSymbols = ["", "abc", "Abc", "ABCD", "A1", "1", "Ä", "A B", "$$", "ＡＢ", "A\u0001", "A-B", "ÅB", "S\u0000", "s"];

    private static readonly string[] BadAmounts =
    [
        "-5", "0", "0.00", "00", "1e3", "NaN", "12.345", "+5", "5.", ".5", "1000000000.01", "1000000001", "99999999999999999999999999",
        "", "５", "1 000", "0x10", "Infinity", "5.5.5", "٣", "5\u0000", "0.001", "-0", "1_000", "5e-2", "$5", "5€", "\u00a05", "10000000000",
        "-1000000000", "0.0", "1.2.", "1..2", "∞",
    ];

    private static readonly string[] UnknownCommands =
    [
        "FOO", "BUYY", "ADDD", "COMMIT", "QUOTES", "DUMP", "SUMMARY", "ＡDD", "dısplay_summary", "ſell", "AD D", "A\u0001DD", "\u0001ADD",
        "ADD\u0000", "BUY_COMMIT", "SET_BUY", "ÄDD", "ADD;DROP TABLE x", "\u001b[31mADD", "ADD\u00a0", "QUOTE\u200b", "DISPLAY-SUMMARY", "ADD\r", "\u2028ADD",
    ];

    private static readonly string[] BadFileNames =
    [
        "", "../x", "a/../b", "..", "/etc/passwd", "\\x", "~x", "a:b", "a*b", "a?b", "a\"b", "a<b", "a>b", "a|b", "dir/", "dir\\", ".", "x/.",
        new string('f', 256), "a\u0001b", "a\u007fb", "C:\\x", "../../../../etc/shadow", "x/../../y", "~/.ssh/id",
    ];

    private static readonly byte[][] BadUtf8 =
    [
        [0xFF], [0xFE], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC3], [0xE0, 0x80, 0xAF],
    ];

    /// <summary>One connection's lines, generated from the seed with a shadow of its users' books (so values make sense).</summary>
    private sealed class Script(int seed, int index, int count, long nowMs)
    {
        private readonly Random _rng = new(unchecked(seed * 31 + index)); // HashCode is randomised per process
        private readonly int _seed = seed;
        private readonly Dictionary<string, AccountState> _shadow = new(StringComparer.Ordinal);
        private readonly List<string> _traders = new();
        private readonly List<string> _ghosts = new();
        private readonly List<FuzzLine> _retryable = new();
        private string? _runId;
        private bool _quiet;
        private bool _position;
        private long _nextN;
        private int _runs;
        private int _dumps;
        private long _placeholder;

        public int Index { get; } = index;
        public List<FuzzLine> Lines { get; } = new();
        public List<string> Responses { get; } = new();
        /// <summary>Every valid user id this connection named, in any line (also refused ones).</summary>
        public HashSet<string> Mentioned { get; } = new(StringComparer.Ordinal);

        public Script Generate()
        {
            for (var k = 0; k < 8; k++) _traders.Add($"f{_seed % 1000}c{Index}u{k}");
            _traders.Add($"f{Index}-x_" + new string('L', 58)); // 64 characters
            for (var k = 0; k < 3; k++) _ghosts.Add($"f{_seed % 1000}c{Index}ghost{k}");
            Mentioned.UnionWith(_traders);
            Mentioned.UnionWith(_ghosts);
            if (_rng.Next(2) == 0) Directive($"#RUN,fz{_seed}c{Index}r{_runs++}");
            while (Lines.Count < count - 1)
            {
                var roll = _rng.Next(1000);
                if (roll < 520) Request();
                else if (roll < 560) Retry();
                else if (roll < 880) Malformed();
                else if (roll < 910) Blank();
                else if (roll < 945) RandomDirective();
                else if (roll < 975) Overlong();
                else InvalidUtf8();
            }
            // The last line comes without LF: the edge takes it when the client half-closes.
            var last = Add(LineKind.Request, Encoding.ASCII.GetBytes($"[{++_nextN}] DISPLAY_SUMMARY,{_traders[0]}"), _nextN);
            last.Request = Decide(new TradeRequest(_nextN, CommandKind.DisplaySummary, _traders[0], RunId: _runId));
            return this;
        }

        private FuzzLine Add(LineKind kind, byte[] bytes, long? n)
        {
            var line = new FuzzLine { Index = Lines.Count, Bytes = bytes, Kind = kind, N = n, Positioned = _position, Quiet = _quiet };
            Lines.Add(line);
            return line;
        }

        private bool Chance(int percent) => _rng.Next(100) < percent;

        private T Pick<T>(IReadOnlyList<T> items) => items[_rng.Next(items.Count)];

        private AccountState Shadow(string user)
        {
            if (!_shadow.TryGetValue(user, out var s)) _shadow[user] = s = new AccountState(user);
            return s;
        }

        /// <summary>The shadow applies the request so the next values can be chosen sensibly; the checking model is separate.</summary>
        private TradeRequest Decide(TradeRequest r)
        {
            Model.Apply(Shadow(r.UserId!), r.TxNum > 0 ? r : r with { TxNum = --_placeholder }, nowMs);
            return r;
        }

        // --- spelling

        private string NumberPart(long n) => _rng.Next(10) switch
        {
            0 => $"[{n}]",
            1 => $"[{n}]   ",
            2 => $"[{n}]\t",
            _ => $"[{n}] ",
        };

        private string Spell(string name) => _rng.Next(10) switch
        {
            0 => name.ToLowerInvariant(),
            1 => new string(name.Select(ch => _rng.Next(2) == 0 ? char.ToLowerInvariant(ch) : ch).ToArray()),
            _ => name,
        };

        private string Sep() => _rng.Next(10) switch { 0 => " , ", 1 => ",\t", 2 => "  ,", _ => "," };

        private string Lead() => _rng.Next(20) switch { 0 => " ", 1 => "\t", 2 => "  \t", 3 => "\r", _ => "" };

        private string Terminator() => _rng.Next(20) switch
        {
            < 13 => "\n",
            < 18 => "\r\n",
            18 => "  \t\r\n",
            _ => "\r\r\n",
        };

        private string Join(IReadOnlyList<string> args)
        {
            var sb = new StringBuilder();
            for (var i = 0; i < args.Count; i++)
            {
                if (i > 0) sb.Append(Sep());
                sb.Append(args[i]);
            }
            return sb.ToString();
        }

        private string Body(string nPart, string name, IReadOnlyList<string> args) =>
            nPart + name + (args.Count > 0 ? "," + Join(args) : "");

        private static string Amount(decimal value, Random rng)
        {
            var text = Money(value);
            if (text.EndsWith(".00", StringComparison.Ordinal) && rng.Next(2) == 0) return text[..^3];
            if (text.EndsWith('0') && rng.Next(3) == 0) return text[..^1];
            return rng.Next(40) == 0 ? "0" + text : text;
        }

        private decimal Cents(decimal min, decimal max)
        {
            var lo = (long)(min * 100);
            var hi = Math.Max(lo + 1, (long)(max * 100));
            return _rng.NextInt64(lo, hi + 1) / 100m;
        }

        // --- valid requests

        private string PickUser() => _rng.Next(100) < 90 ? Pick(_traders) : Pick(_ghosts);

        private (CommandKind Kind, string User, string? Symbol, string? Amount, string? File) PlanRequest()
        {
            var user = PickUser();
            var state = Shadow(user);
            var ghost = _ghosts.Contains(user);
            CommandKind kind;
            if (!ghost && (!state.Exists ? _rng.Next(10) < 7 : _rng.Next(100) < 8)) kind = CommandKind.Add;
            else
            {
                kind = _rng.Next(100) switch
                {
                    < 10 => CommandKind.Quote,
                    < 24 => CommandKind.Buy,
                    < 33 => CommandKind.CommitBuy,
                    < 37 => CommandKind.CancelBuy,
                    < 49 => CommandKind.Sell,
                    < 56 => CommandKind.CommitSell,
                    < 59 => CommandKind.CancelSell,
                    < 65 => CommandKind.SetBuyAmount,
                    < 71 => CommandKind.SetBuyTrigger,
                    < 74 => CommandKind.CancelSetBuy,
                    < 80 => CommandKind.SetSellAmount,
                    < 86 => CommandKind.SetSellTrigger,
                    < 89 => CommandKind.CancelSetSell,
                    < 90 when _dumps < 2 => CommandKind.DumpLog,
                    _ => CommandKind.DisplaySummary,
                };
            }
            var held = state.Holdings.Where(h => h.Value.Shares > 0).Select(h => h.Key).ToArray();
            var symbol = kind is CommandKind.Sell or CommandKind.SetSellAmount && held.Length > 0 && Chance(80) ? Pick(held)
                : kind is CommandKind.SetBuyTrigger or CommandKind.CancelSetBuy && state.BuyTriggers.Count > 0 && Chance(80) ? Pick(state.BuyTriggers.Keys.ToArray())
                : kind is CommandKind.SetSellTrigger or CommandKind.CancelSetSell && state.SellTriggers.Count > 0 && Chance(80) ? Pick(state.SellTriggers.Keys.ToArray())
                : Pick(Symbols);
            var price = FixedQuoteSource.PriceOf(symbol);
            var cash = state.Cash;
            decimal? amount = kind switch
            {
                CommandKind.Add => _rng.Next(50) == 0 ? Rules.MaxAmount : Cents(0.01m, _rng.Next(4) == 0 ? 1_000_000m : 20_000m),
                CommandKind.Buy => _rng.Next(100) switch
                {
                    < 5 => Cents(0.01m, price - 0.01m), // buys no share
                    < 8 => Rules.MaxAmount,
                    < 20 => Cents(0.01m, 1_000_000m),
                    _ => Cents(price, Math.Max(price, cash / 2)),
                },
                CommandKind.Sell or CommandKind.SetSellAmount => _rng.Next(100) switch
                {
                    < 5 => Cents(0.01m, price - 0.01m),
                    < 20 => Cents(0.01m, 100_000m),
                    _ => price * _rng.Next(1, Math.Max(2, state.HoldingOf(symbol).Shares + 1)) + Cents(0m, price - 0.01m),
                },
                CommandKind.SetBuyAmount => _rng.Next(10) == 0 ? Cents(0.01m, 1_000_000m) : Cents(0.01m, Math.Max(1m, cash / 3)),
                // Never crossing the (fixed) quote: a buy trigger below it, a sell trigger above it.
                CommandKind.SetBuyTrigger => Cents(0.01m, price - 0.01m),
                CommandKind.SetSellTrigger => _rng.Next(30) == 0 ? Rules.MaxAmount : Cents(price + 0.01m, price * 3),
                _ => null,
            };
            if (amount > Rules.MaxAmount) amount = Rules.MaxAmount;
            string? file = null;
            if (kind == CommandKind.DumpLog)
            {
                _dumps++;
                file = Chance(50) ? $"fuzz-c{Index}-{_dumps}.xml" : $"fuzz/c{Index}/user-{_dumps}";
            }
            return (kind, user, symbol, amount is null ? null : Amount(amount.Value, _rng), file);
        }

        private static List<string> Args(CommandKind kind, string user, string? symbol, string? amount, string? file) =>
            Shape(kind).Select(a => a switch { "user" => user, "symbol" => symbol!, "filename" => file!, _ => amount! }).ToList();

        private TradeRequest ToRequest(long n, CommandKind kind, string user, string? symbol, string? amount, string? file) =>
            new(n, kind, user, Shape(kind).Contains("symbol") ? symbol : null,
                amount is null ? 0m : decimal.Parse(amount, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture), file, _runId);

        private void Request()
        {
            var (kind, user, symbol, amount, file) = PlanRequest();
            var numbered = Chance(88);
            var n = numbered ? ++_nextN : (long?)null;
            var text = Lead() + Body(numbered ? NumberPart(n!.Value) : "", Spell(kind.Name()), Args(kind, user, symbol, amount, file));
            string content;
            if (_rng.Next(60) == 0)
            {
                // Exactly at the limit: 1024 bytes before the terminator (padding that the parser ignores).
                content = text.PadRight(1024);
            }
            else
            {
                content = text;
            }
            var line = Add(LineKind.Request, Encoding.UTF8.GetBytes(content + (content.Length == 1024 ? (Chance(50) ? "\n" : "\r\n") : Terminator())), n);
            line.Request = Decide(ToRequest(n ?? 0, kind, user, symbol, amount, file));
            if (numbered && kind != CommandKind.DumpLog) _retryable.Add(line);
        }

        /// <summary>The same line again with the same N: under a run id it is answered from memory; without one, applied again.</summary>
        private void Retry()
        {
            if (_retryable.Count == 0)
            {
                Request();
                return;
            }
            var at = _rng.Next(Math.Max(0, _retryable.Count - 50), _retryable.Count);
            var original = _retryable[at];
            // Answers are paired by N: a ready-order repeat could overtake an earlier copy still held in position order.
            if (original.Positioned && !_position)
            {
                Request();
                return;
            }
            var line = Add(LineKind.Request, original.Bytes, original.N);
            line.Request = Decide(original.Request!);
            _retryable[at] = line; // the latest copy decides whether the next repeat may be sent in ready order
        }

        // --- refused lines

        private void Refused(string content, long? n, string command, string reason, string? user = null)
        {
            var line = Add(LineKind.Refused, Encoding.UTF8.GetBytes(content + Terminator()), n);
            line.Command = command;
            line.Reason = reason;
            if (user is not null) Mentioned.Add(user);
        }

        private string RefusedOnlyUser() => Chance(30) ? $"f{_seed % 1000}c{Index}only{_rng.Next(20)}" : PickUser();

        private void Malformed()
        {
            var kind = (CommandKind)_rng.Next(1, 17);
            var name = kind.Name();
            var user = RefusedOnlyUser();
            Mentioned.Add(user);
            var symbol = Pick(Symbols);
            var amount = Amount(Cents(0.01m, 5000m), _rng);
            var args = Args(kind, user, symbol, amount, $"fuzz-bad-{_rng.Next(100)}.xml");
            var numbered = Chance(80);
            var n = numbered ? ++_nextN : (long?)null;
            var nPart = numbered ? NumberPart(n!.Value) : "";
            var lead = Lead();
            switch (_rng.Next(10))
            {
                case 0:
                {
                    var bad = Chance(15) ? new string('Q', _rng.Next(41, 800)) : Pick(UnknownCommands);
                    Refused(lead + Body(nPart, bad, args), n, "?", "unknown command '");
                    break;
                }
                case 1:
                    // (without [N] and arguments it would be a blank line)
                    Refused(lead + nPart + (numbered && Chance(50) ? "" : (Chance(50) ? "," : " ,") + Join(args)), n, "?", "missing command");
                    break;
                case 2:
                {
                    // Wrong number of arguments (DUMPLOG takes 1 or 2, everything else exactly its shape).
                    var shape = kind == CommandKind.DumpLog ? [] : Shape(kind);
                    int got;
                    do got = _rng.Next(0, 6); while (kind == CommandKind.DumpLog ? got is 1 or 2 : got == shape.Length);
                    var wrong = Enumerable.Range(0, got).Select(i => i < args.Count ? args[i] : Chance(50) ? "" : amount).ToList();
                    var reason = kind == CommandKind.DumpLog
                        ? $"takes filename (admin) or user,filename (got {Plural(got)})"
                        : $"takes {string.Join(',', shape)} (got {Plural(got)})";
                    Refused(lead + nPart + Spell(name) + (got == 0 ? "" : "," + Join(wrong)), n, name, reason);
                    break;
                }
                case 3:
                {
                    var bad = Chance(10) ? new string('u', _rng.Next(65, 800)) : Chance(10) ? (Chance(50) ? "" : "   ") : Pick(BadUsers);
                    args[0] = bad;
                    var missing = bad.Trim(' ', '\t').Length == 0;
                    Refused(lead + Body(nPart, Spell(name), args), n, name, missing ? "user id is missing" : "invalid user id '");
                    break;
                }
                case 4 when Shape(kind).Contains("symbol"):
                {
                    args[1] = Chance(10) ? new string('S', _rng.Next(4, 800)) : Pick(BadSymbols);
                    Refused(lead + Body(nPart, Spell(name), args), n, name, "invalid symbol '", user);
                    break;
                }
                case 5 when Shape(kind).Any(a => a is "amount" or "price"):
                {
                    var bad = Chance(10) ? new string('7', _rng.Next(11, 800)) : Chance(5) ? "9" + new string('x', _rng.Next(40, 800)) : Pick(BadAmounts);
                    args[^1] = bad;
                    Refused(lead + Body(nPart, Spell(name), args), n, name, AmountReason(bad), user);
                    break;
                }
                case 6:
                {
                    // An unusable [N]: refused under an assigned number.
                    var (bad, reason, cmd) = _rng.Next(9) switch
                    {
                        0 => ("[0] ", "invalid transaction number '0'", name),
                        1 => ("[abc] ", "invalid transaction number 'abc'", name),
                        2 => ("[] ", "invalid transaction number ''", name),
                        3 => ("[-1] ", "invalid transaction number '-1'", name),
                        4 => ("[1234567890123456789] ", "invalid transaction number '1234567890123456789'", name),
                        5 => ("[1.5]", "invalid transaction number '1.5'", name),
                        6 => ("[+3] ", "invalid transaction number '+3'", name),
                        7 => ($"[{_rng.Next(1, 999)} ", "missing ']' after the transaction number", "?"),
                        _ => ("[", "missing ']' after the transaction number", name),
                    };
                    Refused(lead + Body(bad, Spell(name), args), null, cmd, reason);
                    break;
                }
                case 7:
                {
                    var file = Pick(BadFileNames);
                    var dumpArgs = Chance(50) ? new List<string> { file } : [user, file];
                    Refused(lead + Body(nPart, Spell("DUMPLOG"), dumpArgs), n, "DUMPLOG", FileReason(file), dumpArgs.Count == 2 ? user : null);
                    break;
                }
                case 8:
                {
                    // A directive behind [N] is not a directive; a bare CR inside a field breaks it.
                    if (numbered && Chance(50)) Refused(lead + nPart + "#QUIET,on", n, "?", "unknown command '#QUIET'");
                    else
                    {
                        args[0] = user + "\r" + user;
                        Refused(lead + Body(nPart, Spell(name), args), n, name, "invalid user id '");
                    }
                    break;
                }
                default:
                {
                    // A valid spelling of a request for a user who has no account is not refused by the edge: the
                    // account refuses it (or an ADD creates it). Here: an unknown user named only in refused lines.
                    args[0] = new string('z', 64) + "!";
                    Refused(lead + Body(nPart, Spell(name), args), n, name, "invalid user id '");
                    break;
                }
            }
        }

        private static string Plural(int n) => n == 1 ? "1 argument" : $"{n} arguments";

        /// <summary>docs/PROTOCOL.md's amount rules, in the order they are checked.</summary>
        private static string AmountReason(string text)
        {
            text = text.Trim(' ', '\t');
            if (text.Length == 0) return "amount is missing";
            var dot = text.IndexOf('.');
            var whole = dot < 0 ? text : text[..dot];
            var frac = dot < 0 ? "" : text[(dot + 1)..];
            static bool Digits(string s) => s.All(c => c is >= '0' and <= '9');
            static bool IsDecimal(string s) =>
                (s.IndexOf('.') is var d && d < 0 ? s : s[..d]) is { Length: > 0 } w && Digits(w) && (d < 0 || (d + 1 < s.Length && Digits(s[(d + 1)..])));
            if (whole.Length == 0 || !Digits(whole) || (dot >= 0 && (frac.Length == 0 || !Digits(frac))))
                return text[0] == '-' && IsDecimal(text[1..]) ? "amount must be greater than 0" : "is not an amount (digits with at most two decimals)";
            if (frac.Length > 2) return "has more than two decimals";
            if (whole.TrimStart('0').Length > 10) return "is above the limit of 1000000000";
            var value = decimal.Parse(text, CultureInfo.InvariantCulture);
            if (value == 0) return "amount must be greater than 0";
            return value > Rules.MaxAmount ? "is above the limit of 1000000000" : throw new InvalidOperationException($"'{text}' is a valid amount");
        }

        /// <summary>docs/PROTOCOL.md's DUMPLOG filename rules, in the order they are checked.</summary>
        private static string FileReason(string file)
        {
            file = file.Trim(' ', '\t');
            if (file.Length == 0) return "DUMPLOG filename is missing";
            if (file.Length > 255) return "is longer than 255 characters";
            foreach (var c in file)
            {
                if (char.IsControl(c)) return "contains control characters";
                if (c is ':' or '*' or '?' or '"' or '<' or '>' or '|') return $"contains '{c}'";
            }
            if (file[0] is '/' or '\\' or '~') return "must be relative to the dump directory";
            if (file.Split('/', '\\').Contains("..")) return "must not contain '..'";
            var last = file[(file.LastIndexOfAny(['/', '\\']) + 1)..];
            return last is "" or "." ? "names no file" : throw new InvalidOperationException($"'{file}' is a valid file name");
        }

        // --- directives, blank, overlong, invalid UTF-8

        private void Directive(string text, string? answer = null)
        {
            var body = text.TrimStart(' ', '\t', '\r')[1..];
            var comma = body.IndexOf(',');
            var directiveName = (comma < 0 ? body : body[..comma]).Trim(' ', '\t').ToUpperInvariant();
            var value = comma < 0 ? "" : body[(comma + 1)..].Trim(' ', '\t');
            var wasPositioned = _position;
            switch (directiveName)
            {
                case "RUN" when Rules.IsValidUserId(value):
                    _runId = value;
                    _retryable.Clear();
                    answer ??= $"# OK RUN {value}";
                    break;
                case "RUN":
                    answer ??= $"# ERR RUN invalid run id '{value}' (1-64 characters of A-Z a-z 0-9 _ -)";
                    break;
                case "QUIET" when value.ToLowerInvariant() is "on" or "off":
                    _quiet = value.Equals("on", StringComparison.OrdinalIgnoreCase);
                    answer ??= $"# OK QUIET {value.ToLowerInvariant()}";
                    break;
                case "QUIET":
                    answer ??= "# ERR QUIET takes on or off";
                    break;
                case "ORDER" when value.ToLowerInvariant() is "position" or "ready":
                    _position = value.Equals("position", StringComparison.OrdinalIgnoreCase);
                    answer ??= $"# OK ORDER {value.ToLowerInvariant()}";
                    break;
                case "ORDER":
                    answer ??= "# ERR ORDER takes position or ready";
                    break;
                default:
                    answer ??= $"# ERR ? unknown directive '#{(comma < 0 ? body : body[..comma]).Trim(' ', '\t')}'";
                    break;
            }
            var line = Add(LineKind.Directive, Encoding.UTF8.GetBytes(text + Terminator()), null);
            line.Positioned = wasPositioned;
            line.Answer = answer;
        }

        private void RandomDirective()
        {
            switch (_rng.Next(14))
            {
                case 0 or 1: Directive($"#RUN,fz{_seed}c{Index}r{_runs++}"); break;
                case 2: Directive($"{Lead()}#run , fz{_seed}c{Index}r{_runs++}"); break;
                case 3: Directive(Chance(50) ? "#RUN,bad id" : "#RUN,"); break;
                case 4 or 5: Directive($"#QUIET,{Pick(new[] { "on", "off", "ON", "Off" })}"); break;
                case 6: Directive($"#QUIET,{Pick(new[] { "maybe", "", "1", "yes" })}"); break;
                case 7 or 8: Directive($"#ORDER,{Pick(new[] { "position", "ready", "POSITION", "Ready" })}"); break;
                case 9: Directive($"#ORDER,{Pick(new[] { "sideways", "", "positional", "fifo" })}"); break;
                case 10: Directive(Pick(new[] { "#FOO", "#", "#NOPE,1", "#QUIETLY,on", "#RUNID,x" })); break;
                case 11: Directive(" #QUIET , off"); break;
                default: Directive($"#order,{(Chance(50) ? "position" : "ready")}"); break;
            }
        }

        private void Blank()
        {
            var text = Pick(new[] { "\n", "\r\n", "   \n", "\t\r\n", " \r \t\n", "\r\r\n", "\t\t\n" });
            Add(LineKind.Blank, Encoding.ASCII.GetBytes(text), null);
        }

        private void Overlong()
        {
            var n = ++_nextN;
            var user = Pick(_traders);
            string text = _rng.Next(6) switch
            {
                0 => $"[{n}] ADD,{user},5".PadRight(1025), // one byte over: trailing spaces count
                1 => $"[{n}] ADD,{user},5".PadRight(_rng.Next(1026, 4000)),
                2 => $"[{n}] QUOTE,{user}," + new string('S', _rng.Next(1025, 3000)),
                3 => new string('x', _rng.Next(1025, _rng.Next(10) == 0 ? 200_000 : 5000)),
                4 => "#RUN," + new string('r', _rng.Next(1025, 2000)),
                _ => $"[{n}]  DISPLAY_SUMMARY ," + new string(' ', _rng.Next(1010, 1500)) + user,
            };
            var bytes = Encoding.UTF8.GetBytes(text);
            var (predictedN, command) = FromPrefix(bytes);
            if (predictedN is not null && predictedN != n) throw new InvalidOperationException("generator: unexpected N");
            var line = Add(LineKind.Refused, [.. bytes, .. Encoding.ASCII.GetBytes(Chance(50) ? "\n" : "\r\n")], predictedN);
            line.Command = command;
            line.Reason = "line too long (more than 1024 bytes)";
        }

        private void InvalidUtf8()
        {
            var (kind, user, symbol, amount, file) = PlanRequest();
            if (kind == CommandKind.DumpLog) _dumps--;
            var n = ++_nextN;
            var text = Encoding.ASCII.GetBytes(Body(NumberPart(n), kind.Name(), Args(kind, user, symbol, amount, file ?? "f.xml")));
            var at = _rng.Next(0, text.Length + 1);
            byte[] bytes = [.. text[..at], .. Pick(BadUtf8), .. text[at..]];
            var (predictedN, command) = FromPrefix(bytes);
            var line = Add(LineKind.Refused, [.. bytes, .. Encoding.ASCII.GetBytes(Terminator())], predictedN);
            line.Command = command;
            line.Reason = "invalid UTF-8";
            if (predictedN is null) _nextN--; // the node numbers this one; keep ours dense
        }

        /// <summary>
        /// docs/PROTOCOL.md: for an overlong or non-UTF-8 line the edge recovers [N] and the command name from the
        /// line's printable ASCII start (its first 64 bytes) when they are there.
        /// </summary>
        private static (long? N, string Command) FromPrefix(byte[] line)
        {
            var i = 0;
            while (i < Math.Min(line.Length, 64) && line[i] is >= 0x20 and < 0x7F) i++;
            var text = Encoding.ASCII.GetString(line, 0, i).TrimStart(' ');
            long? n = null;
            if (text.StartsWith('['))
            {
                var close = text.IndexOf(']');
                if (close < 0) text = text[1..];
                else
                {
                    var digits = text[1..close].Trim(' ');
                    if (digits.Length is > 0 and <= 18 && digits.All(char.IsAsciiDigit) && long.Parse(digits, CultureInfo.InvariantCulture) > 0)
                        n = long.Parse(digits, CultureInfo.InvariantCulture);
                    text = text[(close + 1)..].TrimStart(' ');
                }
            }
            var comma = text.IndexOf(',');
            var command = comma > 0 && Names.Contains(text[..comma].Trim(' ').ToUpperInvariant()) ? text[..comma].Trim(' ').ToUpperInvariant() : "?";
            return (n, command);
        }
    }

    // ------------------------------------------------------------------------------------------- helpers

    private static string Money(decimal d) => d.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Show(byte[] bytes) => Show(Encoding.UTF8.GetString(bytes));

    /// <summary>A line as C# would write it (control and non-ASCII characters escaped), cut to 240 characters.</summary>
    private static string Show(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s.Length > 240 ? s[..240] : s)
        {
            if (c is >= ' ' and < '\u007f' and not '"' and not '\\') sb.Append(c);
            else sb.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", '"' => "\\\"", '\\' => "\\\\", _ => $"\\u{(int)c:x4}" });
        }
        sb.Append('"');
        if (s.Length > 240) sb.Append(CultureInfo.InvariantCulture, $"… ({s.Length} characters)");
        return sb.ToString();
    }

    private sealed class FrozenClock(DateTimeOffset at) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => at;
    }

    /// <summary>Every mismatch found (the first 40), reported with the seed that reproduces them.</summary>
    private sealed class Problems(int seed)
    {
        private readonly List<string> _items = new();
        private int _count;

        public void Add(string problem)
        {
            lock (_items)
            {
                _count++;
                if (_items.Count < 40) _items.Add(problem);
            }
        }

        public void ThrowIfAny()
        {
            lock (_items)
            {
                if (_count > 0) Assert.Fail($"fuzz seed {seed} (replay: DAYTRADING_FUZZ_SEED={seed}): {_count} problems, the first {_items.Count}:\n" + string.Join("\n", _items));
            }
        }
    }

    /// <summary>A raw socket: bytes out; answers in as lines split on LF only, each strictly UTF-8.</summary>
    private sealed class Connection : IAsyncDisposable
    {
        private readonly Socket _socket;
        private readonly byte[] _buffer = new byte[64 * 1024];
        private readonly List<byte> _pending = new();
        private int _start, _end;
        private static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);

        private Connection(Socket socket) => _socket = socket;

        public static async Task<Connection> Open(int port)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(System.Net.IPAddress.Loopback, port);
            return new Connection(socket);
        }

        public async Task Write(ReadOnlyMemory<byte> bytes)
        {
            while (!bytes.IsEmpty)
            {
                var sent = await _socket.SendAsync(bytes, SocketFlags.None);
                bytes = bytes[sent..];
            }
        }

        public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

        /// <summary>The next answer line, or null at the end of the stream. A line that is not UTF-8 is a failure.</summary>
        public async Task<string?> ReadLine()
        {
            while (true)
            {
                var nl = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (nl >= 0)
                {
                    _pending.AddRange(_buffer.AsSpan(_start, nl - _start));
                    _start = nl + 1;
                    var line = Strict.GetString(_pending.ToArray());
                    _pending.Clear();
                    Assert.DoesNotContain('\r', line);
                    return line;
                }
                _pending.AddRange(_buffer.AsSpan(_start, _end - _start));
                _start = _end = 0;
                var n = await _socket.ReceiveAsync(_buffer.AsMemory(), SocketFlags.None);
                if (n == 0)
                {
                    Assert.True(_pending.Count == 0, $"the stream ended inside an answer: {Strict.GetString(_pending.ToArray())}");
                    return null;
                }
                _end = n;
            }
        }

        public ValueTask DisposeAsync()
        {
            _socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
