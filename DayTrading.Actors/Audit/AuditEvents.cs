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

/// <summary>
/// A DUMPLOG whose request was recorded (its userCommand) but whose file was not written: the errorEvent saying why
/// (the Auditor's refusal or failure, or no answer). <see cref="UserId"/> is null for the admin form.
/// </summary>
public sealed record DumpFailed(long TimestampMs, string Server, long TxNum, string? RunId, string? UserId, string FileName, string Error);

/// <summary>
/// How a repeat of a recorded event is recognised — a client's retry, recorded again on this node or on another:
/// the same run id and transaction number <em>and</em> the same content, everything but when and where it was
/// recorded. A different event under a used run id and number is not a repeat.
/// </summary>
public static class AuditRepeats
{
    /// <summary>
    /// What two records of one request have in common, or null for events recorded without a run id (never
    /// deduplicated) and for events that are not the node recorders'. An admin DUMPLOG is identified by its file
    /// (not by whether it was refused), a dump failure by its request (one errorEvent per failed request).
    /// </summary>
    public static object? Identity(object? evt) => evt switch
    {
        RequestRejected { RunId: not null } r => r with { TimestampMs = 0, Server = "" },
        AdminDumpRequested { RunId: not null } a => a with { TimestampMs = 0, Server = "", Error = null },
        DumpFailed { RunId: not null } f => f with { TimestampMs = 0, Server = "", Error = "" },
        _ => null,
    };

    /// <summary>Not known (a key from an ARS1 snapshot, which kept no fingerprints): any record under the key matches.</summary>
    public const ulong UnknownFingerprint = 0;

    /// <summary>
    /// <see cref="Identity"/> as a 64-bit FNV-1a hash that is the same in every process and build, so the recorder
    /// can keep it in its snapshots (8 bytes a key instead of the record); 0 for events without an identity.
    /// </summary>
    public static ulong Fingerprint(object? evt)
    {
        var h = new StableHash();
        switch (Identity(evt))
        {
            case RequestRejected r:
                h.Add(1).Add(r.RunId).Add(r.TxNum).Add(r.Command).Add(r.UserId).Add(r.Symbol).Add(r.Funds).Add(r.FileName).Add(r.Reason);
                break;
            case AdminDumpRequested a:
                h.Add(2).Add(a.RunId).Add(a.TxNum).Add(a.FileName);
                break;
            case DumpFailed f:
                h.Add(3).Add(f.RunId).Add(f.TxNum).Add(f.UserId).Add(f.FileName);
                break;
            default:
                return UnknownFingerprint;
        }
        return h.Value == UnknownFingerprint ? 1 : h.Value;
    }

    private sealed class StableHash
    {
        public ulong Value { get; private set; } = 14695981039346656037UL;

        public StableHash Add(long v)
        {
            for (var i = 0; i < 8; i++) Value = (Value ^ (byte)(v >> (8 * i))) * 1099511628211UL;
            return this;
        }

        // The length first (-1 for null), so null, "" and shifted field boundaries differ.
        public StableHash Add(string? s)
        {
            Add(s?.Length ?? -1);
            if (s is not null) foreach (var c in s) Add(c);
            return this;
        }

        // 100 and 100.00 are the same amount: hashed without trailing zeros.
        public StableHash Add(decimal? d)
        {
            if (d is not { } value) return Add(-1);
            foreach (var part in decimal.GetBits(value / 1.0000000000000000000000000000m)) Add(part);
            return this;
        }
    }
}
