using DayTrading.Quotes;

namespace DayTrading.Accounts;

/// <summary>
/// Asks an account to execute its trigger on <paramref name="Symbol"/> because <paramref name="Quote"/> crossed it.
/// <paramref name="Version"/> is the arming the requester saw; the account refuses any other, so a trigger re-armed
/// or cancelled in the meantime never fires on a stale request. Answered with <see cref="TriggerOutcome"/>.
/// </summary>
public sealed record ExecuteTrigger(string UserId, TradeSide Side, string Symbol, long Version, Quote Quote);

public sealed record TriggerOutcome(string UserId, TradeSide Side, string Symbol, bool Executed, string? Reason);
