using DayTrading.Accounts;
using DayTrading.Quotes;
using Xunit;

namespace DayTrading.Tests.Accounts;

/// <summary>The rules of SPEC §1–2 on the pure domain: every command's success and error paths.</summary>
public sealed class AccountDomainTests
{
    private const string User = "alice";
    private const long T0 = 1_700_000_000_000;

    private static Quote Q(string sym, decimal price, long ts = T0) => new(sym, price, User, ts, "key" + sym);

    /// <summary>A book and a clock; <see cref="Send"/> decides and applies exactly as the actor does.</summary>
    private sealed class Book
    {
        public AccountState State { get; } = new(User);
        public long Now = T0;
        private long _tx;

        public CommandHandled Send(CommandKind kind, string? sym = null, decimal amount = 0, Quote? quote = null, string? runId = null)
        {
            var expired = AccountDomain.Expire(State, Now, "test");
            if (expired is not null) AccountDomain.Apply(State, expired);
            var request = new TradeRequest(++_tx, kind, User, sym, amount, null, runId);
            var e = AccountDomain.Decide(State, request, quote, Now, "test");
            AccountDomain.Apply(State, e);
            Invariants.Check(State);
            return e;
        }

        public CommandHandled Ok(CommandKind kind, string? sym = null, decimal amount = 0, Quote? quote = null)
        {
            var e = Send(kind, sym, amount, quote);
            Assert.True(e.Ok, $"{kind} failed: {e.Error}");
            return e;
        }

        /// <summary>Asserts the command fails with a reason containing <paramref name="reason"/> and changes nothing.</summary>
        public void Fails(string reason, CommandKind kind, string? sym = null, decimal amount = 0, Quote? quote = null)
        {
            var expired = AccountDomain.Expire(State, Now, "test");
            if (expired is not null) AccountDomain.Apply(State, expired);
            var before = BooksCopy.Fingerprint(State);
            var e = Send(kind, sym, amount, quote);
            Assert.False(e.Ok, $"{kind} should have failed with '{reason}'");
            Assert.Contains(reason, e.Error, StringComparison.OrdinalIgnoreCase);
            Assert.Empty(e.Changes);
            Assert.Equal(before, BooksCopy.Fingerprint(State));
        }
    }

    private static Book Funded(decimal cash)
    {
        var b = new Book();
        b.Ok(CommandKind.Add, amount: cash);
        return b;
    }

    private static Book Holding(string sym, decimal price, decimal dollars, decimal extraCash = 0)
    {
        var b = Funded(dollars + extraCash);
        b.Ok(CommandKind.Buy, sym, dollars, Q(sym, price));
        b.Ok(CommandKind.CommitBuy);
        return b;
    }

    // ------------------------------------------------------------------ unknown users and ADD

    public static TheoryData<CommandKind, string?, decimal> NonAddCommands => new()
    {
        { CommandKind.Quote, "ABC", 0 }, { CommandKind.Buy, "ABC", 10 }, { CommandKind.CommitBuy, null, 0 },
        { CommandKind.CancelBuy, null, 0 }, { CommandKind.Sell, "ABC", 10 }, { CommandKind.CommitSell, null, 0 },
        { CommandKind.CancelSell, null, 0 }, { CommandKind.SetBuyAmount, "ABC", 10 }, { CommandKind.SetBuyTrigger, "ABC", 10 },
        { CommandKind.CancelSetBuy, "ABC", 0 }, { CommandKind.SetSellAmount, "ABC", 10 }, { CommandKind.SetSellTrigger, "ABC", 10 },
        { CommandKind.CancelSetSell, "ABC", 0 }, { CommandKind.DisplaySummary, null, 0 }, { CommandKind.DumpLog, null, 0 },
    };

    [Theory]
    [MemberData(nameof(NonAddCommands))]
    public void Any_command_but_ADD_for_an_unknown_user_is_an_error(CommandKind kind, string? sym, decimal amount)
    {
        var b = new Book();
        b.Fails("unknown user", kind, sym, amount, sym is null ? null : Q(sym, 10m));
        Assert.False(b.State.Exists);
    }

