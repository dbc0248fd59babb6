using DayTrading.Accounts;

namespace DayTrading.Serialization;

/// <summary>
/// A persisted snapshot of an account's books (manifest AS1). Encoded when taken: the snapshot store serializes
/// later, on its own thread, while the account goes on changing its state.
/// </summary>
public sealed class AccountSnapshot
{
    internal byte[] Bytes { get; }

    internal AccountSnapshot(byte[] bytes) => Bytes = bytes;

    public static AccountSnapshot Capture(AccountState state)
    {
        var w = BinaryWriterBuffer.Rent();
        AccountSnapshotCodec.Write(w, state);
        return new AccountSnapshot(w.ToArrayAndReturn());
    }

    public AccountState Restore()
    {
        var r = new BinaryReaderSpan(Bytes);
        return AccountSnapshotCodec.Read(ref r);
    }
}

/// <summary>Writes and reads <see cref="AccountState"/> for snapshots. The field order is the AS1 contract.</summary>
internal static class AccountSnapshotCodec
{
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

        w.VarInt(s.RememberedOrder.Count);
        foreach (var key in s.RememberedOrder)
        {
            var o = s.Remembered[key];
            w.String(key.RunId);
            w.VarLong(key.TxNum);
            w.Byte((byte)o.Kind);
            w.String(o.Error);
            DayTradingSerializer.WriteQuoteUsed(w, o.Quote);
            w.VarInt(o.Shares);
        }
    }

    public static AccountState Read(ref BinaryReaderSpan r)
    {
        var s = new AccountState(r.RequiredString())
        {
            Exists = r.Bool(),
            Cash = r.Decimal(),
            ReservedCash = r.Decimal(),
            NextOrderId = r.VarLong(),
            TriggerVersion = r.VarLong(),
        };
        var n = r.VarInt();
        for (var i = 0; i < n; i++) s.Holdings[r.RequiredString()] = new Holding(r.VarInt(), r.VarInt());
        ReadOrders(ref r, s.PendingBuys);
        ReadOrders(ref r, s.PendingSells);
        n = r.VarInt();
        for (var i = 0; i < n; i++)
        {
            var t = new BuyTrigger(r.RequiredString(), r.Decimal(), r.NullableDecimal(), r.VarLong(), r.VarLong());
            s.BuyTriggers[t.Symbol] = t;
        }
        n = r.VarInt();
        for (var i = 0; i < n; i++)
        {
            var t = new SellTrigger(r.RequiredString(), r.Decimal(), r.NullableDecimal(), r.VarInt(), r.VarLong(), r.VarLong());
            s.SellTriggers[t.Symbol] = t;
        }
        s.HistoryTotal = r.VarLong();
        n = r.VarInt();
        for (var i = 0; i < n; i++)
        {
            s.History.AddLast(new HistoryEntry(r.VarLong(), (HistoryKind)r.Byte(), r.String(), r.VarInt(), r.Decimal(), r.Decimal(), r.VarLong()));
        }
        n = r.VarInt();
        for (var i = 0; i < n; i++)
        {
            var key = new RequestKey(r.RequiredString(), r.VarLong());
            var outcome = new RememberedOutcome((CommandKind)r.Byte(), r.String(), DayTradingSerializer.ReadQuoteUsed(ref r), r.VarInt());
            s.Remembered[key] = outcome;
            s.RememberedOrder.Enqueue(key);
        }
        return s;
    }

    private static void WriteOrders(BinaryWriterBuffer w, List<PendingOrder> orders)
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

    private static void ReadOrders(ref BinaryReaderSpan r, List<PendingOrder> into)
    {
        var n = r.VarInt();
        for (var i = 0; i < n; i++)
        {
            into.Add(new PendingOrder(r.VarLong(), r.RequiredString(), r.VarInt(), r.Decimal(), r.VarLong(), r.VarLong(), r.VarLong()));
        }
    }
}
