namespace DayTrading.Audit;

/// <summary>
/// A request the edge refused before it reached any account (unknown command, bad value, overlong line…),
/// persisted so the audit log has its userCommand-less errorEvent. Fields are what could be read from the line.
/// </summary>
public sealed record RequestRejected(
    long TimestampMs,
    string Server,
    long TxNum,
    string? RunId,
    string? Command,
    string? UserId,
    string? Symbol,
    decimal? Funds,
    string? FileName,
    string Reason);

/// <summary>The admin form of DUMPLOG (no user), persisted as its userCommand before the dump is written.</summary>
public sealed record AdminDumpRequested(long TimestampMs, string Server, long TxNum, string? RunId, string FileName, string? Error);
