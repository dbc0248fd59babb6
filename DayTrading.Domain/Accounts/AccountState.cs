namespace DayTrading.Accounts;

/// <summary>
/// The books of one trader. Changed only inside the domain (<see cref="AccountDomain.Apply"/>, expiry); read by the
/// decide functions and, through read-only views, by everything else. Mutable inside on purpose: an account handles
/// thousands of commands and copying its maps for each would be waste. Rebuilt from a snapshot with
/// <see cref="Restore"/>.
/// </summary>
public sealed class AccountState
{
    public const int HistoryLimit = 100;

    public string UserId { get; }
    public bool Exists { get; internal set; }

    /// <summary>Cash free to spend.</summary>
    public decimal Cash { get; internal set; }

    /// <summary>Cash held by pending buys and buy reserves.</summary>
    public decimal ReservedCash { get; internal set; }

    public long NextOrderId { get; internal set; } = 1;

    /// <summary>Shares per symbol: free, and reserved by pending sells and armed sell triggers.</summary>
    public IReadOnlyDictionary<string, Holding> Holdings => HoldingsTable;
    internal readonly SortedDictionary<string, Holding> HoldingsTable = new(StringComparer.Ordinal);

    /// <summary>Pending buys, oldest first; the newest is the stack's top.</summary>
    public IReadOnlyList<PendingOrder> PendingBuys => PendingBuyList;
    internal readonly List<PendingOrder> PendingBuyList = [];

    public IReadOnlyList<PendingOrder> PendingSells => PendingSellList;
    internal readonly List<PendingOrder> PendingSellList = [];

    public IReadOnlyDictionary<string, BuyTrigger> BuyTriggers => BuyTriggerTable;
    internal readonly SortedDictionary<string, BuyTrigger> BuyTriggerTable = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, SellTrigger> SellTriggers => SellTriggerTable;
    internal readonly SortedDictionary<string, SellTrigger> SellTriggerTable = new(StringComparer.Ordinal);

    /// <summary>Newest last; at most <see cref="HistoryLimit"/>.</summary>
    public IReadOnlyCollection<HistoryEntry> History => HistoryList;
    internal readonly LinkedList<HistoryEntry> HistoryList = new();

    public long HistoryTotal { get; internal set; }

    /// <summary>
    /// Requests that carried a run id, with where their outcome lies in the journal, for answering retries
    /// (bounded, oldest forgotten first). Filled by the account entity once an outcome is durable.
    /// </summary>
    public RememberedRequests Remembered { get; } = new();

    /// <summary>
    /// Whole outcomes restored from an AS1 snapshot, which did not record journal positions. They are kept (and
    /// written into later snapshots) so that retries of requests from before an upgrade are still answered.
    /// </summary>
    public IReadOnlyList<KeyValuePair<RequestKey, RememberedOutcome>> CarriedOutcomes { get; private set; } = [];

    public void CarryOutcomes(List<KeyValuePair<RequestKey, RememberedOutcome>> outcomes) => CarriedOutcomes = outcomes;

    /// <summary>Bumped on every change to any trigger, so a fire request made against an older arming is refused.</summary>
    public long TriggerVersion { get; internal set; }

    public AccountState(string userId) => UserId = userId;

    private AccountState(string userId, bool exists, decimal cash, decimal reservedCash, long nextOrderId, long triggerVersion)
        : this(userId)
    {
        Exists = exists;
        Cash = cash;
        ReservedCash = reservedCash;
        NextOrderId = nextOrderId;
        TriggerVersion = triggerVersion;
    }

