using System.Text.Json;
using System.Text.Json.Serialization;

namespace DayTrading.Accounts;

/// <summary>DISPLAY_SUMMARY's answer (SPEC §2), as the wire (one line of JSON) and the web show it.</summary>
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
        var holdings = s.Holdings.Select(h => new HoldingView(h.Key, h.Value.Shares, h.Value.ReservedShares)).ToArray();
        static PendingView[] Pending(List<PendingOrder> orders, long now) =>
            Enumerable.Reverse(orders).Select(p => new PendingView(p.OrderId, p.Symbol, p.Shares, p.Price, p.Amount, Math.Max(0, p.ExpiresMs - now))).ToArray();
        var buys = s.BuyTriggers.Values.Select(t => new BuyTriggerView(t.Symbol, t.Reserve, t.Price)).ToArray();
        var sells = s.SellTriggers.Values.Select(t => new SellTriggerView(t.Symbol, t.Amount, t.Price, t.ReservedShares)).ToArray();
        var history = s.History.Reverse().Select(h => new HistoryView(h.TimestampMs, h.Kind.ToString().ToUpperInvariant(), h.Symbol, h.Shares, h.Price, h.Amount, h.TxNum)).ToArray();
        return new AccountSummary(s.UserId, s.Cash, s.ReservedCash, holdings, Pending(s.PendingBuys, nowMs), Pending(s.PendingSells, nowMs), buys, sells, s.HistoryTotal, history);
    }

    public string ToJson() => JsonSerializer.Serialize(this, SummaryJson.Default.AccountSummary);

    /// <summary>
    /// The same JSON as <c>From(s, nowMs).ToJson()</c>, written straight from the books: DISPLAY_SUMMARY is a tenth
    /// of a workload and its history makes it the largest answer, so no view objects are built on the way.
    /// </summary>
    public static string Json(AccountState s, long nowMs) => System.Text.Encoding.UTF8.GetString(WriteJson(s, nowMs));

    /// <summary>The same JSON as UTF-8 bytes (what the wire carries).</summary>
    public static byte[] JsonUtf8(AccountState s, long nowMs) => WriteJson(s, nowMs).ToArray();

    private static ReadOnlySpan<byte> WriteJson(AccountState s, long nowMs)
    {
        var buffer = _buffer ??= new System.Buffers.ArrayBufferWriter<byte>(16 * 1024);
        buffer.ResetWrittenCount();
        // The shape is fixed by this method, so the writer's per-call structure checks are skipped.
        var w = _writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        w.Reset(buffer);
        w.WriteStartObject();
        w.WriteString("user"u8, s.UserId);
        w.WriteNumber("cash"u8, s.Cash);
        w.WriteNumber("reservedCash"u8, s.ReservedCash);
        w.WriteStartArray("holdings"u8);
        foreach (var (symbol, h) in s.Holdings)
        {
            w.WriteStartObject();
            w.WriteString("symbol"u8, symbol);
            w.WriteNumber("shares"u8, h.Shares);
            w.WriteNumber("reservedShares"u8, h.ReservedShares);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        WritePending(w, "pendingBuys"u8, s.PendingBuys, nowMs);
        WritePending(w, "pendingSells"u8, s.PendingSells, nowMs);
        w.WriteStartArray("buyTriggers"u8);
        foreach (var t in s.BuyTriggers.Values)
        {
            w.WriteStartObject();
            w.WriteString("symbol"u8, t.Symbol);
            w.WriteNumber("reserve"u8, t.Reserve);
            if (t.Price is { } price) w.WriteNumber("price"u8, price);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("sellTriggers"u8);
        foreach (var t in s.SellTriggers.Values)
        {
            w.WriteStartObject();
            w.WriteString("symbol"u8, t.Symbol);
            w.WriteNumber("amount"u8, t.Amount);
            if (t.Price is { } price) w.WriteNumber("price"u8, price);
            w.WriteNumber("reservedShares"u8, t.ReservedShares);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("historyTotal"u8, s.HistoryTotal);
        w.WriteStartArray("history"u8);
        for (var node = s.History.Last; node is not null; node = node.Previous)
        {
            var h = node.Value;
            w.WriteStartObject();
            w.WriteNumber("timestampMs"u8, h.TimestampMs);
            w.WriteString("kind"u8, KindNames[(int)h.Kind]);
            if (h.Symbol is not null) w.WriteString("symbol"u8, h.Symbol);
            w.WriteNumber("shares"u8, h.Shares);
            w.WriteNumber("price"u8, h.Price);
            w.WriteNumber("amount"u8, h.Amount);
            w.WriteNumber("txNum"u8, h.TxNum);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        return buffer.WrittenSpan;
    }

    private static void WritePending(Utf8JsonWriter w, ReadOnlySpan<byte> name, List<PendingOrder> orders, long nowMs)
    {
        w.WriteStartArray(name);
        for (var i = orders.Count - 1; i >= 0; i--)
        {
            var p = orders[i];
            w.WriteStartObject();
            w.WriteNumber("orderId"u8, p.OrderId);
            w.WriteString("symbol"u8, p.Symbol);
            w.WriteNumber("shares"u8, p.Shares);
            w.WriteNumber("price"u8, p.Price);
            w.WriteNumber("amount"u8, p.Amount);
            w.WriteNumber("expiresInMs"u8, Math.Max(0, p.ExpiresMs - nowMs));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static readonly string[] KindNames = Enumerable.Range(0, (int)Enum.GetValues<HistoryKind>().Max() + 1)
        .Select(k => Enum.IsDefined((HistoryKind)k) ? ((HistoryKind)k).ToString().ToUpperInvariant() : "").ToArray();

    // One writer per thread: an account's summary is written on its actor's thread and finished there.
    [ThreadStatic] private static System.Buffers.ArrayBufferWriter<byte>? _buffer;
    [ThreadStatic] private static Utf8JsonWriter? _writer;

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
