using System.Globalization;
using DayTrading.Quotes;

namespace DayTrading.Accounts;

/// <summary>
/// The trading rules of SPEC §1–2 as plain functions: decide what a request does to an account (events, or an
/// error that changes nothing), and apply events to the books. No Akka, no clock, no I/O: time and quotes come in
/// as arguments, so every rule is tested without an actor system.
/// </summary>
public static class AccountDomain
{
    public const long PendingLifetimeMs = 60_000;

    public static bool NeedsQuote(CommandKind kind) => kind is CommandKind.Quote or CommandKind.Buy or CommandKind.Sell;

    /// <summary>
    /// Reservations whose time ran out by <paramref name="nowMs"/>, as one event, or null when there are none.
    /// Run before every command so "the newest unexpired" never sees an expired one, and on the account's timer.
    /// </summary>
    public static ReservationsExpired? Expire(AccountState state, long nowMs, string server)
    {
        List<AccountChange>? changes = null;
        foreach (var p in state.PendingBuyList)
        {
            if (p.ExpiresMs <= nowMs) (changes ??= []).Add(new BuyReleased(p.OrderId, p.Symbol, p.Amount, ReleaseReason.Expired, p.TxNum));
        }
        foreach (var p in state.PendingSellList)
        {
            if (p.ExpiresMs <= nowMs) (changes ??= []).Add(new SellReleased(p.OrderId, p.Symbol, p.Shares, ReleaseReason.Expired, p.TxNum));
        }
        return changes is null ? null : new ReservationsExpired(nowMs, server, changes.ToArray());
    }

