using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit;
using DayTrading.Accounts;
using DayTrading.Quotes;
using DayTrading.Serialization;
using Xunit;

namespace DayTrading.Tests.Accounts;

/// <summary>
/// The gateway delivers at least once: a request or an answer lost on the way (a shard moving while a node leaves)
/// is sent again with the same run id and N, and the account applies it once and answers as the first time.
/// </summary>
public sealed class ClusterTradeGatewayTests : TestKit
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Config TestConfig = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.actor.serialize-messages = on
        akka.loglevel = WARNING
        """).WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon));

    public ClusterTradeGatewayTests() : base(TestConfig) { }

    private enum Loss { None, FirstRequest, FirstAnswer, Everything }

    /// <summary>Stands in for the shard region: loses the first copy of each request (or its answer) on the way.</summary>
    private sealed class LossyRegion : ReceiveActor
    {
        public LossyRegion(IActorRef account, Loss loss, List<TradeRequest> copies)
        {
            Receive<GatewayRequest>(g =>
            {
                var r = g.Request;
                int copy;
                lock (copies)
                {
                    copies.Add(r);
                    copy = copies.Count(c => c.RunId == r.RunId && c.TxNum == r.TxNum);
                }
                switch (loss)
                {
                    case Loss.Everything:
                    case Loss.FirstRequest when copy == 1:
                        return;
                    case Loss.FirstAnswer when copy == 1:
                        account.Tell(g, ActorRefs.Nobody); // applied, but the answer never comes back
                        return;
                    default:
                        account.Forward(g);
                        return;
                }
            });
        }
    }

    private (ClusterTradeGateway Gateway, IActorRef Account, List<TradeRequest> Copies) Setup(string user, Loss loss, TimeSpan? timeout = null, TimeSpan? resendAfter = null)
    {
        var settings = new AccountSettings(TimeProvider.System, new NodeQuoteCache(), CreateTestProbe().Ref, "test-node",
            "akka.persistence.journal.inmem", "akka.persistence.snapshot-store.inmem");
        var account = Sys.ActorOf(AccountActor.Props(user, settings));
        var copies = new List<TradeRequest>();
        var region = Sys.ActorOf(Props.Create(() => new LossyRegion(account, loss, copies)));
        var gateway = new ClusterTradeGateway(new GatewaySettings(Sys, region, ActorRefs.Nobody, ActorRefs.Nobody, "test-node", TimeProvider.System, ".")
        {
            Timeout = timeout ?? TimeSpan.FromSeconds(20),
            ResendAfter = resendAfter ?? TimeSpan.FromMilliseconds(300),
        });
        return (gateway, account, copies);
    }

    private static async Task<decimal> Cash(IActorRef account, string user)
    {
        var reply = await account.Ask<TradeReply>(new TradeRequest(999_999, CommandKind.DisplaySummary, user), TimeSpan.FromSeconds(5));
        Assert.True(reply.Ok, reply.Error);
        return AccountSummary.FromJson(reply.Body!)!.Cash;
    }

    [Theory]
    [InlineData("run-1")]
    [InlineData(null)]
    public async Task A_request_whose_answer_is_lost_is_sent_again_and_applied_once(string? runId)
    {
        var (gateway, account, copies) = Setup("u1", Loss.FirstAnswer);

        var reply = await gateway.Execute(new TradeRequest(7, CommandKind.Add, "u1", Amount: 100m, RunId: runId), Ct);

        Assert.True(reply.Ok, reply.Error);
        Assert.Equal(7, reply.TxNum);
        // At least one resend (more on a slow machine), always the same request, applied once.
        Assert.True(copies.Count >= 2, $"{copies.Count} copies");
        Assert.All(copies, c => Assert.Equal(copies[0], c));
        Assert.Equal(100m, await Cash(account, "u1"));
        // With a client run id the copies carry it; without one, a delivery id of the gateway's own that no client
        // run id can be (client run ids are A-Za-z0-9_-).
        if (runId is null) Assert.StartsWith("~", copies[0].RunId);
        else Assert.Equal(runId, copies[0].RunId);
    }

    [Fact]
    public async Task A_lost_request_is_sent_again_and_answered()
    {
        var (gateway, account, copies) = Setup("u2", Loss.FirstRequest);

        var reply = await gateway.Execute(new TradeRequest(1, CommandKind.Add, "u2", Amount: 250.5m, RunId: "run-2"), Ct);

        Assert.True(reply.Ok, reply.Error);
        Assert.True(copies.Count >= 2, $"{copies.Count} copies");
        Assert.Equal(250.5m, await Cash(account, "u2"));
    }

    [Fact]
    public async Task Requests_without_a_run_id_are_never_taken_for_one_another()
    {
        var (gateway, account, copies) = Setup("u3", Loss.None);

        // The same N twice without a run id: two requests (SPEC §4), both applied.
        Assert.True((await gateway.Execute(new TradeRequest(5, CommandKind.Add, "u3", Amount: 100m), Ct)).Ok);
        Assert.True((await gateway.Execute(new TradeRequest(5, CommandKind.Add, "u3", Amount: 100m), Ct)).Ok);

        Assert.Equal(200m, await Cash(account, "u3"));
        // Each got a run id of its own (a slow first answer may have been resent meanwhile: same id, not a third).
        List<string?> ids;
        lock (copies) ids = copies.Select(c => c.RunId).Distinct().ToList();
        Assert.Equal(2, ids.Count);
        Assert.All(ids, id => Assert.False(string.IsNullOrEmpty(id)));
    }

    [Fact]
    public async Task With_no_answer_at_all_the_outcome_is_unknown_after_the_timeout()
    {
        var (gateway, account, copies) = Setup("u4", Loss.Everything, timeout: TimeSpan.FromSeconds(1.5));

        var reply = await gateway.Execute(new TradeRequest(3, CommandKind.Add, "u4", Amount: 10m, RunId: "run-4"), Ct);

        Assert.False(reply.Ok);
        Assert.Contains("outcome is unknown", reply.Error);
        Assert.Contains("retry with the same run id", reply.Error);
        // Sent about every 300 ms until the 1.5 s were up, always the same request.
        Assert.InRange(copies.Count, 2, 6);
        Assert.All(copies, c => Assert.Equal(copies[0], c));
        var books = await account.Ask<AccountSummaryReply>(new GetAccountSummary("u4"), TimeSpan.FromSeconds(5), Ct);
        Assert.False(books.Exists); // nothing was applied
    }
}
