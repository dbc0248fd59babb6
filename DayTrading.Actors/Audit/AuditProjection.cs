using DayTrading.Accounts;
using DayTrading.Quotes;

namespace DayTrading.Audit;

/// <summary>
/// The audit log as a projection of the journal (SPEC §5, docs/AUDIT.md): pure functions from one persisted event
/// (with its persistence id) to the audit entries it stands for. No state is carried from one event to the next, so
/// a dump is any prefix of the event log mapped event by event, and nothing acknowledged is missing or doubled as long
/// as the journal holds each event exactly once.
/// </summary>
public static class AuditProjection
{
    /// <summary>Persistence ids of accounts are <c>account-&lt;user&gt;</c>; the user is not repeated in the events.</summary>
    public const string AccountPersistenceIdPrefix = "account-";

    public const string AddAction = "add";
    public const string RemoveAction = "remove";

    /// <summary>
    /// The schema's <c>command</c> is an enumeration of the sixteen commands; a rejected line whose command is not
    /// one of them is logged under this name, with the raw name in the errorMessage.
    /// </summary>
    public const string UnknownCommandFallback = "DISPLAY_SUMMARY";

    /// <summary>
    /// <c>transactionNum</c> is an <c>xsd:positiveInteger</c>; events that carry no transaction number (0: a trigger
    /// refresh's quote hit, a line whose number could not be read) are logged under this one.
    /// </summary>
    public const long TxNumFallback = 1;

    /// <summary>The entries of one event, in a new list (convenient; the dump uses the allocation-free overload).</summary>
    public static IReadOnlyList<AuditEntry> Project(string persistenceId, object? evt)
    {
        var list = new List<AuditEntry>(2);
        Project(persistenceId, evt, list);
        return list;
    }

    /// <summary>Appends the entries of one event to <paramref name="into"/>; returns how many. Unknown events give none.</summary>
    public static int Project(string persistenceId, object? evt, List<AuditEntry> into)
    {
        var before = into.Count;
        switch (evt)
        {
            case CommandHandled c:
                ProjectCommand(UserOf(persistenceId), c, into);
                break;
            case ReservationsExpired x:
                ProjectExpiry(UserOf(persistenceId), x, into);
                break;
            case TriggerExecuted t:
                ProjectTrigger(UserOf(persistenceId), t, into);
                break;
            case QuoteFetched q:
                into.Add(AuditEntry.QuoteHit(q.TimestampMs, q.Server, SchemaTxNum(q.TxNum), q.Quote.Price, q.Quote.Symbol,
                    q.Quote.UserId, q.Quote.TimestampMs, q.Quote.CryptoKey));
                break;
            case RequestRejected r:
                ProjectRejected(r, into);
                break;
            case AdminDumpRequested d:
            {
                var tx = SchemaTxNum(d.TxNum);
                var command = CommandKind.DumpLog.Name();
                into.Add(AuditEntry.UserCommand(d.TimestampMs, d.Server, tx, command, null, null, d.FileName, null));
                if (d.Error is not null) into.Add(AuditEntry.Error(d.TimestampMs, d.Server, tx, command, null, null, d.FileName, null, d.Error));
                break;
            }
            case DumpFailed f:
                into.Add(AuditEntry.Error(f.TimestampMs, f.Server, SchemaTxNum(f.TxNum), CommandKind.DumpLog.Name(), f.UserId, null, f.FileName, null, f.Error));
                break;
        }
        return into.Count - before;
    }

    /// <summary>The user of an account persistence id (<c>account-alice</c> → <c>alice</c>); other ids are returned as they are.</summary>
    public static string UserOf(string persistenceId) =>
        persistenceId.StartsWith(AccountPersistenceIdPrefix, StringComparison.Ordinal)
            ? persistenceId[AccountPersistenceIdPrefix.Length..]
            : persistenceId;

    /// <summary>True when the id is an account's and not <paramref name="user"/>'s: its events can be skipped unread.</summary>
    public static bool IsOtherAccount(string persistenceId, string user) =>
        persistenceId.StartsWith(AccountPersistenceIdPrefix, StringComparison.Ordinal)
        && !persistenceId.AsSpan(AccountPersistenceIdPrefix.Length).SequenceEqual(user);

    public static long SchemaTxNum(long txNum) => txNum > 0 ? txNum : TxNumFallback;

    /// <summary>The symbol if the schema can hold it (1–3 characters), else null.</summary>
    public static string? SchemaSymbol(string? symbol) => string.IsNullOrEmpty(symbol) || symbol.Length > Rules.MaxSymbolLength ? null : symbol;

    /// <summary>Whether a command carries <c>funds</c> in its userCommand: the amount, or the trigger price for SET_*_TRIGGER.</summary>
    public static bool HasFunds(CommandKind kind) => kind is CommandKind.Add or CommandKind.Buy or CommandKind.Sell
        or CommandKind.SetBuyAmount or CommandKind.SetBuyTrigger or CommandKind.SetSellAmount or CommandKind.SetSellTrigger;

