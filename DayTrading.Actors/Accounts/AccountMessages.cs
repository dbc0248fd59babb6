using DayTrading.Quotes;

namespace DayTrading.Accounts;

/// <summary>
/// Asks an account to execute its trigger on <paramref name="Symbol"/> because <paramref name="Quote"/> crossed it.
/// <paramref name="Version"/> is the arming the requester saw; the account refuses any other, so a trigger re-armed
/// or cancelled in the meantime never fires on a stale request. Answered with <see cref="TriggerOutcome"/>.
/// </summary>
public sealed record ExecuteTrigger(string UserId, TradeSide Side, string Symbol, long Version, Quote Quote);

public sealed record TriggerOutcome(string UserId, TradeSide Side, string Symbol, bool Executed, string? Reason);

/// <summary>
/// Starts the account if it is not running and has it expire whatever is due (the expiry watcher's nudge for an
/// account whose own timer died with its node). Not a user command: neither journaled nor answered; harmless when
/// nothing is due.
/// </summary>
public sealed record WakeAccount(string UserId);

/// <summary>
/// Published on <see cref="AccountTopics.For"/> after an account's books changed (a command, an expiry, a trigger),
/// for live views; at-most-once, so a view re-reads the account when it (re)connects.
/// </summary>
public sealed record AccountChanged(string UserId);

/// <summary>A read of the books for a live view: not a user command, so neither journaled nor audited.</summary>
public sealed record GetAccountSummary(string UserId);

/// <summary>The books as DISPLAY_SUMMARY shows them, or <see cref="Exists"/> false before the first ADD.</summary>
public sealed record AccountSummaryReply(string UserId, bool Exists, string? Json);

public static class AccountTopics
{
    public static string For(string userId) => "daytrading-account-" + userId;
}
