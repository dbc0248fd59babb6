using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Quotes;
using Xunit;
using static DayTrading.Tests.Audit.SyntheticLog;

namespace DayTrading.Tests.Audit;

/// <summary>Every journal event and book change, mapped to its audit entries (SPEC §5, docs/AUDIT.md).</summary>
public sealed class AuditProjectionTests
{
    private const string Pid = "account-alice";

    private static IReadOnlyList<AuditEntry> P(object e, string pid = Pid) => AuditProjection.Project(pid, e);

    private static AuditEntry Uc(long tx, CommandKind kind, string? sym = null, decimal? funds = null, string? file = null) =>
        AuditEntry.UserCommand(T0 + tx, Server, tx, kind.Name(), "alice", sym, file, funds);

    private static AuditEntry Add(long tx, decimal funds, string action = "add", long? ts = null) =>
        AuditEntry.Account(ts ?? T0 + tx, Server, tx, action, "alice", funds);

    public static TheoryData<CommandKind, string?, decimal, AccountChange[], decimal?, string?> MoneyNeutralCommands => new()
    {
        { CommandKind.Quote, "ABC", 0m, [], null, null },
        { CommandKind.Buy, "ABC", 100m, [new BuyReserved(1, "ABC", 9, 11m, T0, T0 + 60_000)], 100m, null },
        { CommandKind.CancelBuy, null, 0m, [new BuyReleased(1, "ABC", 99m, ReleaseReason.Cancelled, 3)], null, null },
        { CommandKind.Sell, "ABC", 50m, [new SellReserved(2, "ABC", 4, 12m, T0, T0 + 60_000)], 50m, null },
        { CommandKind.CancelSell, null, 0m, [new SellReleased(2, "ABC", 4, ReleaseReason.Cancelled, 5)], null, null },
        { CommandKind.SetBuyAmount, "ABC", 200m, [new BuyAmountSet("ABC", 200m, 200m)], 200m, null },
        { CommandKind.SetBuyAmount, "ABC", 50m, [new BuyAmountSet("ABC", 50m, -150m)], 50m, null },
        { CommandKind.SetBuyTrigger, "ABC", 9.5m, [new BuyTriggerSet("ABC", 9.5m)], 9.5m, null },
        { CommandKind.CancelSetBuy, "ABC", 0m, [new BuyTriggerCancelled("ABC", 200m)], null, null },
        { CommandKind.SetSellAmount, "ABC", 80m, [new SellAmountSet("ABC", 80m, 0)], 80m, null },
        { CommandKind.SetSellTrigger, "ABC", 20m, [new SellTriggerSet("ABC", 20m, 4)], 20m, null },
        { CommandKind.CancelSetSell, "ABC", 0m, [new SellTriggerCancelled("ABC", 4)], null, null },
        { CommandKind.DisplaySummary, null, 0m, [], null, null },
        { CommandKind.DumpLog, null, 0m, [], null, "./aliceLOG" },
    };

    [Theory]
    [MemberData(nameof(MoneyNeutralCommands))]
    public void Commands_that_only_move_money_between_cash_and_reserve_give_one_userCommand(
        CommandKind kind, string? sym, decimal amount, AccountChange[] changes, decimal? funds, string? file)
    {
        var entries = P(Cmd(7, kind, sym, amount, file, null, changes));
        Assert.Equal([Uc(7, kind, sym, funds, file)], entries);
    }

    [Fact]
    public void ADD_is_a_userCommand_and_an_add()
    {
        Assert.Equal([Uc(1, CommandKind.Add, funds: 100.5m), Add(1, 100.5m)],
            P(Cmd(1, CommandKind.Add, amount: 100.5m, changes: new CashAdded(100.5m))));
    }

    [Fact]
    public void COMMIT_BUY_removes_the_cost_and_COMMIT_SELL_adds_the_proceeds()
    {
        Assert.Equal([Uc(4, CommandKind.CommitBuy), Add(4, 98.72m, "remove")],
            P(Cmd(4, CommandKind.CommitBuy, changes: new BuyCommitted(1, "ABC", 8, 98.72m))));
        Assert.Equal([Uc(6, CommandKind.CommitSell), Add(6, 36.00m)],
            P(Cmd(6, CommandKind.CommitSell, changes: new SellCommitted(2, "ABC", 3, 36.00m))));
    }

