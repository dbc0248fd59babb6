using DayTrading.Accounts;

namespace DayTrading.Expiry;

/// <summary>
/// Which accounts have pending buys or sells, and the earliest deadline of each, built only from the accounts'
/// persisted events. The expiry watcher rebuilds it from the journal whenever it starts, so an account whose node
/// died with pending orders is found without anyone's memory.
/// </summary>
public sealed class PendingIndex
{
    private const string AccountPrefix = "account-";

    private readonly Dictionary<string, Dictionary<(TradeSide Side, long OrderId), long>> _byUser = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _earliest = new(StringComparer.Ordinal);
    private readonly SortedSet<(long Deadline, string User)> _byDeadline = new(DeadlineOrder.Instance);

    /// <summary>Accounts with at least one pending buy or sell.</summary>
    public int AccountCount => _byUser.Count;

    public int PendingCount { get; private set; }

    /// <summary>
    /// Applies one journal event; anything that is not an account's event is ignored. Returns the user whose pending
    /// orders changed, or null.
    /// </summary>
    public string? Apply(string persistenceId, object payload)
    {
        if (payload is not AccountEvent e || !persistenceId.StartsWith(AccountPrefix, StringComparison.Ordinal) || !AccountEventTags.TouchesPending(e)) return null;
        var user = persistenceId[AccountPrefix.Length..];
        foreach (var change in e is CommandHandled c ? c.Changes : ((ReservationsExpired)e).Changes)
        {
            switch (change)
            {
                case BuyReserved b: Add(user, (TradeSide.Buy, b.OrderId), b.ExpiresMs); break;
                case SellReserved s: Add(user, (TradeSide.Sell, s.OrderId), s.ExpiresMs); break;
                case BuyCommitted b: Remove(user, (TradeSide.Buy, b.OrderId)); break;
                case BuyReleased b: Remove(user, (TradeSide.Buy, b.OrderId)); break;
                case SellCommitted s: Remove(user, (TradeSide.Sell, s.OrderId)); break;
                case SellReleased s: Remove(user, (TradeSide.Sell, s.OrderId)); break;
            }
        }
        return user;
    }

    /// <summary>The earliest deadline (unix ms) of the user's pending orders, or null when none is pending.</summary>
    public long? EarliestDeadline(string user) => _earliest.TryGetValue(user, out var d) ? d : null;

    /// <summary>Accounts whose earliest pending order was due at or before <paramref name="nowMs"/>, earliest first.</summary>
    public IEnumerable<(string User, long Deadline)> DueBy(long nowMs)
    {
        foreach (var (deadline, user) in _byDeadline)
        {
            if (deadline > nowMs) yield break;
            yield return (user, deadline);
        }
    }

    private void Add(string user, (TradeSide, long) order, long deadline)
    {
        if (!_byUser.TryGetValue(user, out var orders)) _byUser[user] = orders = [];
        if (orders.TryAdd(order, deadline)) PendingCount++;
        Reindex(user, orders);
    }

    // An order the index never saw added (a journal that starts mid-way) is ignored.
    private void Remove(string user, (TradeSide, long) order)
    {
        if (!_byUser.TryGetValue(user, out var orders) || !orders.Remove(order)) return;
        PendingCount--;
        if (orders.Count == 0) _byUser.Remove(user);
        Reindex(user, orders);
    }

    private void Reindex(string user, Dictionary<(TradeSide, long), long> orders)
    {
        if (_earliest.Remove(user, out var old)) _byDeadline.Remove((old, user));
        if (orders.Count == 0) return;
        var earliest = long.MaxValue;
        foreach (var d in orders.Values) earliest = Math.Min(earliest, d);
        _earliest[user] = earliest;
        _byDeadline.Add((earliest, user));
    }

    private sealed class DeadlineOrder : IComparer<(long Deadline, string User)>
    {
        public static readonly DeadlineOrder Instance = new();

        public int Compare((long Deadline, string User) x, (long Deadline, string User) y)
        {
            var c = x.Deadline.CompareTo(y.Deadline);
            return c != 0 ? c : string.CompareOrdinal(x.User, y.User);
        }
    }
}
