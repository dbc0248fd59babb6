using DayTrading.Binary;

namespace DayTrading.Accounts;

/// <summary>
/// A persisted snapshot of an account's books (manifest AS3; AS1 and AS2 are still read). Encoded when taken: the snapshot
/// store serializes later, on its own thread, while the account goes on changing its state.
/// </summary>
public sealed class AccountSnapshot
{
    internal byte[] Bytes { get; }

    /// <summary>The codec version of <see cref="Bytes"/>: 1 (AS1), 2 (AS2) or 3 (AS3).</summary>
    internal int Version { get; }

    internal AccountSnapshot(byte[] bytes, int version)
    {
        Bytes = bytes;
        Version = version;
    }

    public static AccountSnapshot Capture(AccountState state)
    {
        var w = BinaryWriterBuffer.Rent();
        AccountSnapshotCodec.Write(w, state);
        return new AccountSnapshot(w.ToArrayAndReturn(), AccountSnapshotCodec.CurrentVersion);
    }

    public AccountState Restore()
    {
        var r = new BinaryReaderSpan(Bytes);
        return AccountSnapshotCodec.Read(ref r, Version);
    }
}

/// <summary>
/// Writes and reads <see cref="AccountState"/> for snapshots. The field order is the contract: AS1 ends with the
/// remembered requests and their whole outcomes; AS2 ends with the remembered requests as journal positions (run
/// ids once, then run-id slot, transaction number, sequence number per entry), then the outcomes still carried over
/// from an AS1 snapshot, in AS1's form. AS3 is AS2 with each holding's cost (a nullable decimal) after its reserved
/// shares; holdings read from AS1 and AS2 have an unknown cost (null) until they are sold out.
/// </summary>
internal static class AccountSnapshotCodec
{
    public const int CurrentVersion = 3;

    public static void Write(BinaryWriterBuffer w, AccountState s)
    {
        w.String(s.UserId);
        w.Bool(s.Exists);
        w.Decimal(s.Cash);
        w.Decimal(s.ReservedCash);
        w.VarLong(s.NextOrderId);
        w.VarLong(s.TriggerVersion);

        w.VarInt(s.Holdings.Count);
        foreach (var (sym, h) in s.Holdings)
        {
            w.String(sym);
            w.VarInt(h.Shares);
            w.VarInt(h.ReservedShares);
            w.NullableDecimal(h.Cost);
        }
        WriteOrders(w, s.PendingBuys);
        WriteOrders(w, s.PendingSells);

        w.VarInt(s.BuyTriggers.Count);
        foreach (var t in s.BuyTriggers.Values)
        {
            w.String(t.Symbol);
            w.Decimal(t.Reserve);
            w.NullableDecimal(t.Price);
            w.VarLong(t.Version);
            w.VarLong(t.TxNum);
        }
        w.VarInt(s.SellTriggers.Count);
        foreach (var t in s.SellTriggers.Values)
        {
            w.String(t.Symbol);
            w.Decimal(t.Amount);
            w.NullableDecimal(t.Price);
            w.VarInt(t.ReservedShares);
            w.VarLong(t.Version);
            w.VarLong(t.TxNum);
        }

        w.VarLong(s.HistoryTotal);
        w.VarInt(s.History.Count);
        foreach (var h in s.History)
        {
            w.VarLong(h.TimestampMs);
            w.Byte((byte)h.Kind);
            w.String(h.Symbol);
            w.VarInt(h.Shares);
            w.Decimal(h.Price);
            w.Decimal(h.Amount);
            w.VarLong(h.TxNum);
        }

        var runIds = new List<string>();
        var entries = new List<(int Run, long Tx, long Seq)>(s.Remembered.Count);
        foreach (var (runId, tx, seq) in s.Remembered.Entries())
        {
            var run = runIds.IndexOf(runId);
            if (run < 0)
            {
                run = runIds.Count;
                runIds.Add(runId);
            }
            entries.Add((run, tx, seq));
        }
        w.VarInt(runIds.Count);
        foreach (var id in runIds) w.String(id);
        w.VarInt(entries.Count);
        foreach (var (run, tx, seq) in entries)
        {
            w.VarInt(run);
            w.VarLong(tx);
            w.VarLong(seq);
        }
        WriteOutcomes(w, s.CarriedOutcomes);
    }

