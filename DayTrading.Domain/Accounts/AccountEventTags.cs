namespace DayTrading.Accounts;

/// <summary>
/// The journal tags of the account events that projections tail, so each reads just its rows instead of reading and
/// decoding every event: <see cref="Trigger"/> on events that change a buy or sell reserve or trigger (the trigger
/// engine's index), <see cref="Pending"/> on those that add or remove a pending buy or sell (the expiry watcher). No
/// event does both, so a row carries at most one tag, and tags are matched exactly. Persisted: a tag, once written,
/// keeps its name.
/// </summary>
public static class AccountEventTags
{
    public const string Trigger = "trigger";
    public const string Pending = "pending";

    /// <summary>Whether the event changes a buy or sell reserve or trigger.</summary>
    public static bool TouchesTriggers(AccountEvent e)
    {
        switch (e)
        {
            case TriggerExecuted:
                return true;
            case CommandHandled c when c.Ok:
                foreach (var change in c.Changes)
                {
                    if (change is BuyAmountSet or BuyTriggerSet or BuyTriggerCancelled or SellAmountSet or SellTriggerSet or SellTriggerCancelled)
                        return true;
                }
                return false;
            default:
                return false;
        }
    }

    /// <summary>Whether the event adds or removes a pending buy or sell.</summary>
    public static bool TouchesPending(AccountEvent e)
    {
        var changes = e switch
        {
            CommandHandled { Ok: true } c => c.Changes,
            ReservationsExpired x => x.Changes,
            _ => [],
        };
        foreach (var change in changes)
        {
            if (change is BuyReserved or BuyCommitted or BuyReleased or SellReserved or SellCommitted or SellReleased) return true;
        }
        return false;
    }
}