    /// <summary>
    /// Decides one request. Always returns the event to persist: on error it carries the reason and no changes.
    /// <paramref name="quote"/> must be given for QUOTE, BUY and SELL (a valid quote for the request's symbol); when
    /// the quote could not be had, pass null and <paramref name="quoteError"/>.
    /// Call <see cref="Expire"/> first and apply its result: this function assumes nothing pending is overdue.
    /// </summary>
    public static CommandHandled Decide(AccountState s, TradeRequest r, Quote? quote, long nowMs, string server, string? quoteError = null)
    {
        var used = quote is null ? null : new QuoteUsed(quote.Symbol, quote.Price, quote.TimestampMs, quote.CryptoKey);
        CommandHandled Fail(RefusalReason reason, string error) =>
            new(nowMs, server, r.TxNum, r.RunId, r.Kind, r.Symbol, r.Amount, r.FileName, error, null, [], reason);
        CommandHandled Ok(params AccountChange[] changes) =>
            new(nowMs, server, r.TxNum, r.RunId, r.Kind, r.Symbol, r.Amount, r.FileName, null, used, changes);

        if (r.UserId != s.UserId) return Fail(RefusalReason.Misrouted, $"request for user '{r.UserId}' reached account '{s.UserId}'");
        if (!s.Exists && r.Kind != CommandKind.Add) return Fail(RefusalReason.UnknownUser, $"unknown user '{s.UserId}': the first command for a new user must be ADD");
        if (RequiresSymbol(r.Kind) && !Rules.IsValidSymbol(r.Symbol)) return Fail(RefusalReason.InvalidSymbol, $"'{r.Symbol}' is not a stock symbol (1-3 letters A-Z)");
        if (RequiresAmount(r.Kind) && (r.Amount <= 0 || r.Amount > Rules.MaxAmount || decimal.Round(r.Amount, 2) != r.Amount))
            return Fail(RefusalReason.InvalidAmount, $"amount {r.Amount.ToString(CultureInfo.InvariantCulture)} must be > 0, <= 1000000000, with at most two decimals");
        if (NeedsQuote(r.Kind))
        {
            if (quote is null) return Fail(RefusalReason.QuoteUnavailable, quoteError ?? "no quote available");
            if (quote.Symbol != r.Symbol) return Fail(RefusalReason.QuoteUnavailable, $"quote is for {quote.Symbol}, not {r.Symbol}");
            if (quote.Price <= 0) return Fail(RefusalReason.QuoteUnavailable, $"quote price {quote.Price} for {quote.Symbol} is not positive");
            if (!quote.IsValidAt(nowMs)) return Fail(RefusalReason.QuoteUnavailable, $"quote for {quote.Symbol} has expired");
        }

        switch (r.Kind)
        {
            case CommandKind.Add:
                if (s.Cash + s.ReservedCash + r.Amount > 1_000_000_000_000_000m) return Fail(RefusalReason.LimitExceeded, "balance would exceed the system limit");
                return Ok(new CashAdded(r.Amount));

            case CommandKind.Quote:
            case CommandKind.DisplaySummary:
            case CommandKind.DumpLog:
                return Ok();

            case CommandKind.Buy:
            {
                var shares = SharesFor(r.Amount, quote!.Price);
                if (shares == 0) return Fail(RefusalReason.AmountTooSmall, $"{Money(r.Amount)} buys no share of {r.Symbol} at {Money(quote.Price)}");
                var cost = shares * quote.Price;
                if (s.Cash < cost) return Fail(RefusalReason.InsufficientFunds, $"insufficient funds: buying {shares} {r.Symbol} at {Money(quote.Price)} costs {Money(cost)}, cash is {Money(s.Cash)}");
                var held = SharesHeldOrBeingBought(s, r.Symbol!);
                if (held + shares > Rules.MaxSharesPerSymbol)
                    return Fail(RefusalReason.LimitExceeded, $"buying {shares} {r.Symbol} would make {held + shares} shares of {r.Symbol}, above the limit of {Rules.MaxSharesPerSymbol} per symbol");
                return Ok(new BuyReserved(s.NextOrderId, r.Symbol!, shares, quote.Price, nowMs, nowMs + PendingLifetimeMs));
            }

            case CommandKind.CommitBuy:
            {
                if (s.PendingBuyList.Count == 0) return Fail(RefusalReason.NothingPending, "no pending buy to commit");
                var p = s.PendingBuyList[^1];
                return Ok(new BuyCommitted(p.OrderId, p.Symbol, p.Shares, p.Amount));
            }

            case CommandKind.CancelBuy:
            {
                if (s.PendingBuyList.Count == 0) return Fail(RefusalReason.NothingPending, "no pending buy to cancel");
                var p = s.PendingBuyList[^1];
                return Ok(new BuyReleased(p.OrderId, p.Symbol, p.Amount, ReleaseReason.Cancelled, p.TxNum));
            }

            case CommandKind.Sell:
            {
                var shares = SharesFor(r.Amount, quote!.Price);
                if (shares == 0) return Fail(RefusalReason.AmountTooSmall, $"{Money(r.Amount)} is less than one share of {r.Symbol} at {Money(quote.Price)}");
                var held = s.HoldingOf(r.Symbol!).Shares;
                if (held < shares) return Fail(RefusalReason.InsufficientShares, $"insufficient shares: selling {Money(r.Amount)} of {r.Symbol} at {Money(quote.Price)} needs {shares} shares, {held} free");
                return Ok(new SellReserved(s.NextOrderId, r.Symbol!, shares, quote.Price, nowMs, nowMs + PendingLifetimeMs));
            }

            case CommandKind.CommitSell:
            {
                if (s.PendingSellList.Count == 0) return Fail(RefusalReason.NothingPending, "no pending sell to commit");
                var p = s.PendingSellList[^1];
                return Ok(new SellCommitted(p.OrderId, p.Symbol, p.Shares, p.Amount));
            }

            case CommandKind.CancelSell:
            {
                if (s.PendingSellList.Count == 0) return Fail(RefusalReason.NothingPending, "no pending sell to cancel");
                var p = s.PendingSellList[^1];
                return Ok(new SellReleased(p.OrderId, p.Symbol, p.Shares, ReleaseReason.Cancelled, p.TxNum));
            }

            case CommandKind.SetBuyAmount:
            {
                var current = s.BuyTriggerTable.TryGetValue(r.Symbol!, out var t) ? t.Reserve : 0m;
                var moved = r.Amount - current;
                if (moved > s.Cash) return Fail(RefusalReason.InsufficientFunds, $"insufficient funds: a buy reserve of {Money(r.Amount)} for {r.Symbol} needs {Money(moved)} more cash, cash is {Money(s.Cash)}");
                return Ok(new BuyAmountSet(r.Symbol!, r.Amount, moved));
            }

            case CommandKind.SetBuyTrigger:
            {
                if (!s.BuyTriggerTable.TryGetValue(r.Symbol!, out var t)) return Fail(RefusalReason.NotSet, $"no buy amount set for {r.Symbol}: send SET_BUY_AMOUNT first");
                if (SharesFor(t.Reserve, r.Amount) == 0) return Fail(RefusalReason.AmountTooSmall, $"a reserve of {Money(t.Reserve)} buys no share of {r.Symbol} at {Money(r.Amount)}");
                return Ok(new BuyTriggerSet(r.Symbol!, r.Amount));
            }

            case CommandKind.CancelSetBuy:
            {
                if (!s.BuyTriggerTable.TryGetValue(r.Symbol!, out var t)) return Fail(RefusalReason.NotSet, $"no buy amount or trigger set for {r.Symbol}");
                return Ok(new BuyTriggerCancelled(r.Symbol!, t.Reserve));
            }

            case CommandKind.SetSellAmount:
            {
                var holding = s.HoldingOf(r.Symbol!);
                if (holding.Total == 0) return Fail(RefusalReason.InsufficientShares, $"no shares of {r.Symbol} held");
                var reserved = 0;
                if (s.SellTriggerTable.TryGetValue(r.Symbol!, out var t) && t.Armed)
                {
                    reserved = SharesFor(r.Amount, t.Price!.Value);
                    var error = CheckSellReservation(s, r.Symbol!, reserved, t.ReservedShares, r.Amount, t.Price.Value);
                    if (error is { } refused) return Fail(refused.Reason, refused.Detail);
                }
                return Ok(new SellAmountSet(r.Symbol!, r.Amount, reserved));
            }

            case CommandKind.SetSellTrigger:
            {
                if (!s.SellTriggerTable.TryGetValue(r.Symbol!, out var t)) return Fail(RefusalReason.NotSet, $"no sell amount set for {r.Symbol}: send SET_SELL_AMOUNT first");
                var reserved = SharesFor(t.Amount, r.Amount);
                var error = CheckSellReservation(s, r.Symbol!, reserved, t.ReservedShares, t.Amount, r.Amount);
                if (error is { } refused) return Fail(refused.Reason, refused.Detail);
                return Ok(new SellTriggerSet(r.Symbol!, r.Amount, reserved));
            }

            case CommandKind.CancelSetSell:
            {
                if (!s.SellTriggerTable.TryGetValue(r.Symbol!, out var t)) return Fail(RefusalReason.NotSet, $"no sell amount or trigger set for {r.Symbol}");
                return Ok(new SellTriggerCancelled(r.Symbol!, t.ReservedShares));
            }

            default:
                return Fail(RefusalReason.Unsupported, $"unsupported command {r.Kind}");
        }
    }

