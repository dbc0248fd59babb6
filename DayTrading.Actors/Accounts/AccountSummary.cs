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
