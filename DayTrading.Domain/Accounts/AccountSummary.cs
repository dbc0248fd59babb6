using System.Text.Json;
using System.Text.Json.Serialization;

namespace DayTrading.Accounts;

/// <summary>
/// DISPLAY_SUMMARY's answer (SPEC §2), as the wire (one line of JSON) and the web show it. The web's form adds each
/// holding's cost (<see cref="WebJson"/>); the wire's stays exactly what SPEC §2 and external checkers expect.
/// </summary>
public sealed record AccountSummary(
    string User,
    decimal Cash,
    decimal ReservedCash,
    IReadOnlyList<HoldingView> Holdings,
    IReadOnlyList<PendingView> PendingBuys,
    IReadOnlyList<PendingView> PendingSells,
    IReadOnlyList<BuyTriggerView> BuyTriggers,
    IReadOnlyList<SellTriggerView> SellTriggers,
    long HistoryTotal,
    IReadOnlyList<HistoryView> History)
{
    public static AccountSummary From(AccountState s, long nowMs)
    {
        var holdings = s.HoldingsTable.Select(h => new HoldingView(h.Key, h.Value.Shares, h.Value.ReservedShares)).ToArray();
        static PendingView[] Pending(List<PendingOrder> orders, long now) =>
            Enumerable.Reverse(orders).Select(p => new PendingView(p.OrderId, p.Symbol, p.Shares, p.Price, p.Amount, Math.Max(0, p.ExpiresMs - now))).ToArray();
        var buys = s.BuyTriggerTable.Values.Select(t => new BuyTriggerView(t.Symbol, t.Reserve, t.Price)).ToArray();
        var sells = s.SellTriggerTable.Values.Select(t => new SellTriggerView(t.Symbol, t.Amount, t.Price, t.ReservedShares)).ToArray();
        var history = s.HistoryList.Reverse().Select(h => new HistoryView(h.TimestampMs, h.Kind.ToString().ToUpperInvariant(), h.Symbol, h.Shares, h.Price, h.Amount, h.TxNum)).ToArray();
        return new AccountSummary(s.UserId, s.Cash, s.ReservedCash, holdings, Pending(s.PendingBuyList, nowMs), Pending(s.PendingSellList, nowMs), buys, sells, s.HistoryTotal, history);
    }

    public string ToJson() => JsonSerializer.Serialize(this, SummaryJson.Default.AccountSummary);

    /// <summary>
    /// The same JSON as <c>From(s, nowMs).ToJson()</c>, written straight from the books: DISPLAY_SUMMARY is a tenth
    /// of a workload and its history makes it the largest answer, so no view objects are built on the way.
    /// </summary>
    public static string Json(AccountState s, long nowMs) => System.Text.Encoding.UTF8.GetString(WriteJson(s, nowMs, withCost: false));

    /// <summary>The same JSON as UTF-8 bytes (what the wire carries).</summary>
    public static byte[] JsonUtf8(AccountState s, long nowMs) => WriteJson(s, nowMs, withCost: false).ToArray();

    /// <summary>
    /// The web's summary: <see cref="Json"/> with each holding's <c>"cost"</c> (after <c>"reservedShares"</c>, left
    /// out when unknown), written as money is everywhere else. Kept apart from the wire's, which must not change.
    /// <see cref="FromJson"/> reads it and drops the cost: the views are the wire's, and records read from either
    /// form compare equal.
    /// </summary>
    public static string WebJson(AccountState s, long nowMs) => System.Text.Encoding.UTF8.GetString(WriteJson(s, nowMs, withCost: true));

    private static ReadOnlySpan<byte> WriteJson(AccountState s, long nowMs, bool withCost)
    {
        // Written byte by byte rather than through Utf8JsonWriter: the summary is the largest answer (up to 100
        // history rows) and the writer's per-value bookkeeping was 4 % of the node's CPU on the 1.2 M benchmark.
        // The output is byte for byte what the JSON serializer writes (AccountDomainTests compares the two).
        var w = _writer ??= new JsonBytes(16 * 1024);
        w.Clear();
        w.Raw("{\"user\":"u8); w.String(s.UserId);
        w.Raw(",\"cash\":"u8); w.Number(s.Cash);
        w.Raw(",\"reservedCash\":"u8); w.Number(s.ReservedCash);
        w.Raw(",\"holdings\":["u8);
        var first = true;
        foreach (var (symbol, h) in s.HoldingsTable)
        {
            w.Raw(first ? "{\"symbol\":"u8 : ",{\"symbol\":"u8); first = false;
            w.String(symbol);
            w.Raw(",\"shares\":"u8); w.Number(h.Shares);
            w.Raw(",\"reservedShares\":"u8); w.Number(h.ReservedShares);
            if (withCost && h.Cost is { } cost) { w.Raw(",\"cost\":"u8); w.Number(cost); }
            w.Raw("}"u8);
        }
        w.Raw("],\"pendingBuys\":["u8);
        WritePending(w, s.PendingBuyList, nowMs);
        w.Raw("],\"pendingSells\":["u8);
        WritePending(w, s.PendingSellList, nowMs);
        w.Raw("],\"buyTriggers\":["u8);
        first = true;
        foreach (var t in s.BuyTriggerTable.Values)
        {
            w.Raw(first ? "{\"symbol\":"u8 : ",{\"symbol\":"u8); first = false;
            w.String(t.Symbol);
            w.Raw(",\"reserve\":"u8); w.Number(t.Reserve);
            if (t.Price is { } price) { w.Raw(",\"price\":"u8); w.Number(price); }
            w.Raw("}"u8);
        }
        w.Raw("],\"sellTriggers\":["u8);
        first = true;
        foreach (var t in s.SellTriggerTable.Values)
        {
            w.Raw(first ? "{\"symbol\":"u8 : ",{\"symbol\":"u8); first = false;
            w.String(t.Symbol);
            w.Raw(",\"amount\":"u8); w.Number(t.Amount);
            if (t.Price is { } price) { w.Raw(",\"price\":"u8); w.Number(price); }
            w.Raw(",\"reservedShares\":"u8); w.Number(t.ReservedShares);
            w.Raw("}"u8);
        }
        w.Raw("],\"historyTotal\":"u8); w.Number(s.HistoryTotal);
        w.Raw(",\"history\":["u8);
        first = true;
        for (var node = s.HistoryList.Last; node is not null; node = node.Previous)
        {
            var h = node.Value;
            w.Raw(first ? "{\"timestampMs\":"u8 : ",{\"timestampMs\":"u8); first = false;
            w.Number(h.TimestampMs);
            w.Raw(",\"kind\":"u8); w.String(KindNames[(int)h.Kind]);
            if (h.Symbol is not null) { w.Raw(",\"symbol\":"u8); w.String(h.Symbol); }
            w.Raw(",\"shares\":"u8); w.Number(h.Shares);
            w.Raw(",\"price\":"u8); w.Number(h.Price);
            w.Raw(",\"amount\":"u8); w.Number(h.Amount);
            w.Raw(",\"txNum\":"u8); w.Number(h.TxNum);
            w.Raw("}"u8);
        }
        w.Raw("]}"u8);
        return w.Written;
    }

    private static void WritePending(JsonBytes w, List<PendingOrder> orders, long nowMs)
    {
        for (var i = orders.Count - 1; i >= 0; i--)
        {
            var p = orders[i];
            w.Raw(i == orders.Count - 1 ? "{\"orderId\":"u8 : ",{\"orderId\":"u8);
            w.Number(p.OrderId);
            w.Raw(",\"symbol\":"u8); w.String(p.Symbol);
            w.Raw(",\"shares\":"u8); w.Number(p.Shares);
            w.Raw(",\"price\":"u8); w.Number(p.Price);
            w.Raw(",\"amount\":"u8); w.Number(p.Amount);
            w.Raw(",\"expiresInMs\":"u8); w.Number(Math.Max(0, p.ExpiresMs - nowMs));
            w.Raw("}"u8);
        }
    }

    /// <summary>A growable UTF-8 buffer with the few JSON writes the summary needs.</summary>
    private sealed class JsonBytes(int capacity)
    {
        private byte[] _data = new byte[capacity];
        private int _length;

        public ReadOnlySpan<byte> Written => _data.AsSpan(0, _length);

        public void Clear() => _length = 0;

        public void Raw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

        public void Number(long v)
        {
            System.Buffers.Text.Utf8Formatter.TryFormat(v, Reserve(20), out var n);
            _length -= 20 - n;
        }

        public void Number(decimal v)
        {
            // The same 'G' format Utf8JsonWriter uses for decimals (the scale is kept: 12.30 stays "12.30").
            System.Buffers.Text.Utf8Formatter.TryFormat(v, Reserve(32), out var n);
            _length -= 32 - n;
        }

        public void String(string s)
        {
            // Ids and symbols are plain ASCII letters and digits in practice; anything else is escaped exactly as
            // the JSON writer's default encoder escapes it.
            if (IsPlain(s))
            {
                var span = Reserve(s.Length + 2);
                span[0] = (byte)'"';
                for (var i = 0; i < s.Length; i++) span[i + 1] = (byte)s[i];
                span[s.Length + 1] = (byte)'"';
                return;
            }
            var encoded = JsonEncodedText.Encode(s).EncodedUtf8Bytes;
            var dst = Reserve(encoded.Length + 2);
            dst[0] = (byte)'"';
            encoded.CopyTo(dst[1..]);
            dst[encoded.Length + 1] = (byte)'"';
        }

        private static bool IsPlain(string s)
        {
            foreach (var c in s)
                if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.' or ' ')) return false;
            return true;
        }

        private Span<byte> Reserve(int bytes)
        {
            if (_length + bytes > _data.Length) Array.Resize(ref _data, Math.Max(_data.Length * 2, _length + bytes));
            var span = _data.AsSpan(_length, bytes);
            _length += bytes;
            return span;
        }
    }

    private static readonly string[] KindNames = Enumerable.Range(0, (int)Enum.GetValues<HistoryKind>().Max() + 1)
        .Select(k => Enum.IsDefined((HistoryKind)k) ? ((HistoryKind)k).ToString().ToUpperInvariant() : "").ToArray();

    // One writer per thread: an account's summary is written on its actor's thread and finished there.
    [ThreadStatic] private static JsonBytes? _writer;

    public static AccountSummary? FromJson(string json) => JsonSerializer.Deserialize(json, SummaryJson.Default.AccountSummary);
}

public sealed record HoldingView(string Symbol, int Shares, int ReservedShares);

/// <summary>A pending buy or sell, newest first, with the milliseconds it has left before it expires.</summary>
public sealed record PendingView(long OrderId, string Symbol, int Shares, decimal Price, decimal Amount, long ExpiresInMs);

public sealed record BuyTriggerView(string Symbol, decimal Reserve, decimal? Price);

public sealed record SellTriggerView(string Symbol, decimal Amount, decimal? Price, int ReservedShares);

public sealed record HistoryView(long TimestampMs, string Kind, string? Symbol, int Shares, decimal Price, decimal Amount, long TxNum);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AccountSummary))]
internal partial class SummaryJson : JsonSerializerContext;