    /// <summary>Whether <paramref name="r"/>, sent under the run id and number of <paramref name="earlier"/>, is that request again.</summary>
    public static bool IsSameRequest(CommandHandled earlier, TradeRequest r) =>
        earlier.Kind == r.Kind && earlier.Symbol == r.Symbol && earlier.Amount == r.Amount && earlier.FileName == r.FileName;

    /// <summary>The refusal of a request sent under a run id and number that an earlier, different request used.</summary>
    public static string ReusedKey(TradeRequest r) =>
        $"transaction {r.TxNum} of run {r.RunId} was already used for a different request; nothing was done";

    /// <summary>A request refused before it is decided (a reused run id and number): changes nothing, audited as an error.</summary>
    public static CommandHandled Refuse(TradeRequest r, long nowMs, string server, string error) =>
        new(nowMs, server, r.TxNum, r.RunId, r.Kind, r.Symbol, r.Amount, r.FileName, error, null, [], RefusalReason.InvalidRequest);

    /// <summary>
    /// A quote crossed a trigger: execute it if it is still armed at <paramref name="version"/> and the quote really
    /// crosses (≤ price for a buy, ≥ price for a sell). Null when there is nothing to do, so a late or repeated
    /// fire request is harmless: a trigger fires at most once.
    /// </summary>
    public static TriggerExecuted? DecideTrigger(AccountState s, TradeSide side, string symbol, long version, Quote quote, long nowMs, string server)
    {
        if (quote.Symbol != symbol || quote.Price <= 0 || !quote.IsValidAt(nowMs)) return null;
        var used = new QuoteUsed(quote.Symbol, quote.Price, quote.TimestampMs, quote.CryptoKey);
        if (side == TradeSide.Buy)
        {
            if (!s.BuyTriggerTable.TryGetValue(symbol, out var t) || !t.Armed || t.Version != version) return null;
            if (quote.Price > t.Price!.Value) return null;
            var room = Math.Max(0, Rules.MaxSharesPerSymbol - SharesHeldOrBeingBought(s, symbol));
            var shares = (int)Math.Min(SharesFor(t.Reserve, quote.Price), room);
            var cost = shares * quote.Price;
            return new TriggerExecuted(nowMs, server, t.TxNum, used, new BuyTriggerFired(symbol, quote.Price, shares, cost, t.Reserve - cost));
        }
        else
        {
            if (!s.SellTriggerTable.TryGetValue(symbol, out var t) || !t.Armed || t.Version != version) return null;
            if (quote.Price < t.Price!.Value) return null;
            var shares = t.ReservedShares;
            return new TriggerExecuted(nowMs, server, t.TxNum, used, new SellTriggerFired(symbol, quote.Price, shares, shares * quote.Price));
        }
    }

