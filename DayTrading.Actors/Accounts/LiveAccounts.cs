namespace DayTrading.Accounts;

/// <summary>
/// How many account entities are alive on this node, against a soft limit. Over it, an account with nothing
/// pending passivates as soon as it has answered instead of after the idle window, so a flood of distinct ids
/// (accounts that exist, or not) holds at most about <see cref="Limit"/> entities plus those with pending orders
/// and those answering right now. Shared by the node's entities; thread-safe.
/// </summary>
public sealed class LiveAccounts(int limit)
{
    private int _count;

    public int Limit { get; } = limit;

    public int Count => Volatile.Read(ref _count);

    public bool OverLimit => Count > Limit;

    internal void Started() => Interlocked.Increment(ref _count);

    internal void Stopped() => Interlocked.Decrement(ref _count);
}