    private static void WriteOutcomes(BinaryWriterBuffer w, IReadOnlyList<KeyValuePair<RequestKey, RememberedOutcome>> outcomes)
    {
        w.VarInt(outcomes.Count);
        foreach (var (key, o) in outcomes)
        {
            w.String(key.RunId);
            w.VarLong(key.TxNum);
            w.Byte((byte)o.Kind);
            w.String(o.Error);
            QuoteUsedEncoding.Write(w, o.Quote);
            w.VarInt(o.Shares);
        }
    }

    public static AccountState Read(ref BinaryReaderSpan r, int version)
    {
        // Read in the order written; the books are made from them at once.
        var userId = r.RequiredString();
        var (exists, cash, reservedCash, nextOrderId, triggerVersion) = (r.Bool(), r.Decimal(), r.Decimal(), r.VarLong(), r.VarLong());
        var n = r.VarInt();
        var holdings = new List<KeyValuePair<string, Holding>>(n);
        for (var i = 0; i < n; i++)
        {
            var (symbol, shares, reserved) = (r.RequiredString(), r.VarInt(), r.VarInt());
            holdings.Add(new(symbol, new Holding(shares, reserved) { Cost = version >= 3 ? r.NullableDecimal() : null }));
        }
        var pendingBuys = ReadOrders(ref r);
        var pendingSells = ReadOrders(ref r);
        n = r.VarInt();
        var buyTriggers = new List<BuyTrigger>(n);
        for (var i = 0; i < n; i++) buyTriggers.Add(new BuyTrigger(r.RequiredString(), r.Decimal(), r.NullableDecimal(), r.VarLong(), r.VarLong()));
        n = r.VarInt();
        var sellTriggers = new List<SellTrigger>(n);
        for (var i = 0; i < n; i++) sellTriggers.Add(new SellTrigger(r.RequiredString(), r.Decimal(), r.NullableDecimal(), r.VarInt(), r.VarLong(), r.VarLong()));
        var historyTotal = r.VarLong();
        n = r.VarInt();
        var history = new List<HistoryEntry>(n);
        for (var i = 0; i < n; i++)
            history.Add(new HistoryEntry(r.VarLong(), (HistoryKind)r.Byte(), r.String(), r.VarInt(), r.Decimal(), r.Decimal(), r.VarLong()));
        var s = AccountState.Restore(userId, exists, cash, reservedCash, nextOrderId, triggerVersion, holdings, pendingBuys, pendingSells,
            buyTriggers, sellTriggers, historyTotal, history);
        if (version >= 2)
        {
            var runIds = new string[r.VarInt()];
            for (var i = 0; i < runIds.Length; i++) runIds[i] = r.RequiredString();
            n = r.VarInt();
            for (var i = 0; i < n; i++) s.Remembered.Add(runIds[r.VarInt()], r.VarLong(), r.VarLong());
        }
        n = r.VarInt();
        var carried = new List<KeyValuePair<RequestKey, RememberedOutcome>>(n);
        for (var i = 0; i < n; i++)
        {
            var key = new RequestKey(r.RequiredString(), r.VarLong());
            carried.Add(new(key, new RememberedOutcome((CommandKind)r.Byte(), r.String(), QuoteUsedEncoding.Read(ref r), r.VarInt())));
        }
        s.CarryOutcomes(carried);
        return s;
    }

    private static void WriteOrders(BinaryWriterBuffer w, IReadOnlyList<PendingOrder> orders)
    {
        w.VarInt(orders.Count);
        foreach (var p in orders)
        {
            w.VarLong(p.OrderId);
            w.String(p.Symbol);
            w.VarInt(p.Shares);
            w.Decimal(p.Price);
            w.VarLong(p.IssuedMs);
            w.VarLong(p.ExpiresMs);
            w.VarLong(p.TxNum);
        }
    }

    private static List<PendingOrder> ReadOrders(ref BinaryReaderSpan r)
    {
        var n = r.VarInt();
        var orders = new List<PendingOrder>(n);
        for (var i = 0; i < n; i++)
            orders.Add(new PendingOrder(r.VarLong(), r.RequiredString(), r.VarInt(), r.Decimal(), r.VarLong(), r.VarLong(), r.VarLong()));
        return orders;
    }
}
