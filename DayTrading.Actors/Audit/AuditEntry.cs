namespace DayTrading.Audit;

/// <summary>The five entry kinds of the course's audit log that this system writes (logfile.xsd; no debugEvent).</summary>
public enum AuditEntryKind : byte
{
    UserCommand = 1,
    QuoteServer = 2,
    AccountTransaction = 3,
    SystemEvent = 4,
    ErrorEvent = 5,
}

/// <summary>
/// One audit log entry, already in the schema's terms: <see cref="TxNum"/> is a positive integer, <see cref="Command"/>
/// one of the schema's sixteen names, <see cref="Symbol"/> at most three characters (or null). Which of the optional
/// fields are set depends on <see cref="Kind"/>; <see cref="AuditXmlWriter"/> writes only the ones that are set.
/// </summary>
public readonly record struct AuditEntry(
    AuditEntryKind Kind,
    long TimestampMs,
    string Server,
    long TxNum,
    string? Command = null,
    string? Username = null,
    string? Symbol = null,
    string? FileName = null,
    decimal? Funds = null,
    string? Action = null,
    decimal? Price = null,
    long QuoteServerTime = 0,
    string? CryptoKey = null,
    string? ErrorMessage = null)
{
    public static AuditEntry UserCommand(long ts, string server, long tx, string command, string? user, string? symbol, string? fileName, decimal? funds) =>
        new(AuditEntryKind.UserCommand, ts, server, tx, command, user, symbol, fileName, funds);

    public static AuditEntry Error(long ts, string server, long tx, string command, string? user, string? symbol, string? fileName, decimal? funds, string message) =>
        new(AuditEntryKind.ErrorEvent, ts, server, tx, command, user, symbol, fileName, funds, ErrorMessage: message);

    public static AuditEntry System(long ts, string server, long tx, string command, string user, string? symbol, decimal? funds) =>
        new(AuditEntryKind.SystemEvent, ts, server, tx, command, user, symbol, null, funds);

    public static AuditEntry Account(long ts, string server, long tx, string action, string user, decimal funds) =>
        new(AuditEntryKind.AccountTransaction, ts, server, tx, null, user, null, null, funds, action);

    public static AuditEntry QuoteHit(long ts, string server, long tx, decimal price, string symbol, string user, long quoteServerTime, string cryptoKey) =>
        new(AuditEntryKind.QuoteServer, ts, server, tx, null, user, symbol, null, null, null, price, quoteServerTime, cryptoKey);
}
