using DayTrading.Accounts;

namespace DayTrading.Binary;

/// <summary>The quote an outcome used, as events, replies and account snapshots all store it (the field order is persisted).</summary>
internal static class QuoteUsedEncoding
{
    public static void Write(BinaryWriterBuffer w, QuoteUsed? q)
    {
        w.Bool(q is not null);
        if (q is null) return;
        w.String(q.Symbol);
        w.Decimal(q.Price);
        w.VarLong(q.QuoteTimeMs);
        w.String(q.CryptoKey);
    }

    public static QuoteUsed? Read(ref BinaryReaderSpan r) =>
        r.Bool() ? new QuoteUsed(r.RequiredString(), r.Decimal(), r.VarLong(), r.RequiredString()) : null;
}