    private static (RefusalReason Reason, string Detail)? CheckSellReservation(AccountState s, string symbol, int reserved, int currentlyReserved, decimal amount, decimal price)
    {
        if (reserved == 0) return (RefusalReason.AmountTooSmall, $"a sell amount of {Money(amount)} is less than one share of {symbol} at {Money(price)}");
        var available = s.HoldingOf(symbol).Shares + currentlyReserved;
        if (reserved > available) return (RefusalReason.InsufficientShares, $"insufficient shares: selling {Money(amount)} of {symbol} at {Money(price)} needs {reserved} shares, {available} free");
        return null;
    }

    /// <summary>Shares of <paramref name="symbol"/> held (free and reserved) plus those of pending buys.</summary>
    private static long SharesHeldOrBeingBought(AccountState s, string symbol)
    {
        long n = s.HoldingOf(symbol).Total;
        foreach (var p in s.PendingBuyList)
        {
            if (p.Symbol == symbol) n += p.Shares;
        }
        return n;
    }

    public static int SharesFor(decimal dollars, decimal price) => price <= 0 ? 0 : (int)Math.Min(int.MaxValue, decimal.Floor(dollars / price));

    private static bool RequiresSymbol(CommandKind k) => k is CommandKind.Quote or CommandKind.Buy or CommandKind.Sell
        or CommandKind.SetBuyAmount or CommandKind.SetBuyTrigger or CommandKind.CancelSetBuy
        or CommandKind.SetSellAmount or CommandKind.SetSellTrigger or CommandKind.CancelSetSell;

    private static bool RequiresAmount(CommandKind k) => k is CommandKind.Add or CommandKind.Buy or CommandKind.Sell
        or CommandKind.SetBuyAmount or CommandKind.SetBuyTrigger or CommandKind.SetSellAmount or CommandKind.SetSellTrigger;

    private static string Money(decimal d) => Rules.FormatMoney(d);

    // ---------------------------------------------------------------- apply

    public static void Apply(AccountState s, AccountEvent e)
    {
        switch (e)
        {
            case CommandHandled c:
                if (c.Ok)
                {
                    foreach (var change in c.Changes) ApplyChange(s, change, c.TimestampMs, c.TxNum);
                }
                break;
            case ReservationsExpired x:
                foreach (var change in x.Changes) ApplyChange(s, change, x.TimestampMs, 0);
                break;
            case TriggerExecuted t:
                ApplyChange(s, t.Change, t.TimestampMs, t.TxNum);
                break;
        }
    }

