namespace DayTrading.Accounts;

/// <summary>
/// One user command as it travels from an edge (TCP, web) to the user's account entity.
/// <para><see cref="UserId"/> is null only for the admin form of DUMPLOG.</para>
/// <para><see cref="RunId"/> names the client's run; with <see cref="TxNum"/> it makes a retry idempotent (SPEC §4).</para>
/// </summary>
public sealed record TradeRequest(
    long TxNum,
    CommandKind Kind,
    string? UserId,
    string? Symbol = null,
    decimal Amount = 0m,
    string? FileName = null,
    string? RunId = null);