    /// <summary>The books as a snapshot stored them (the idempotency memory is added by the snapshot's reader).</summary>
    public static AccountState Restore(string userId, bool exists, decimal cash, decimal reservedCash, long nextOrderId, long triggerVersion,
        IEnumerable<KeyValuePair<string, Holding>> holdings, IEnumerable<PendingOrder> pendingBuys, IEnumerable<PendingOrder> pendingSells,
        IEnumerable<BuyTrigger> buyTriggers, IEnumerable<SellTrigger> sellTriggers, long historyTotal, IEnumerable<HistoryEntry> history)
    {
        var s = new AccountState(userId, exists, cash, reservedCash, nextOrderId, triggerVersion) { HistoryTotal = historyTotal };
        foreach (var (symbol, h) in holdings) s.HoldingsTable[symbol] = h;
        s.PendingBuyList.AddRange(pendingBuys);
        s.PendingSellList.AddRange(pendingSells);
        foreach (var t in buyTriggers) s.BuyTriggerTable[t.Symbol] = t;
        foreach (var t in sellTriggers) s.SellTriggerTable[t.Symbol] = t;
        foreach (var e in history) s.HistoryList.AddLast(e);
        return s;
    }

    public Holding HoldingOf(string symbol) => HoldingsTable.TryGetValue(symbol, out var h) ? h : default;

    public long? EarliestExpiryMs()
    {
        long? earliest = null;
        foreach (var p in PendingBuyList) earliest = earliest is null || p.ExpiresMs < earliest ? p.ExpiresMs : earliest;
        foreach (var p in PendingSellList) earliest = earliest is null || p.ExpiresMs < earliest ? p.ExpiresMs : earliest;
        return earliest;
    }

    public bool HasPending => PendingBuys.Count > 0 || PendingSells.Count > 0;

    public bool TryGetCarriedOutcome(string runId, long txNum, out RememberedOutcome outcome)
    {
        foreach (var (key, o) in CarriedOutcomes)
        {
            if (key.TxNum == txNum && key.RunId == runId)
            {
                outcome = o;
                return true;
            }
        }
        outcome = default;
        return false;
    }
}

public readonly record struct Holding(int Shares, int ReservedShares)
{
    public int Total => Shares + ReservedShares;

    /// <summary>
    /// What all <see cref="Total"/> shares cost (average-cost method); null when unknown: restored from a snapshot
    /// written before costs were kept, and unknown until the holding is sold out. Not positional, so the books'
    /// deconstruction and two-number construction stay as they were; rebuild a holding with <c>with</c> to keep it.
    /// </summary>
    public decimal? Cost { get; init; }
}

/// <summary>A pending buy or sell; <see cref="TxNum"/> is the transaction number of the BUY or SELL that made it.</summary>
public sealed record PendingOrder(long OrderId, string Symbol, int Shares, decimal Price, long IssuedMs, long ExpiresMs, long TxNum)
{
    public decimal Amount => Shares * Price;
}

/// <summary>
/// A buy reserve, armed once it has a trigger price. <see cref="Version"/> identifies this arming;
/// <see cref="TxNum"/> is the transaction number of the command that last set it.
/// </summary>
public sealed record BuyTrigger(string Symbol, decimal Reserve, decimal? Price, long Version, long TxNum)
{
    public bool Armed => Price is not null;
}

/// <summary>A sell amount, armed once it has a trigger price; armed triggers hold <see cref="ReservedShares"/>.</summary>
public sealed record SellTrigger(string Symbol, decimal Amount, decimal? Price, int ReservedShares, long Version, long TxNum)
{
    public bool Armed => Price is not null;
}

public enum HistoryKind : byte
{
    Add = 1,
    Buy = 2,
    Sell = 3,
    AutoBuy = 4,
    AutoSell = 5,
}

/// <summary>One completed transaction in the user's history: money added, or shares bought or sold.</summary>
public sealed record HistoryEntry(long TimestampMs, HistoryKind Kind, string? Symbol, int Shares, decimal Price, decimal Amount, long TxNum);

public readonly record struct RequestKey(string RunId, long TxNum);

/// <summary>What a remembered request was answered: enough to answer a retry the same way.</summary>
public readonly record struct RememberedOutcome(CommandKind Kind, string? Error, QuoteUsed? Quote, int Shares, RefusalReason Reason = RefusalReason.None);