    private static void ApplyChange(AccountState s, AccountChange change, long ts, long tx)
    {
        switch (change)
        {
            case CashAdded a:
                s.Exists = true;
                s.Cash += a.Amount;
                AddHistory(s, new HistoryEntry(ts, HistoryKind.Add, null, 0, 0m, a.Amount, tx));
                break;

            case BuyReserved b:
                s.Cash -= b.Cost;
                s.ReservedCash += b.Cost;
                s.PendingBuyList.Add(new PendingOrder(b.OrderId, b.Symbol, b.Shares, b.Price, b.IssuedMs, b.ExpiresMs, tx));
                s.NextOrderId = Math.Max(s.NextOrderId, b.OrderId + 1);
                break;

            case BuyCommitted bc:
            {
                var p = RemoveOrder(s.PendingBuyList, bc.OrderId);
                s.ReservedCash -= p.Amount;
                AddBoughtShares(s, p.Symbol, p.Shares, p.Amount);
                AddHistory(s, new HistoryEntry(ts, HistoryKind.Buy, p.Symbol, p.Shares, p.Price, p.Amount, tx));
                break;
            }

            case BuyReleased br:
            {
                var p = RemoveOrder(s.PendingBuyList, br.OrderId);
                s.ReservedCash -= p.Amount;
                s.Cash += p.Amount;
                break;
            }

            case SellReserved sr:
            {
                var h = s.HoldingOf(sr.Symbol);
                s.HoldingsTable[sr.Symbol] = h with { Shares = h.Shares - sr.Shares, ReservedShares = h.ReservedShares + sr.Shares };
                s.PendingSellList.Add(new PendingOrder(sr.OrderId, sr.Symbol, sr.Shares, sr.Price, sr.IssuedMs, sr.ExpiresMs, tx));
                s.NextOrderId = Math.Max(s.NextOrderId, sr.OrderId + 1);
                break;
            }

            case SellCommitted sc:
            {
                var p = RemoveOrder(s.PendingSellList, sc.OrderId);
                RemoveSoldShares(s, p.Symbol, p.Shares);
                s.Cash += p.Amount;
                AddHistory(s, new HistoryEntry(ts, HistoryKind.Sell, p.Symbol, p.Shares, p.Price, p.Amount, tx));
                break;
            }

            case SellReleased sl:
            {
                var p = RemoveOrder(s.PendingSellList, sl.OrderId);
                var h = s.HoldingOf(p.Symbol);
                s.HoldingsTable[p.Symbol] = h with { Shares = h.Shares + p.Shares, ReservedShares = h.ReservedShares - p.Shares };
                break;
            }

            case BuyAmountSet ba:
            {
                s.Cash -= ba.CashMoved;
                s.ReservedCash += ba.CashMoved;
                var version = ++s.TriggerVersion;
                // Re-sizing an armed trigger makes a new version (a fire asked against the old size is refused) but
                // keeps the SET_BUY_TRIGGER's tx: the execution is audited under the command that armed it.
                s.BuyTriggerTable[ba.Symbol] = s.BuyTriggerTable.TryGetValue(ba.Symbol, out var t)
                    ? t with { Reserve = ba.Reserve, Version = version, TxNum = t.Armed ? t.TxNum : tx }
                    : new BuyTrigger(ba.Symbol, ba.Reserve, null, version, tx);
                break;
            }

            case BuyTriggerSet bt:
                s.BuyTriggerTable[bt.Symbol] = s.BuyTriggerTable[bt.Symbol] with { Price = bt.Price, Version = ++s.TriggerVersion, TxNum = tx };
                break;

            case BuyTriggerCancelled bx:
                s.BuyTriggerTable.Remove(bx.Symbol);
                s.ReservedCash -= bx.Refund;
                s.Cash += bx.Refund;
                s.TriggerVersion++;
                break;

            case BuyTriggerFired bf:
            {
                var t = s.BuyTriggerTable[bf.Symbol];
                s.BuyTriggerTable.Remove(bf.Symbol);
                s.ReservedCash -= t.Reserve;
                s.Cash += bf.Refund;
                s.TriggerVersion++;
                if (bf.Shares > 0)
                {
                    AddBoughtShares(s, bf.Symbol, bf.Shares, bf.Cost);
                    AddHistory(s, new HistoryEntry(ts, HistoryKind.AutoBuy, bf.Symbol, bf.Shares, bf.Price, bf.Cost, tx));
                }
                break;
            }

            case SellAmountSet sa:
            {
                var existing = s.SellTriggerTable.TryGetValue(sa.Symbol, out var t) ? t : null;
                var before = existing?.ReservedShares ?? 0;
                MoveReservedShares(s, sa.Symbol, sa.ReservedShares - before);
                // As for buys: a re-size of an armed sell keeps the SET_SELL_TRIGGER's tx.
                s.SellTriggerTable[sa.Symbol] = existing is null
                    ? new SellTrigger(sa.Symbol, sa.Amount, null, 0, ++s.TriggerVersion, tx)
                    : existing with { Amount = sa.Amount, ReservedShares = sa.ReservedShares, Version = ++s.TriggerVersion, TxNum = existing.Armed ? existing.TxNum : tx };
                break;
            }

            case SellTriggerSet st:
            {
                var t = s.SellTriggerTable[st.Symbol];
                MoveReservedShares(s, st.Symbol, st.ReservedShares - t.ReservedShares);
                s.SellTriggerTable[st.Symbol] = t with { Price = st.Price, ReservedShares = st.ReservedShares, Version = ++s.TriggerVersion, TxNum = tx };
                break;
            }

            case SellTriggerCancelled sx:
                MoveReservedShares(s, sx.Symbol, -sx.ReturnedShares);
                s.SellTriggerTable.Remove(sx.Symbol);
                s.TriggerVersion++;
                break;

            case SellTriggerFired sf:
            {
                RemoveSoldShares(s, sf.Symbol, sf.Shares);
                s.SellTriggerTable.Remove(sf.Symbol);
                s.TriggerVersion++;
                s.Cash += sf.Proceeds;
                AddHistory(s, new HistoryEntry(ts, HistoryKind.AutoSell, sf.Symbol, sf.Shares, sf.Price, sf.Proceeds, tx));
                break;
            }

            default:
                throw new InvalidOperationException($"unknown account change {change.GetType().Name}");
        }
    }

