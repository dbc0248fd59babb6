using System.Net.Sockets;
using System.Text;
using Akka.Configuration;
using DayTrading.Accounts;
using DayTrading.Edge;
using DayTrading.Quotes;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Edge;

/// <summary>
/// docs/PROTOCOL.md's *Example*, run as written: its request lines go to a real TCP edge whose accounts are the real
/// domain (AccountDomain, AccountSummary), and every answer it shows must be what comes back. So the example cannot
/// drift from what the node sends (it once showed the summary's cash as a JSON string; the node writes a number).
/// </summary>
public sealed class ProtocolDocExampleTests : Akka.TestKit.Xunit.TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    // The legacy quote server's answer the example shows: `12.34,S,oY01WVirLr,1700000000000,Hk3v9Q==`.
    private const decimal ExamplePrice = 12.34m;
    private const long ExampleQuoteTimeMs = 1_700_000_000_000;
    private const string ExampleCryptoKey = "Hk3v9Q==";

    // The example's accounts, the real domain's state.
    private readonly Dictionary<string, AccountState> _accounts = new();

    public ProtocolDocExampleTests(ITestOutputHelper output)
        : base(ConfigurationFactory.ParseString("akka.loglevel = INFO"), output: output)
    {
    }

    [Fact]
    public async Task The_documented_example_is_what_the_edge_answers()
    {
        var exchanges = Exchanges(ExampleBlock());
        Assert.True(exchanges.Count >= 3, "the example block was not found or has no request/answer pairs");

        // The example's line without [N] is answered under an assigned number: start the edge's counter just below it.
        var requested = exchanges.SelectMany(x => x.Requests).Select(TxNumOf).Where(n => n is not null).ToHashSet();
        var assigned = exchanges.SelectMany(x => x.Answers).Select(TxNumOf).Where(n => n is not null && !requested.Contains(n)).ToList();
        Assert.Single(assigned);

        var gateway = new FakeGateway { Handler = (r, _) => Task.FromResult(RealAccounts(r)) };
        var edge = await TcpEdge.StartAsync(Sys, gateway, new TcpEdgeOptions { TxNumbers = new TxNumberGenerator(assigned[0]!.Value - 1) });
        try
        {
            using var tcp = new TcpClient { NoDelay = true };
            await tcp.ConnectAsync("127.0.0.1", edge.LocalEndPoint.Port, TestContext.Current.CancellationToken);
            using var reader = new StreamReader(tcp.GetStream(), new UTF8Encoding(false));
            foreach (var (requests, answers) in exchanges)
            {
                await tcp.GetStream().WriteAsync(Encoding.UTF8.GetBytes(string.Concat(requests.Select(r => r + "\n"))), TestContext.Current.CancellationToken);
                // Answers leave as each request is done (the example says so): compare them as a set.
                var got = new List<string>();
                for (var i = 0; i < answers.Count; i++) got.Add((await reader.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Wait, TestContext.Current.CancellationToken))!);
                foreach (var documented in answers)
                {
                    var match = got.FirstOrDefault(a => Matches(documented, a));
                    Assert.True(match is not null, $"docs/PROTOCOL.md shows\n  {documented}\nbut the edge answered\n  {string.Join("\n  ", got)}");
                    got.Remove(match);
                }
            }
        }
        finally
        {
            await edge.UnbindAsync();
        }
    }

    [Fact]
    public void A_documented_answer_with_an_ellipsis_matches_only_what_its_parts_say()
    {
        Assert.True(Matches("[1] OK DISPLAY_SUMMARY {\"cash\":63511.53,…}", "[1] OK DISPLAY_SUMMARY {\"cash\":63511.53,\"x\":[]}"));
        Assert.False(Matches("[1] OK DISPLAY_SUMMARY {\"cash\":63511.53,…}", "[1] OK DISPLAY_SUMMARY {\"cash\":\"63511.53\",\"x\":[]}"));
        Assert.False(Matches("[1] OK ADD", "[1] OK ADD x"));
    }

    /// <summary>What an account answers (AccountActor without the persistence): decide, apply, reply.</summary>
    private TradeReply RealAccounts(TradeRequest r)
    {
        lock (_accounts)
        {
            var nowMs = ExampleQuoteTimeMs + 1_000;
            if (!_accounts.TryGetValue(r.UserId!, out var state)) _accounts[r.UserId!] = state = new AccountState(r.UserId!);
            var quote = AccountDomain.NeedsQuote(r.Kind) ? new Quote(r.Symbol!, ExamplePrice, r.UserId!, ExampleQuoteTimeMs, ExampleCryptoKey) : null;
            var handled = AccountDomain.Decide(state, r, quote, nowMs, "node1");
            AccountDomain.Apply(state, handled);
            return handled.Ok
                ? AccountReplies.Success(r, state, handled.Quote, AccountReplies.SharesOf(handled), nowMs)
                : TradeReply.Failure(r, handled.Reason, handled.Error!);
        }
    }

    /// <summary>The first code block after the *Example* heading of docs/PROTOCOL.md.</summary>
    private static string[] ExampleBlock()
    {
        var doc = File.ReadAllLines(Path.Combine(SharedData.RepoRoot ?? throw new InvalidOperationException("DayTrading.sln not found"), "docs", "PROTOCOL.md"));
        var heading = Array.IndexOf(doc, "## Example");
        Assert.True(heading >= 0, "docs/PROTOCOL.md has no '## Example' section");
        var open = Array.FindIndex(doc, heading, l => l.StartsWith("```", StringComparison.Ordinal));
        var close = Array.FindIndex(doc, open + 1, l => l.StartsWith("```", StringComparison.Ordinal));
        return doc[(open + 1)..close];
    }

    /// <summary>The block as runs of request lines (→) each followed by the answers (←) shown for them.</summary>
    private static List<(List<string> Requests, List<string> Answers)> Exchanges(string[] block)
    {
        var exchanges = new List<(List<string> Requests, List<string> Answers)>();
        foreach (var line in block)
        {
            if (line.StartsWith("→ ", StringComparison.Ordinal))
            {
                if (exchanges.Count == 0 || exchanges[^1].Answers.Count > 0) exchanges.Add(([], []));
                exchanges[^1].Requests.Add(line[2..]);
            }
            else if (line.StartsWith("← ", StringComparison.Ordinal) && exchanges.Count > 0)
            {
                exchanges[^1].Answers.Add(line[2..]);
            }
        }
        return exchanges;
    }

    private static long? TxNumOf(string line) =>
        line.StartsWith('[') && line.IndexOf(']') is > 1 and var end && long.TryParse(line.AsSpan(1, end - 1), out var n) ? n : null;

    /// <summary>
    /// An answer as the doc shows it against the real one: equal, or, where the doc cut it short with "…", the real
    /// one has each shown part in order (the first at its start, the last at its end).
    /// </summary>
    private static bool Matches(string documented, string actual)
    {
        var parts = documented.Split('…');
        if (parts.Length == 1) return documented == actual;
        if (!actual.StartsWith(parts[0], StringComparison.Ordinal) || !actual.EndsWith(parts[^1], StringComparison.Ordinal)) return false;
        var at = parts[0].Length;
        foreach (var middle in parts[1..^1])
        {
            var found = actual.IndexOf(middle, at, StringComparison.Ordinal);
            if (found < 0) return false;
            at = found + middle.Length;
        }
        return at <= actual.Length - parts[^1].Length;
    }
}
