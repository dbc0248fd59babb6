using System.Net.Sockets;
using System.Text;
using DayTrading.Host;
using DayTrading.Quotes;
using DayTrading.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DayTrading.Tests.Edge;

/// <summary>
/// A slow quote delays only the request that waits for it (and that user's later requests), never other users'
/// answers on the same connection: a whole node, its TCP edge and a quote server that holds one symbol.
/// </summary>
public sealed class SlowQuoteTests
{
    /// <summary>Answers every symbol at once but <see cref="HeldSymbol"/>, which waits for <see cref="Release"/>.</summary>
    private sealed class HoldingQuotes(TimeProvider clock) : IQuoteSource
    {
        public const string HeldSymbol = "X";
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly TaskCompletionSource Asked = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release.TrySetResult();

        public async Task<Quote> FetchAsync(string symbol, string userId, CancellationToken cancellationToken = default)
        {
            if (symbol == HeldSymbol)
            {
                Asked.TrySetResult();
                await _release.Task.WaitAsync(cancellationToken);
            }
            return new Quote(symbol, 10m, userId, clock.GetUtcNow().ToUnixTimeMilliseconds(), "key-" + symbol);
        }
    }

    [Fact]
    public async Task Other_users_are_answered_on_the_same_connection_while_one_waits_for_its_quote()
    {
        var quotes = new HoldingQuotes(TimeProvider.System);
        await using var node = new InProcessNode(quotes: quotes);
        await node.StartAsync(TestContext.Current.CancellationToken);
        using (var edge = await node.ConnectAsync(TestContext.Current.CancellationToken))
        {
            Task<string> Line() => edge.ReadLineAsync();
            Task Send(string text) => edge.SendAsync(text);

            await Send("#RUN,slow-quote\n[1] ADD,alice,1000\n[2] ADD,bob,1000\n");
            Assert.Equal("# OK RUN slow-quote", await Line());
            Assert.Equal(["[1] OK ADD", "[2] OK ADD"], new[] { await Line(), await Line() }.Order());

            // alice's quote is held; bob's requests behind it on the same connection go on.
            await Send("[3] QUOTE,alice,X\n[4] QUOTE,bob,S\n[5] BUY,bob,S,100\n[6] COMMIT_BUY,bob\n[7] DISPLAY_SUMMARY,alice\n[8] DISPLAY_SUMMARY,bob\n");
            await quotes.Asked.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.StartsWith("[4] OK QUOTE 10.00,S,bob,", await Line());
            Assert.StartsWith("[5] OK BUY 10,S,10.00,100.00,", await Line());
            Assert.Equal("[6] OK COMMIT_BUY", await Line());
            Assert.StartsWith("[8] OK DISPLAY_SUMMARY {\"user\":\"bob\",\"cash\":900", await Line());

            // alice's summary waits behind her quote (per-user order), then both come.
            quotes.Release();
            Assert.StartsWith("[3] OK QUOTE 10.00,X,alice,", await Line());
            Assert.StartsWith("[7] OK DISPLAY_SUMMARY {\"user\":\"alice\",\"cash\":1000", await Line());
        }
    }
}