    /// <summary>Positive: free shares become reserved; negative: reserved shares return.</summary>
    private static void MoveReservedShares(AccountState s, string symbol, int delta)
    {
        if (delta == 0) return;
        var h = s.HoldingOf(symbol);
        SetHolding(s, symbol, h with { Shares = h.Shares - delta, ReservedShares = h.ReservedShares + delta });
    }

    /// <summary>
    /// Bought shares join the free ones and what was paid for them joins the cost. A holding that does not exist yet
    /// (never held, or sold out) starts from a known cost of zero; an unknown cost stays unknown.
    /// </summary>
    private static void AddBoughtShares(AccountState s, string symbol, int shares, decimal paid)
    {
        s.HoldingsTable[symbol] = s.HoldingsTable.TryGetValue(symbol, out var h)
            ? h with { Shares = h.Shares + shares, Cost = h.Cost + paid }
            : new Holding(shares, 0) { Cost = paid };
    }

    /// <summary>
    /// Sold shares leave the reserved ones (a sell always sells what it reserved) and take their average cost with
    /// them, rounded to cents, so what stays is the average cost of the shares still held.
    /// </summary>
    private static void RemoveSoldShares(AccountState s, string symbol, int shares)
    {
        var h = s.HoldingOf(symbol);
        var cost = h.Cost is { } c && h.Total > 0 ? c - Math.Round(c * shares / h.Total, 2, MidpointRounding.ToEven) : h.Cost;
        SetHolding(s, symbol, h with { ReservedShares = h.ReservedShares - shares, Cost = cost });
    }

    private static void SetHolding(AccountState s, string symbol, Holding h)
    {
        if (h.Total == 0) s.HoldingsTable.Remove(symbol);
        else s.HoldingsTable[symbol] = h;
    }

    private static PendingOrder RemoveOrder(List<PendingOrder> orders, long orderId)
    {
        for (var i = orders.Count - 1; i >= 0; i--)
        {
            if (orders[i].OrderId == orderId)
            {
                var p = orders[i];
                orders.RemoveAt(i);
                return p;
            }
        }
        throw new InvalidOperationException($"pending order {orderId} not found");
    }

    private static void AddHistory(AccountState s, HistoryEntry entry)
    {
        s.HistoryList.AddLast(entry);
        s.HistoryTotal++;
        if (s.HistoryList.Count > AccountState.HistoryLimit) s.HistoryList.RemoveFirst();
    }
}