    [Fact]
    public void ADD_creates_the_account_and_adds_cash()
    {
        var b = new Book();
        var e = b.Ok(CommandKind.Add, amount: 100.50m);
        Assert.Equal([new CashAdded(100.50m)], e.Changes);
        Assert.True(b.State.Exists);
        b.Ok(CommandKind.Add, amount: 0.01m);
        Assert.Equal(100.51m, b.State.Cash);
        Assert.Equal(2, b.State.HistoryTotal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(12.345)]
    [InlineData(1_000_000_000.01)]
    public void Bad_amounts_are_errors_that_change_nothing(decimal amount)
    {
        var b = Funded(100);
        b.Fails("amount", CommandKind.Add, amount: amount);
        b.Fails("amount", CommandKind.Buy, "ABC", amount, Q("ABC", 1));
        b.Fails("amount", CommandKind.SetBuyAmount, "ABC", amount);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("ABCD")]
    [InlineData("")]
    [InlineData("A1")]
    public void Bad_symbols_are_errors(string sym)
    {
        var b = Funded(100);
        b.Fails("symbol", CommandKind.SetBuyAmount, sym, 10);
        b.Fails("symbol", CommandKind.Quote, sym, 0, Q(sym, 1));
    }

    // ------------------------------------------------------------------ QUOTE

    [Fact]
    public void QUOTE_uses_the_quote_and_changes_nothing()
    {
        var b = Funded(100);
        var e = b.Ok(CommandKind.Quote, "ABC", quote: Q("ABC", 12.34m));
        Assert.Empty(e.Changes);
        Assert.Equal(12.34m, e.Quote!.Price);
        var reply = AccountReplies.Success(new TradeRequest(9, CommandKind.Quote, User, "ABC"), b.State, e.Quote, 0, T0);
        Assert.Equal((true, RefusalReason.None, new QuoteUsed("ABC", 12.34m, T0, "keyABC"), null), (reply.Ok, reply.Reason, reply.Quote, reply.Body));
    }

    [Fact]
    public void Commands_needing_a_quote_fail_without_one_or_with_an_expired_one()
    {
        var b = Funded(100);
        b.Fails("no quote", CommandKind.Quote, "ABC");
        b.Fails("no quote", CommandKind.Buy, "ABC", 10, null);
        b.Now = T0 + 60_000;
        b.Fails("expired", CommandKind.Buy, "ABC", 10, Q("ABC", 1));
        b.Fails("not ABC", CommandKind.Quote, "ABC", 0, Q("XYZ", 1));
    }

    // ------------------------------------------------------------------ BUY / COMMIT_BUY / CANCEL_BUY

    [Fact]
    public void BUY_reserves_floor_shares_times_price()
    {
        var b = Funded(1000);
        var e = b.Ok(CommandKind.Buy, "ABC", 100m, Q("ABC", 30m));
        var reserved = Assert.IsType<BuyReserved>(Assert.Single(e.Changes));
        Assert.Equal(3, reserved.Shares);
        Assert.Equal(90m, reserved.Cost);
        Assert.Equal(T0 + 60_000, reserved.ExpiresMs);
        Assert.Equal(910m, b.State.Cash);
        Assert.Equal(90m, b.State.ReservedCash);
    }

    [Fact]
    public void BUY_errors_insufficient_cash_and_zero_shares()
    {
        var b = Funded(50);
        b.Fails("insufficient funds", CommandKind.Buy, "ABC", 100m, Q("ABC", 30m));
        b.Fails("buys no share", CommandKind.Buy, "ABC", 20m, Q("ABC", 30m));
    }

    [Fact]
    public void BUY_cost_not_dollars_is_checked_against_cash()
    {
        var b = Funded(90);
        b.Ok(CommandKind.Buy, "ABC", 100m, Q("ABC", 30m)); // 3 shares cost 90 ≤ 90 cash
        Assert.Equal(0m, b.State.Cash);
    }

    [Fact]
    public void COMMIT_BUY_and_CANCEL_BUY_take_the_newest_pending_buy()
    {
        var b = Funded(1000);
        b.Ok(CommandKind.Buy, "AAA", 100m, Q("AAA", 10m));
        b.Ok(CommandKind.Buy, "BBB", 100m, Q("BBB", 20m));
        b.Ok(CommandKind.Buy, "CCC", 100m, Q("CCC", 50m));
        var c = Assert.IsType<BuyCommitted>(Assert.Single(b.Ok(CommandKind.CommitBuy).Changes));
        Assert.Equal("CCC", c.Symbol);
        var x = Assert.IsType<BuyReleased>(Assert.Single(b.Ok(CommandKind.CancelBuy).Changes));
        Assert.Equal("BBB", x.Symbol);
        Assert.Equal(ReleaseReason.Cancelled, x.Reason);
        Assert.Equal("AAA", Assert.IsType<BuyCommitted>(Assert.Single(b.Ok(CommandKind.CommitBuy).Changes)).Symbol);
        Assert.Equal(new Holding(2, 0) { Cost = 100m }, b.State.HoldingOf("CCC"));
        Assert.Equal(new Holding(10, 0) { Cost = 100m }, b.State.HoldingOf("AAA"));
        Assert.Equal(1000m - 100m - 100m, b.State.Cash);
        Assert.Equal(0m, b.State.ReservedCash);
        b.Fails("no pending buy", CommandKind.CommitBuy);
        b.Fails("no pending buy", CommandKind.CancelBuy);
    }

    [Fact]
    public void Pending_buys_expire_after_60_seconds_and_return_their_cash()
    {
        var b = Funded(1000);
        b.Ok(CommandKind.Buy, "ABC", 100m, Q("ABC", 10m));
        b.Now = T0 + 59_999;
        Assert.Null(AccountDomain.Expire(b.State, b.Now, "t"));
        b.Now = T0 + 60_000;
        var expired = AccountDomain.Expire(b.State, b.Now, "t");
        var released = Assert.IsType<BuyReleased>(Assert.Single(expired!.Changes));
        Assert.Equal(ReleaseReason.Expired, released.Reason);
        b.Fails("no pending buy", CommandKind.CommitBuy); // Send applies the expiry first
        Assert.Equal(1000m, b.State.Cash);
        Assert.Equal(0m, b.State.ReservedCash);
    }

    [Fact]
    public void Commit_takes_the_newest_unexpired_buy_when_older_ones_expired()
    {
        var b = Funded(1000);
        b.Ok(CommandKind.Buy, "OLD", 100m, Q("OLD", 10m));
        b.Now = T0 + 30_000;
        b.Ok(CommandKind.Buy, "NEW", 100m, Q("NEW", 10m, b.Now));
        b.Now = T0 + 60_000; // OLD expires, NEW has 30 s left
        Assert.Equal("NEW", Assert.IsType<BuyCommitted>(Assert.Single(b.Ok(CommandKind.CommitBuy).Changes)).Symbol);
        Assert.Equal(900m, b.State.Cash);
    }

    // ------------------------------------------------------------------ SELL / COMMIT_SELL / CANCEL_SELL

    [Fact]
    public void SELL_reserves_shares_and_COMMIT_SELL_credits_the_proceeds()
    {
        var b = Holding("ABC", 10m, 100m); // 10 shares
        var e = b.Ok(CommandKind.Sell, "ABC", 45m, Q("ABC", 11m));
        Assert.Equal(4, Assert.IsType<SellReserved>(Assert.Single(e.Changes)).Shares);
        Assert.Equal(new Holding(6, 4) { Cost = 100m }, b.State.HoldingOf("ABC"));
        b.Ok(CommandKind.CommitSell);
        Assert.Equal(new Holding(6, 0) { Cost = 60m }, b.State.HoldingOf("ABC"));
        Assert.Equal(44m, b.State.Cash);
    }

    [Fact]
    public void SELL_errors_insufficient_shares_and_zero_shares()
    {
        var b = Holding("ABC", 10m, 100m);
        b.Fails("insufficient shares", CommandKind.Sell, "ABC", 1000m, Q("ABC", 10m));
        b.Fails("less than one share", CommandKind.Sell, "ABC", 5m, Q("ABC", 10m));
        b.Fails("insufficient shares", CommandKind.Sell, "XYZ", 50m, Q("XYZ", 10m));
    }

    [Fact]
    public void CANCEL_SELL_returns_the_newest_reservation_and_errors_when_none()
    {
        var b = Holding("ABC", 10m, 100m);
        b.Ok(CommandKind.Sell, "ABC", 20m, Q("ABC", 10m));
        b.Ok(CommandKind.Sell, "ABC", 30m, Q("ABC", 10m));
        var x = Assert.IsType<SellReleased>(Assert.Single(b.Ok(CommandKind.CancelSell).Changes));
        Assert.Equal(3, x.Shares);
        Assert.Equal(new Holding(8, 2) { Cost = 100m }, b.State.HoldingOf("ABC"));
        b.Ok(CommandKind.CancelSell);
        b.Fails("no pending sell", CommandKind.CancelSell);
        b.Fails("no pending sell", CommandKind.CommitSell);
        Assert.Equal(new Holding(10, 0) { Cost = 100m }, b.State.HoldingOf("ABC"));
    }

    [Fact]
    public void Pending_sells_expire_and_return_shares()
    {
        var b = Holding("ABC", 10m, 100m);
        b.Ok(CommandKind.Sell, "ABC", 50m, Q("ABC", 10m));
        b.Now = T0 + 60_000;
        b.Fails("no pending sell", CommandKind.CommitSell);
        Assert.Equal(new Holding(10, 0) { Cost = 100m }, b.State.HoldingOf("ABC"));
    }

    // ------------------------------------------------------------------ buy reserve and trigger

    [Fact]
    public void SET_BUY_AMOUNT_moves_cash_into_the_reserve_and_resizes_it()
    {
        var b = Funded(1000);
        b.Ok(CommandKind.SetBuyAmount, "ABC", 300m);
        Assert.Equal(700m, b.State.Cash);
        Assert.Equal(300m, b.State.ReservedCash);
        b.Ok(CommandKind.SetBuyAmount, "ABC", 100m);
        Assert.Equal(900m, b.State.Cash);
        Assert.Equal(100m, b.State.ReservedCash);
        b.Fails("insufficient funds", CommandKind.SetBuyAmount, "ABC", 1000.01m);
        b.Ok(CommandKind.SetBuyAmount, "ABC", 1000m);
        Assert.Equal(0m, b.State.Cash);
    }

    [Fact]
    public void SET_BUY_TRIGGER_needs_an_amount_and_arms_the_trigger()
    {
        var b = Funded(1000);
        b.Fails("no buy amount", CommandKind.SetBuyTrigger, "ABC", 10m);
        b.Ok(CommandKind.SetBuyAmount, "ABC", 100m);
        b.Fails("buys no share", CommandKind.SetBuyTrigger, "ABC", 200m);
        b.Ok(CommandKind.SetBuyTrigger, "ABC", 30m);
        Assert.True(b.State.BuyTriggers["ABC"].Armed);
        Assert.Equal(30m, b.State.BuyTriggers["ABC"].Price);
    }

    [Fact]
    public void CANCEL_SET_BUY_returns_the_whole_reserve()
    {
        var b = Funded(1000);
        b.Fails("no buy amount", CommandKind.CancelSetBuy, "ABC");
        b.Ok(CommandKind.SetBuyAmount, "ABC", 100m);
        b.Ok(CommandKind.SetBuyTrigger, "ABC", 30m);
        b.Ok(CommandKind.CancelSetBuy, "ABC");
        Assert.Equal(1000m, b.State.Cash);
        Assert.Equal(0m, b.State.ReservedCash);
        Assert.Empty(b.State.BuyTriggers);
        b.Fails("no buy amount", CommandKind.CancelSetBuy, "ABC");
    }

    [Theory]
    [InlineData(30.00, true)]  // equal to the trigger price fires
    [InlineData(29.99, true)]
    [InlineData(30.01, false)]
    public void A_buy_trigger_fires_at_or_below_its_price_and_refunds_the_rest(decimal quote, bool fires)
    {
        var b = Funded(1000);
        b.Ok(CommandKind.SetBuyAmount, "ABC", 100m);
        b.Ok(CommandKind.SetBuyTrigger, "ABC", 30m);
        var version = b.State.BuyTriggers["ABC"].Version;
        var e = AccountDomain.DecideTrigger(b.State, TradeSide.Buy, "ABC", version, Q("ABC", quote), T0, "t");
        Assert.Equal(fires, e is not null);
        if (!fires) return;
        AccountDomain.Apply(b.State, e!);
        Invariants.Check(b.State);
        var fired = Assert.IsType<BuyTriggerFired>(e!.Change);
        var shares = (int)decimal.Floor(100m / quote);
        Assert.Equal(shares, fired.Shares);
        Assert.Equal(100m - shares * quote, fired.Refund);
        Assert.Equal(900m + fired.Refund, b.State.Cash);
        Assert.Equal(0m, b.State.ReservedCash);
        Assert.Equal(shares, b.State.HoldingOf("ABC").Shares);
        Assert.Empty(b.State.BuyTriggers);
        // At most once: the same request again finds nothing armed.
        Assert.Null(AccountDomain.DecideTrigger(b.State, TradeSide.Buy, "ABC", version, Q("ABC", quote), T0, "t"));
    }

    [Fact]
    public void A_trigger_request_for_an_older_arming_or_an_unarmed_reserve_is_refused()
    {
        var b = Funded(1000);
        b.Ok(CommandKind.SetBuyAmount, "ABC", 100m);
        var unarmed = b.State.BuyTriggers["ABC"].Version;
        Assert.Null(AccountDomain.DecideTrigger(b.State, TradeSide.Buy, "ABC", unarmed, Q("ABC", 1m), T0, "t"));
        b.Ok(CommandKind.SetBuyTrigger, "ABC", 30m);
        var first = b.State.BuyTriggers["ABC"].Version;
        b.Ok(CommandKind.SetBuyTrigger, "ABC", 20m);
        Assert.Null(AccountDomain.DecideTrigger(b.State, TradeSide.Buy, "ABC", first, Q("ABC", 10m), T0, "t"));
        Assert.NotNull(AccountDomain.DecideTrigger(b.State, TradeSide.Buy, "ABC", b.State.BuyTriggers["ABC"].Version, Q("ABC", 10m), T0, "t"));
    }

    /// <summary>docs/AUDIT.md: an execution is audited under the SET_*_TRIGGER that armed it, also after re-sizes.</summary>
    [Fact]
    public void A_re_sized_trigger_fires_under_the_tx_of_the_command_that_armed_it_at_a_new_version()
    {
        var b = Holding("ABC", 10m, 100m, extraCash: 1000m);
        b.Ok(CommandKind.SetBuyAmount, "ABC", 100m);
        b.Ok(CommandKind.SetBuyAmount, "ABC", 150m); // re-sized before it is armed: nothing armed yet
        var armBuy = b.Ok(CommandKind.SetBuyTrigger, "ABC", 30m).TxNum;
        var before = b.State.BuyTriggers["ABC"].Version;
        b.Ok(CommandKind.SetBuyAmount, "ABC", 200m);
        Assert.Equal(armBuy, b.State.BuyTriggers["ABC"].TxNum);
        Assert.NotEqual(before, b.State.BuyTriggers["ABC"].Version); // a fire asked for the old size is refused
        Assert.Null(AccountDomain.DecideTrigger(b.State, TradeSide.Buy, "ABC", before, Q("ABC", 20m), T0, "t"));
        var buy = AccountDomain.DecideTrigger(b.State, TradeSide.Buy, "ABC", b.State.BuyTriggers["ABC"].Version, Q("ABC", 20m), T0, "t")!;
        Assert.Equal((armBuy, 10), (buy.TxNum, ((BuyTriggerFired)buy.Change).Shares));

        b.Ok(CommandKind.SetSellAmount, "ABC", 40m);
        var armSell = b.Ok(CommandKind.SetSellTrigger, "ABC", 20m).TxNum; // 2 shares
        b.Ok(CommandKind.SetSellAmount, "ABC", 60m);                       // 3 shares
        var sell = AccountDomain.DecideTrigger(b.State, TradeSide.Sell, "ABC", b.State.SellTriggers["ABC"].Version, Q("ABC", 20m), T0, "t")!;
        Assert.Equal((armSell, 3), (sell.TxNum, ((SellTriggerFired)sell.Change).Shares));

        // Re-arming at a new price is a new arming: its own tx.
        var rearm = b.Ok(CommandKind.SetSellTrigger, "ABC", 30m).TxNum;
        Assert.Equal(rearm, b.State.SellTriggers["ABC"].TxNum);
    }

    // ------------------------------------------------------------------ sell amount and trigger

    [Fact]
    public void SET_SELL_AMOUNT_needs_shares_and_reserves_nothing()
    {
        var b = Funded(1000);
        b.Fails("no shares", CommandKind.SetSellAmount, "ABC", 50m);
        b = Holding("ABC", 10m, 100m);
        b.Ok(CommandKind.SetSellAmount, "ABC", 50m);
        Assert.Equal(new Holding(10, 0) { Cost = 100m }, b.State.HoldingOf("ABC"));
        Assert.False(b.State.SellTriggers["ABC"].Armed);
    }

    [Fact]
    public void SET_SELL_TRIGGER_reserves_floor_amount_over_price_and_resizes_when_reset()
    {
        var b = Holding("ABC", 10m, 100m); // 10 shares
        b.Fails("no sell amount", CommandKind.SetSellTrigger, "ABC", 20m);
        b.Ok(CommandKind.SetSellAmount, "ABC", 100m);
        b.Ok(CommandKind.SetSellTrigger, "ABC", 20m); // 5 shares
        Assert.Equal(new Holding(5, 5) { Cost = 100m }, b.State.HoldingOf("ABC"));
        b.Ok(CommandKind.SetSellTrigger, "ABC", 12.5m); // 8 shares
        Assert.Equal(new Holding(2, 8) { Cost = 100m }, b.State.HoldingOf("ABC"));
        b.Ok(CommandKind.SetSellTrigger, "ABC", 50m); // 2 shares
        Assert.Equal(new Holding(8, 2) { Cost = 100m }, b.State.HoldingOf("ABC"));
        b.Fails("insufficient shares", CommandKind.SetSellTrigger, "ABC", 9m); // 11 > 10
        b.Fails("less than one share", CommandKind.SetSellTrigger, "ABC", 101m);
        Assert.Equal(new Holding(8, 2) { Cost = 100m }, b.State.HoldingOf("ABC"));
    }

    [Fact]
    public void SET_SELL_AMOUNT_on_an_armed_trigger_resizes_its_reservation()
    {
        var b = Holding("ABC", 10m, 100m);
        b.Ok(CommandKind.SetSellAmount, "ABC", 100m);
        b.Ok(CommandKind.SetSellTrigger, "ABC", 20m); // 5 reserved
        b.Ok(CommandKind.SetSellAmount, "ABC", 60m); // 3 reserved
        Assert.Equal(new Holding(7, 3) { Cost = 100m }, b.State.HoldingOf("ABC"));
        b.Fails("insufficient shares", CommandKind.SetSellAmount, "ABC", 220m);
    }

    [Theory]
    [InlineData(20.00, true)]
    [InlineData(20.01, true)]
    [InlineData(19.99, false)]
    public void A_sell_trigger_fires_at_or_above_its_price(decimal quote, bool fires)
    {
        var b = Holding("ABC", 10m, 100m);
        b.Ok(CommandKind.SetSellAmount, "ABC", 100m);
        b.Ok(CommandKind.SetSellTrigger, "ABC", 20m); // 5 reserved
        var cash = b.State.Cash;
        var e = AccountDomain.DecideTrigger(b.State, TradeSide.Sell, "ABC", b.State.SellTriggers["ABC"].Version, Q("ABC", quote), T0, "t");
        Assert.Equal(fires, e is not null);
        if (!fires) return;
        AccountDomain.Apply(b.State, e!);
        Invariants.Check(b.State);
        Assert.Equal(cash + 5 * quote, b.State.Cash);
        Assert.Equal(new Holding(5, 0) { Cost = 50m }, b.State.HoldingOf("ABC"));
        Assert.Empty(b.State.SellTriggers);
    }

    [Fact]
    public void CANCEL_SET_SELL_returns_reserved_shares()
    {
        var b = Holding("ABC", 10m, 100m);
        b.Fails("no sell amount", CommandKind.CancelSetSell, "ABC");
        b.Ok(CommandKind.SetSellAmount, "ABC", 100m);
        b.Ok(CommandKind.SetSellTrigger, "ABC", 20m);
        var e = b.Ok(CommandKind.CancelSetSell, "ABC");
        Assert.Equal(5, Assert.IsType<SellTriggerCancelled>(Assert.Single(e.Changes)).ReturnedShares);
        Assert.Equal(new Holding(10, 0) { Cost = 100m }, b.State.HoldingOf("ABC"));
        Assert.Empty(b.State.SellTriggers);
    }

    // ------------------------------------------------------------------ cost basis (average cost)

    private static decimal? CostOf(Book b, string sym) => b.State.HoldingOf(sym).Cost;

    private static TriggerExecuted Fire(Book b, TradeSide side, string sym, decimal price)
    {
        var version = side == TradeSide.Buy ? b.State.BuyTriggers[sym].Version : b.State.SellTriggers[sym].Version;
        var fired = Assert.IsType<TriggerExecuted>(AccountDomain.DecideTrigger(b.State, side, sym, version, Q(sym, price, b.Now), b.Now, "test"));
        AccountDomain.Apply(b.State, fired);
        Invariants.Check(b.State);
        return fired;
    }

    [Fact]
    public void Committed_buys_add_what_was_paid_and_a_sale_takes_away_its_average_cost()
    {
        var b = Funded(1000);
        b.Ok(CommandKind.Buy, "ABC", 50m, Q("ABC", 5m)); // 10 @ 5.00
        Assert.False(b.State.Holdings.ContainsKey("ABC")); // nothing held while the buy is pending
        b.Ok(CommandKind.CommitBuy);
        Assert.Equal(50m, CostOf(b, "ABC"));
        b.Ok(CommandKind.Buy, "ABC", 70m, Q("ABC", 7m)); // 10 @ 7.00
        b.Ok(CommandKind.CommitBuy);
        Assert.Equal(new Holding(20, 0) { Cost = 120.00m }, b.State.HoldingOf("ABC"));

        b.Ok(CommandKind.Sell, "ABC", 40m, Q("ABC", 8m)); // 5 @ 8.00, reserved
        Assert.Equal(new Holding(15, 5) { Cost = 120.00m }, b.State.HoldingOf("ABC"));
        b.Ok(CommandKind.CommitSell);
        Assert.Equal(new Holding(15, 0) { Cost = 90.00m }, b.State.HoldingOf("ABC")); // 120 − 120 × 5 / 20
    }

    [Fact]
    public void A_sale_rounds_the_cost_it_takes_away_to_cents_half_to_even()
    {
        var b = Funded(1000);
        b.Ok(CommandKind.Buy, "ABC", 10m, Q("ABC", 3.33m)); // 3 @ 3.33 = 9.99
        b.Ok(CommandKind.CommitBuy);
        b.Ok(CommandKind.Buy, "ABC", 1m, Q("ABC", 0.01m)); // 100 @ 0.01: 103 shares for 10.99
        b.Ok(CommandKind.CommitBuy);
        Assert.Equal(10.99m, CostOf(b, "ABC"));
        b.Ok(CommandKind.Sell, "ABC", 0.01m, Q("ABC", 0.01m)); // 1 share: 10.99 / 103 = 0.10669… → 0.11
        b.Ok(CommandKind.CommitSell);
        Assert.Equal(10.88m, CostOf(b, "ABC"));

        var even = Funded(1000);
        even.Ok(CommandKind.Buy, "XYZ", 0.05m, Q("XYZ", 0.01m)); // 5 @ 0.01
        even.Ok(CommandKind.CommitBuy);
        even.Ok(CommandKind.Buy, "XYZ", 0.20m, Q("XYZ", 0.04m)); // 5 @ 0.04: 10 shares for 0.25
        even.Ok(CommandKind.CommitBuy);
        even.Ok(CommandKind.Sell, "XYZ", 0.04m, Q("XYZ", 0.04m)); // 1 share: 0.025 exactly → 0.02 (half to even)
        even.Ok(CommandKind.CommitSell);
        Assert.Equal(0.23m, CostOf(even, "XYZ"));
    }

    [Fact]
    public void A_fired_buy_trigger_adds_what_it_paid_to_the_cost_and_starts_a_new_holding_at_that()
    {
        var b = Holding("ABC", 5m, 50m, extraCash: 200m); // 10 @ 5.00
        b.Ok(CommandKind.SetBuyAmount, "ABC", 100m);
        b.Ok(CommandKind.SetBuyTrigger, "ABC", 4.5m);
        var fired = Assert.IsType<BuyTriggerFired>(Fire(b, TradeSide.Buy, "ABC", 4.10m).Change); // 24 @ 4.10 = 98.40
        Assert.Equal(98.40m, fired.Cost);
        Assert.Equal(new Holding(34, 0) { Cost = 148.40m }, b.State.HoldingOf("ABC"));

        b.Ok(CommandKind.SetBuyAmount, "NEW", 30m);
        b.Ok(CommandKind.SetBuyTrigger, "NEW", 7m);
        Fire(b, TradeSide.Buy, "NEW", 7m); // 4 @ 7.00
        Assert.Equal(new Holding(4, 0) { Cost = 28m }, b.State.HoldingOf("NEW"));
    }

    [Fact]
    public void Selling_everything_removes_the_holding_and_the_next_buy_starts_from_a_known_cost()
    {
        var b = Holding("ABC", 10m, 100m, extraCash: 100m); // 10 @ 10.00
        b.Ok(CommandKind.Sell, "ABC", 150m, Q("ABC", 15m)); // all 10
        b.Ok(CommandKind.CommitSell);
        Assert.False(b.State.Holdings.ContainsKey("ABC"));
        b.Ok(CommandKind.Buy, "ABC", 6m, Q("ABC", 3m));
        b.Ok(CommandKind.CommitBuy);
        Assert.Equal(new Holding(2, 0) { Cost = 6m }, b.State.HoldingOf("ABC"));

        // A fired sell trigger that sells the rest removes it too.
        b.Ok(CommandKind.SetSellAmount, "ABC", 10m);
        b.Ok(CommandKind.SetSellTrigger, "ABC", 5m); // 2 reserved
        Fire(b, TradeSide.Sell, "ABC", 5m);
        Assert.False(b.State.Holdings.ContainsKey("ABC"));
    }

    [Fact]
    public void Sell_trigger_reservations_keep_the_cost_and_a_fired_one_takes_away_its_average()
    {
        var b = Holding("ABC", 10m, 100m); // 10 @ 10.00
        b.Ok(CommandKind.SetSellAmount, "ABC", 100m);
        b.Ok(CommandKind.SetSellTrigger, "ABC", 25m); // 4 reserved
        Assert.Equal(new Holding(6, 4) { Cost = 100m }, b.State.HoldingOf("ABC"));
        b.Ok(CommandKind.SetSellAmount, "ABC", 75m); // 3 reserved
        Assert.Equal(new Holding(7, 3) { Cost = 100m }, b.State.HoldingOf("ABC"));
        b.Ok(CommandKind.CancelSetSell, "ABC");
        Assert.Equal(new Holding(10, 0) { Cost = 100m }, b.State.HoldingOf("ABC"));

        b.Ok(CommandKind.SetSellAmount, "ABC", 100m);
        b.Ok(CommandKind.SetSellTrigger, "ABC", 25m); // 4 reserved
        Fire(b, TradeSide.Sell, "ABC", 26m);
        Assert.Equal(new Holding(6, 0) { Cost = 60m }, b.State.HoldingOf("ABC"));

        // Pending sells that are cancelled or expire keep it as well.
        b.Ok(CommandKind.Sell, "ABC", 20m, Q("ABC", 10m));
        b.Ok(CommandKind.CancelSell);
        b.Ok(CommandKind.Sell, "ABC", 20m, Q("ABC", 10m));
        b.Now += AccountDomain.PendingLifetimeMs;
        b.Fails("no pending sell", CommandKind.CommitSell);
        Assert.Equal(new Holding(6, 0) { Cost = 60m }, b.State.HoldingOf("ABC"));
    }

    [Fact]
    public void An_unknown_cost_stays_unknown_until_the_holding_is_sold_out()
    {
        // Books as a snapshot written before costs were kept restores them: 10 shares of an unknown cost.
        var s = Holding("ABC", 10m, 100m, extraCash: 100m).State;
        var restored = AccountState.Restore(s.UserId, s.Exists, s.Cash, s.ReservedCash, s.NextOrderId, s.TriggerVersion,
            [new("ABC", new Holding(10, 0))], [], [], [], [], s.HistoryTotal, s.History);
        var tx = 50L;
        void Do(CommandKind kind, decimal amount = 0)
        {
            var e = AccountDomain.Decide(restored, new TradeRequest(++tx, kind, User, kind is CommandKind.Buy or CommandKind.Sell ? "ABC" : null, amount),
                Q("ABC", 10m), T0, "test");
            Assert.True(e.Ok, e.Error);
            AccountDomain.Apply(restored, e);
        }

        Do(CommandKind.Buy, 20m);
        Do(CommandKind.CommitBuy);
        Assert.Equal(new Holding(12, 0) { Cost = null }, restored.HoldingOf("ABC"));
        Do(CommandKind.Sell, 60m);
        Do(CommandKind.CommitSell);
        Assert.Equal(new Holding(6, 0) { Cost = null }, restored.HoldingOf("ABC"));
        Assert.DoesNotContain("\"cost\"", AccountSummary.WebJson(restored, T0));

        Do(CommandKind.Sell, 60m);
        Do(CommandKind.CommitSell);
        Assert.False(restored.Holdings.ContainsKey("ABC"));
        Do(CommandKind.Buy, 20m);
        Do(CommandKind.CommitBuy);
        Assert.Equal(new Holding(2, 0) { Cost = 20m }, restored.HoldingOf("ABC"));
    }

    [Fact]
    public void The_web_summary_adds_each_known_cost_and_the_wire_summary_does_not()
    {
        var b = Holding("ABC", 10m, 100m, extraCash: 500m);
        b.Ok(CommandKind.Buy, "XYZ", 50m, Q("XYZ", 12.50m));
        b.Ok(CommandKind.CommitBuy); // 4 @ 12.50 = 50.00
        b.Ok(CommandKind.Sell, "ABC", 30m, Q("ABC", 10m)); // 3 reserved
        b.Ok(CommandKind.SetBuyAmount, "QQQ", 40m);
        var wire = AccountSummary.Json(b.State, b.Now);
        var web = AccountSummary.WebJson(b.State, b.Now);
        Assert.DoesNotContain("cost", wire);
        Assert.Contains("""
            "holdings":[{"symbol":"ABC","shares":7,"reservedShares":3,"cost":100},{"symbol":"XYZ","shares":4,"reservedShares":0,"cost":50.00}]
            """, web);
        // Money is written as the wire writes it (the scale kept), and nothing else differs.
        Assert.Contains("\"amount\":50.00", wire);
        Assert.Equal(wire, System.Text.RegularExpressions.Regex.Replace(web, ",\"cost\":[0-9.]+", ""));
        Assert.Equal(wire, AccountSummary.From(b.State, b.Now).ToJson());
        // Read back, the web's form gives the same views as the wire's.
        Assert.Equal(AccountSummary.FromJson(wire)!.Holdings, AccountSummary.FromJson(web)!.Holdings);
        Assert.Equal(AccountSummary.Json(new AccountState("nobody"), b.Now), AccountSummary.WebJson(new AccountState("nobody"), b.Now));
    }

    // ------------------------------------------------------------------ summary, idempotency, invariants

    [Fact]
    public void DISPLAY_SUMMARY_shows_books_pending_orders_with_time_left_triggers_and_history()
    {
        var b = Holding("ABC", 10m, 100m, extraCash: 500m);
        b.Ok(CommandKind.Buy, "XYZ", 50m, Q("XYZ", 25m));
        b.Ok(CommandKind.SetBuyAmount, "QQQ", 40m);
        b.Ok(CommandKind.SetBuyTrigger, "QQQ", 4m);
        b.Ok(CommandKind.SetSellAmount, "ABC", 30m);
        b.Now = T0 + 15_000;
        var summary = AccountSummary.FromJson(AccountSummary.Json(b.State, b.Now))!;
        Assert.Equal(410m, summary.Cash);
        Assert.Equal(90m, summary.ReservedCash);
        Assert.Equal(new HoldingView("ABC", 10, 0), Assert.Single(summary.Holdings));
        var pending = Assert.Single(summary.PendingBuys);
        Assert.Equal(("XYZ", 2, 45_000L), (pending.Symbol, pending.Shares, pending.ExpiresInMs));
        Assert.Equal(new BuyTriggerView("QQQ", 40m, 4m), Assert.Single(summary.BuyTriggers));
        Assert.Equal(new SellTriggerView("ABC", 30m, null, 0), Assert.Single(summary.SellTriggers));
        Assert.Equal(2, summary.HistoryTotal);
        Assert.Equal("BUY", summary.History[0].Kind); // newest first
        Assert.Equal("ADD", summary.History[1].Kind);
    }

    [Fact]
    public void Share_counts_never_overflow_a_buy_past_the_per_symbol_limit_is_refused_and_changes_nothing()
    {
        // Issue 13, item 8: twelve rounds of ADD 1e9 / BUY 1e9 at 5.42 / COMMIT_BUY once left shares = -2080945156.
        var b = new Book();
        var bought = 0;
        for (var round = 1; round <= 12; round++)
        {
            b.Ok(CommandKind.Add, amount: 1_000_000_000m);
            var buy = b.Send(CommandKind.Buy, "ABC", 1_000_000_000m, Q("ABC", 5.42m));
            if (!buy.Ok)
            {
                Assert.Contains("above the limit of 1000000000 per symbol", buy.Error);
                break;
            }
            b.Ok(CommandKind.CommitBuy);
            bought = round;
        }
        Assert.Equal(5, bought); // 5 × 184,501,845 = 922,509,225 shares; a sixth would pass 1e9
        Assert.Equal(922_509_225, b.State.HoldingOf("ABC").Shares);
        b.Fails("above the limit", CommandKind.Buy, "ABC", 1_000_000_000m, Q("ABC", 5.42m));
        // A pending buy counts too: room for 77,490,775 more, so 77,490,775 + 1 is refused.
        b.Ok(CommandKind.Buy, "ABC", 77_490_775m * 5.42m, Q("ABC", 5.42m));
        b.Fails("above the limit", CommandKind.Buy, "ABC", 5.42m, Q("ABC", 5.42m));
    }

    [Fact]
    public void A_buy_trigger_near_the_share_limit_buys_up_to_it_and_refunds_the_rest()
    {
        var b = Holding("ABC", 1m, 999_999_990m);
        b.Ok(CommandKind.Add, amount: 100m);
        b.Ok(CommandKind.SetBuyAmount, "ABC", 50m);
        b.Ok(CommandKind.SetBuyTrigger, "ABC", 1m);
        var fire = AccountDomain.DecideTrigger(b.State, TradeSide.Buy, "ABC", b.State.BuyTriggers["ABC"].Version, Q("ABC", 1m), b.Now, "test");
        var fired = Assert.IsType<BuyTriggerFired>(Assert.IsType<TriggerExecuted>(fire).Change);
        Assert.Equal((10, 10m, 40m), (fired.Shares, fired.Cost, fired.Refund));
        AccountDomain.Apply(b.State, fire);
        Assert.Equal(Rules.MaxSharesPerSymbol, b.State.HoldingOf("ABC").Shares);
    }

    [Fact]
    public void The_summary_written_straight_from_the_books_is_the_serialized_view_byte_for_byte()
    {
        var b = Holding("ABC", 10m, 100m, extraCash: 500m);
        b.Ok(CommandKind.Buy, "XYZ", 50m, Q("XYZ", 25m));
        b.Ok(CommandKind.Sell, "ABC", 20m, Q("ABC", 10m));
        b.Ok(CommandKind.SetBuyAmount, "QQQ", 40m);
        b.Ok(CommandKind.SetBuyTrigger, "QQQ", 4m);
        b.Ok(CommandKind.SetBuyAmount, "RRR", 12.5m);
        b.Ok(CommandKind.SetSellAmount, "ABC", 30m);
        b.Ok(CommandKind.SetSellTrigger, "ABC", 12.34m);
        b.Now = T0 + 15_000;
        Assert.Equal(AccountSummary.From(b.State, b.Now).ToJson(), AccountSummary.Json(b.State, b.Now));
        var empty = new AccountState("nobody");
        Assert.Equal(AccountSummary.From(empty, b.Now).ToJson(), AccountSummary.Json(empty, b.Now));
        // Names the plain fast path does not take are escaped exactly as the serializer escapes them.
        foreach (var odd in new[] { "a\"b\\c", "<x>&'+`", "é ü \u2028", "tab\there", "user_1-2.3 x" })
        {
            var state = new AccountState(odd);
            Assert.Equal(AccountSummary.From(state, b.Now).ToJson(), AccountSummary.Json(state, b.Now));
            Assert.Equal(AccountSummary.From(state, b.Now).ToJson(), System.Text.Encoding.UTF8.GetString(AccountSummary.JsonUtf8(state, b.Now)));
        }
        // A large history (the 100 kept rows) and a sold-out holding still match.
        var big = Holding("ABC", 10m, 100m, extraCash: 100_000m);
        for (var i = 0; i < 120; i++) big.Ok(CommandKind.Add, amount: 1.05m + i);
        Assert.Equal(AccountSummary.From(big.State, big.Now).ToJson(), AccountSummary.Json(big.State, big.Now));
    }

    [Fact]
    public void History_is_bounded_but_counts_everything()
    {
        var b = Funded(1);
        for (var i = 0; i < AccountState.HistoryLimit + 50; i++) b.Ok(CommandKind.Add, amount: 1m);
        Assert.Equal(AccountState.HistoryLimit, b.State.History.Count);
        Assert.Equal(AccountState.HistoryLimit + 51, b.State.HistoryTotal);
    }

    [Fact]
    public void Random_command_sequences_never_break_the_books()
    {
        var random = new Random(12345);
        var symbols = new[] { "A", "BB", "CCC" };
        var kinds = Enum.GetValues<CommandKind>();
        for (var run = 0; run < 20; run++)
        {
            var b = Funded(random.Next(100, 5000));
            for (var i = 0; i < 400; i++)
            {
                var kind = kinds[random.Next(kinds.Length)];
                var sym = symbols[random.Next(symbols.Length)];
                var amount = Math.Round((decimal)random.Next(1, 100_000) / 100m, 2);
                var quote = Q(sym, Math.Round((decimal)random.Next(100, 9_000) / 100m, 2), b.Now);
                b.Now += random.Next(0, 8_000);
                var before = BooksCopy.Copy(b.State);
                var e = b.Send(kind, sym, amount, quote);
                if (!e.Ok && AccountDomain.Expire(b.State, b.Now, "t") is null)
                {
                    // An error changes nothing (apart from overdue expiries that Send applied first).
                    var beforeState = before;
                    var expired = AccountDomain.Expire(beforeState, b.Now, "t");
                    if (expired is not null) AccountDomain.Apply(beforeState, expired);
                    Assert.Equal(BooksCopy.Fingerprint(beforeState), BooksCopy.Fingerprint(b.State));
                }
                if (random.Next(10) == 0)
                {
                    foreach (var side in new[] { TradeSide.Buy, TradeSide.Sell })
                    {
                        long? version = side == TradeSide.Buy
                            ? b.State.BuyTriggers.GetValueOrDefault(sym)?.Version
                            : b.State.SellTriggers.GetValueOrDefault(sym)?.Version;
                        if (version is null) continue;
                        var fired = AccountDomain.DecideTrigger(b.State, side, sym, version.Value, quote, b.Now, "t");
                        if (fired is null) continue;
                        AccountDomain.Apply(b.State, fired);
                        Invariants.Check(b.State);
                    }
                }
            }
        }
    }
}

/// <summary>The books always balance: nothing negative, reservations equal to what holds them.</summary>
internal static class Invariants
{
    public static void Check(AccountState s)
    {
        Assert.True(s.Cash >= 0, $"cash {s.Cash} < 0");
        Assert.True(s.ReservedCash >= 0, $"reserved cash {s.ReservedCash} < 0");
        var held = s.PendingBuys.Sum(p => p.Amount) + s.BuyTriggers.Values.Sum(t => t.Reserve);
        Assert.Equal(held, s.ReservedCash);
        foreach (var (sym, h) in s.Holdings)
        {
            Assert.True(h.Shares >= 0 && h.ReservedShares >= 0, $"{sym}: {h}");
            Assert.True(h.Cost is null or >= 0, $"{sym}: {h}");
            var reserved = s.PendingSells.Where(p => p.Symbol == sym).Sum(p => p.Shares)
                           + (s.SellTriggers.TryGetValue(sym, out var t) ? t.ReservedShares : 0);
            Assert.Equal(reserved, h.ReservedShares);
        }
        foreach (var p in s.PendingSells) Assert.True(s.Holdings.ContainsKey(p.Symbol));
    }
}