    [Fact]
    public void A_failed_command_is_a_userCommand_and_an_errorEvent_with_the_same_fields()
    {
        var entries = P(Cmd(9, CommandKind.Buy, "ABC", 100m, error: "insufficient funds"));
        Assert.Equal(2, entries.Count);
        Assert.Equal(Uc(9, CommandKind.Buy, "ABC", 100m), entries[0]);
        Assert.Equal(entries[0] with { Kind = AuditEntryKind.ErrorEvent, ErrorMessage = "insufficient funds" }, entries[1]);
    }

    [Fact]
    public void A_symbol_the_schema_cannot_hold_is_left_out_and_named_in_the_error()
    {
        var entries = P(Cmd(9, CommandKind.Buy, "ABCD", 10m, error: "unknown user 'alice'"));
        Assert.All(entries, e => Assert.Null(e.Symbol));
        Assert.Contains("'ABCD'", entries[1].ErrorMessage);
        Assert.Contains("unknown user", entries[1].ErrorMessage);
    }

    [Fact]
    public void Expiry_is_a_systemEvent_per_released_order_under_its_BUY_or_SELL()
    {
        var e = new ReservationsExpired(T0 + 60_000, Server,
            [new BuyReleased(1, "ABC", 99m, ReleaseReason.Expired, 3), new SellReleased(2, "XY", 4, ReleaseReason.Expired, 5)]);
        Assert.Equal(
        [
            AuditEntry.System(T0 + 60_000, Server, 3, "BUY", "alice", "ABC", 99m),
            AuditEntry.System(T0 + 60_000, Server, 5, "SELL", "alice", "XY", null),
        ], P(e));
        Assert.DoesNotContain(P(e), x => x.Kind == AuditEntryKind.AccountTransaction);
    }

    [Fact]
    public void Buy_trigger_fire_is_a_systemEvent_under_the_arming_tx_and_a_remove_of_the_cost()
    {
        var e = new TriggerExecuted(T0 + 5, Server, 21, new QuoteUsed("ABC", 9.99m, T0, "k"), new BuyTriggerFired("ABC", 9.99m, 10, 99.90m, 0.10m));
        Assert.Equal(
        [
            AuditEntry.System(T0 + 5, Server, 21, "SET_BUY_TRIGGER", "alice", "ABC", 99.90m),
            Add(21, 99.90m, "remove", T0 + 5),
        ], P(e));
    }

    [Fact]
    public void Sell_trigger_fire_is_a_systemEvent_under_the_arming_tx_and_an_add_of_the_proceeds()
    {
        var e = new TriggerExecuted(T0 + 5, Server, 27, new QuoteUsed("ABC", 11m, T0, "k"), new SellTriggerFired("ABC", 11m, 5, 55m));
        Assert.Equal(
        [
            AuditEntry.System(T0 + 5, Server, 27, "SET_SELL_TRIGGER", "alice", "ABC", 55m),
            Add(27, 55m, "add", T0 + 5),
        ], P(e));
    }

    [Fact]
    public void A_trigger_fire_that_bought_nothing_moves_no_money()
    {
        var e = new TriggerExecuted(T0, Server, 21, new QuoteUsed("ABC", 50m, T0, "k"), new BuyTriggerFired("ABC", 50m, 0, 0m, 20m));
        Assert.Equal([AuditEntry.System(T0, Server, 21, "SET_BUY_TRIGGER", "alice", "ABC", 0m)], P(e));
    }

    [Fact]
    public void A_quote_server_hit_is_a_quoteServer_entry()
    {
        var e = new QuoteFetched(T0 + 10, "node2", 4, new Quote("ABC", 10.10m, "bob", T0 + 3, "Xk="));
        Assert.Equal([AuditEntry.QuoteHit(T0 + 10, "node2", 4, 10.10m, "ABC", "bob", T0 + 3, "Xk=")], P(e, "quote-manager"));
    }

    [Fact]
    public void A_quote_hit_without_a_transaction_number_is_logged_under_the_fallback()
    {
        var e = new QuoteFetched(T0, Server, 0, new Quote("ABC", 1m, "bob", T0, "k"));
        Assert.Equal(AuditProjection.TxNumFallback, Assert.Single(P(e, "quote-manager")).TxNum);
    }