    /// <summary>
    /// How a change moves the user's total money (cash + reserved cash): positive in, negative out, 0 for the many
    /// changes that only move money between cash and reserved cash (reservations, releases, refunds) or move shares.
    /// </summary>
    public static decimal TotalMoneyDelta(AccountChange change) => change switch
    {
        CashAdded a => a.Amount,
        BuyCommitted b => -b.Cost,
        SellCommitted s => s.Proceeds,
        BuyTriggerFired bf => -bf.Cost,
        SellTriggerFired sf => sf.Proceeds,
        _ => 0m,
    };

    private static void ProjectCommand(string user, CommandHandled c, List<AuditEntry> into)
    {
        var tx = SchemaTxNum(c.TxNum);
        var command = c.Kind.Name();
        var symbol = SchemaSymbol(c.Symbol);
        decimal? funds = HasFunds(c.Kind) ? c.Amount : null;
        into.Add(AuditEntry.UserCommand(c.TimestampMs, c.Server, tx, command, user, symbol, c.FileName, funds));
        if (!c.Ok)
        {
            into.Add(AuditEntry.Error(c.TimestampMs, c.Server, tx, command, user, symbol, c.FileName, funds,
                WithDroppedSymbol(c.Error!, c.Symbol, symbol)));
            return;
        }
        foreach (var change in c.Changes) AddMoney(into, c.TimestampMs, c.Server, tx, user, TotalMoneyDelta(change));
    }

    private static void ProjectExpiry(string user, ReservationsExpired x, List<AuditEntry> into)
    {
        foreach (var change in x.Changes)
        {
            switch (change)
            {
                case BuyReleased b:
                    into.Add(AuditEntry.System(x.TimestampMs, x.Server, SchemaTxNum(b.TxNum), CommandKind.Buy.Name(), user, SchemaSymbol(b.Symbol), b.Cost));
                    break;
                case SellReleased s:
                    // Shares return, no money moves, and the event does not carry the sell's price: no funds.
                    into.Add(AuditEntry.System(x.TimestampMs, x.Server, SchemaTxNum(s.TxNum), CommandKind.Sell.Name(), user, SchemaSymbol(s.Symbol), null));
                    break;
            }
        }
    }

    private static void ProjectTrigger(string user, TriggerExecuted t, List<AuditEntry> into)
    {
        var tx = SchemaTxNum(t.TxNum);
        switch (t.Change)
        {
            case BuyTriggerFired b:
                into.Add(AuditEntry.System(t.TimestampMs, t.Server, tx, CommandKind.SetBuyTrigger.Name(), user, SchemaSymbol(b.Symbol), b.Cost));
                break;
            case SellTriggerFired s:
                into.Add(AuditEntry.System(t.TimestampMs, t.Server, tx, CommandKind.SetSellTrigger.Name(), user, SchemaSymbol(s.Symbol), s.Proceeds));
                break;
            default:
                return;
        }
        AddMoney(into, t.TimestampMs, t.Server, tx, user, TotalMoneyDelta(t.Change));
    }

    private static void ProjectRejected(RequestRejected r, List<AuditEntry> into)
    {
        var tx = SchemaTxNum(r.TxNum);
        var symbol = SchemaSymbol(r.Symbol);
        var reason = WithDroppedSymbol(r.Reason, r.Symbol, symbol);
        if (r.Command is not null && CommandNames.TryParse(r.Command, out var kind))
        {
            var command = kind.Name();
            into.Add(AuditEntry.UserCommand(r.TimestampMs, r.Server, tx, command, r.UserId, symbol, r.FileName, r.Funds));
            into.Add(AuditEntry.Error(r.TimestampMs, r.Server, tx, command, r.UserId, symbol, r.FileName, r.Funds, reason));
        }
        else
        {
            var message = r.Command is null ? reason : $"unknown command '{r.Command}': {reason}";
            into.Add(AuditEntry.Error(r.TimestampMs, r.Server, tx, UnknownCommandFallback, r.UserId, symbol, r.FileName, r.Funds, message));
        }
    }

    private static void AddMoney(List<AuditEntry> into, long ts, string server, long tx, string user, decimal delta)
    {
        if (delta > 0) into.Add(AuditEntry.Account(ts, server, tx, AddAction, user, delta));
        else if (delta < 0) into.Add(AuditEntry.Account(ts, server, tx, RemoveAction, user, -delta));
    }

    private static string WithDroppedSymbol(string message, string? raw, string? kept) =>
        kept is null && !string.IsNullOrEmpty(raw) ? $"{message} (stock symbol '{raw}' not logged: over {Rules.MaxSymbolLength} characters)" : message;
}
