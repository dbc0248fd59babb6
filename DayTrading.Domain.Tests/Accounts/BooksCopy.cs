using System.Text;
using DayTrading.Accounts;

namespace DayTrading.Tests.Accounts;

/// <summary>
/// Test helpers over <see cref="AccountState"/>: every field rendered as text (so "changes nothing" compares all of
/// it, the remembered requests included) and a deep copy, both without the snapshot codec that lives with the actors.
/// </summary>
internal static class BooksCopy
{
    public static string Fingerprint(AccountState s)
    {
        var b = new StringBuilder();
        b.Append($"{s.UserId}|{s.Exists}|{s.Cash}|{s.ReservedCash}|{s.NextOrderId}|{s.TriggerVersion}|{s.HistoryTotal}\n");
        foreach (var (sym, h) in s.Holdings) b.Append($"H {sym} {h}\n");
        foreach (var p in s.PendingBuys) b.Append($"PB {p}\n");
        foreach (var p in s.PendingSells) b.Append($"PS {p}\n");
        foreach (var t in s.BuyTriggers.Values) b.Append($"BT {t}\n");
        foreach (var t in s.SellTriggers.Values) b.Append($"ST {t}\n");
        foreach (var h in s.History) b.Append($"HI {h}\n");
        foreach (var r in s.Remembered.Entries()) b.Append($"R {r}\n");
        foreach (var (k, o) in s.CarriedOutcomes) b.Append($"C {k} {o}\n");
        return b.ToString();
    }

    public static AccountState Copy(AccountState s)
    {
        var c = AccountState.Restore(s.UserId, s.Exists, s.Cash, s.ReservedCash, s.NextOrderId, s.TriggerVersion, s.Holdings,
            s.PendingBuys, s.PendingSells, s.BuyTriggers.Values, s.SellTriggers.Values, s.HistoryTotal, s.History);
        foreach (var (runId, tx, seq) in s.Remembered.Entries()) c.Remembered.Add(runId, tx, seq);
        c.CarryOutcomes([.. s.CarriedOutcomes]);
        return c;
    }
}