    [Fact]
    public void A_rejected_line_with_a_known_command_is_a_userCommand_and_an_errorEvent()
    {
        var e = new RequestRejected(T0, Server, 90, null, "buy", "bob", "AB", 12.345m, null, "'12.345' has more than two decimals");
        Assert.Equal(
        [
            AuditEntry.UserCommand(T0, Server, 90, "BUY", "bob", "AB", null, 12.345m),
            AuditEntry.Error(T0, Server, 90, "BUY", "bob", "AB", null, 12.345m, "'12.345' has more than two decimals"),
        ], P(e, "audit-node1"));
    }

    [Fact]
    public void A_rejected_line_with_an_unknown_command_is_one_errorEvent_under_the_fallback_naming_it()
    {
        var e = new RequestRejected(T0, Server, 91, null, "FOO", "bob", null, null, null, "unknown command");
        var entry = Assert.Single(P(e, "audit-node1"));
        Assert.Equal(AuditEntryKind.ErrorEvent, entry.Kind);
        Assert.Equal(AuditProjection.UnknownCommandFallback, entry.Command);
        Assert.Equal("unknown command 'FOO': unknown command", entry.ErrorMessage);
        Assert.Equal("bob", entry.Username);

        var unreadable = Assert.Single(P(new RequestRejected(T0, Server, 0, null, null, null, null, null, null, "invalid UTF-8"), "audit-node1"));
        Assert.Equal(("invalid UTF-8", 1L, (string?)null), (unreadable.ErrorMessage, unreadable.TxNum, unreadable.Username));
    }

    [Fact]
    public void Admin_DUMPLOG_is_a_userCommand_without_user_and_an_errorEvent_when_refused()
    {
        Assert.Equal([AuditEntry.UserCommand(T0, Server, 5, "DUMPLOG", null, null, "./testLOG", null)],
            P(new AdminDumpRequested(T0, Server, 5, null, "./testLOG", null), "audit-node1"));
        Assert.Equal(
        [
            AuditEntry.UserCommand(T0, Server, 6, "DUMPLOG", null, null, "../x", null),
            AuditEntry.Error(T0, Server, 6, "DUMPLOG", null, null, "../x", null, "escapes"),
        ], P(new AdminDumpRequested(T0, Server, 6, null, "../x", "escapes"), "audit-node1"));
    }

    [Fact]
    public void A_failed_DUMPLOG_is_one_errorEvent_with_its_user_and_file()
    {
        Assert.Equal([AuditEntry.Error(T0, Server, 7, "DUMPLOG", "alice", null, "a.xml", null, "writing the dump failed")],
            P(new DumpFailed(T0, Server, 7, "run", "alice", "a.xml", "writing the dump failed"), "audit-node1"));
        Assert.Equal([AuditEntry.Error(T0, Server, 8, "DUMPLOG", null, null, "all.xml", null, "no answer")],
            P(new DumpFailed(T0, Server, 8, null, null, "all.xml", "no answer"), "audit-node1"));
    }

    [Fact]
    public void Events_that_are_not_audited_give_nothing()
    {
        Assert.Empty(P("a sharding coordinator event", "/system/sharding/x"));
        Assert.Empty(P(null!, "x"));
    }

    [Fact]
    public void Users_come_from_account_persistence_ids()
    {
        Assert.Equal("alice", AuditProjection.UserOf("account-alice"));
        Assert.True(AuditProjection.IsOtherAccount("account-bob", "alice"));
        Assert.True(AuditProjection.IsOtherAccount("account-alice2", "alice"));
        Assert.False(AuditProjection.IsOtherAccount("account-alice", "alice"));
        Assert.False(AuditProjection.IsOtherAccount("quote-manager", "alice"));
    }

    [Theory]
    [InlineData("1", "1.00")]
    [InlineData("1234.5", "1234.50")]
    [InlineData("0.01", "0.01")]
    [InlineData("12.345", "12.345")]
    [InlineData("-5", "-5.00")]
    public void Funds_have_two_decimals_unless_a_refused_amount_had_more(string value, string expected)
    {
        Assert.Equal(expected, AuditXmlWriter.FormatFunds(decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Text_XML_cannot_carry_is_replaced()
    {
        Assert.Equal("a\uFFFDb\uFFFD😀", AuditXmlWriter.XmlSafe("a\u0001b\ud800😀"));
        const string fine = "plain <&> text";
        Assert.Same(fine, AuditXmlWriter.XmlSafe(fine));
    }
}
