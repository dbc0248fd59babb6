using DayTrading.Binary;
namespace DayTrading.Audit;

/// <summary>
/// One key an audit recorder remembers: a (run id, N) of a request, or of a dump failure (<see cref="Failure"/>), with
/// the fingerprint of the first record under it (<see cref="DayTrading.Audit.AuditRepeats.Fingerprint"/>).
/// </summary>
public readonly record struct RememberedRecord(string RunId, long TxNum, bool Failure, ulong Fingerprint);

/// <summary>
/// A persisted snapshot of an audit recorder's remembered keys, oldest first (manifest ARS2; ARS1, keys without
/// fingerprints, is still read). Encoded when taken, like an account snapshot: the snapshot store
/// serializes later, on its own thread.
/// </summary>
public sealed class AuditRecorderSnapshot
{
    internal byte[] Bytes { get; }

    /// <summary>The layout of <see cref="Bytes"/>: 1 (ARS1) or 2 (ARS2).</summary>
    internal int Version { get; }

    internal AuditRecorderSnapshot(byte[] bytes, int version = AuditRecorderSnapshotCodec.CurrentVersion)
    {
        Bytes = bytes;
        Version = version;
    }

    public static AuditRecorderSnapshot Capture(IEnumerable<RememberedRecord> keys)
    {
        var w = BinaryWriterBuffer.Rent();
        AuditRecorderSnapshotCodec.Write(w, keys as IReadOnlyCollection<RememberedRecord> ?? keys.ToList());
        return new AuditRecorderSnapshot(w.ToArrayAndReturn());
    }

    public IReadOnlyList<RememberedRecord> Restore()
    {
        var r = new BinaryReaderSpan(Bytes);
        return AuditRecorderSnapshotCodec.Read(ref r, Version);
    }
}

/// <summary>
/// The ARS1 contract: a count, then per key, oldest first: the length of the prefix its run id shares with the
/// previous key's, the rest of the run id, and N. Run ids of one client (or the gateway's delivery ids, which differ
/// only in a counter) share long prefixes, so 100,000 delivery ids take about 0.6 MB instead of 2.5 MB.
/// ARS2: the same, each key followed by a flag byte (1: a dump failure's key) and its fingerprint (var-length).
/// </summary>
internal static class AuditRecorderSnapshotCodec
{
    public const int CurrentVersion = 2;

    // A corrupt count must not allocate gigabytes before the read fails.
    private const int MaxPreallocate = 1 << 17;

    /// <param name="version">2; 1 only to test that old snapshots are still read.</param>
    public static void Write(BinaryWriterBuffer w, IReadOnlyCollection<RememberedRecord> keys, int version = CurrentVersion)
    {
        w.VarInt(keys.Count);
        var previous = "";
        foreach (var k in keys)
        {
            var runId = k.RunId;
            var shared = runId.AsSpan().CommonPrefixLength(previous);
            // Never split a surrogate pair: each part must stay valid UTF-16 to survive the UTF-8 string encoding.
            if (shared > 0 && shared < runId.Length && char.IsLowSurrogate(runId[shared])) shared--;
            w.VarInt(shared);
            w.String(runId[shared..]);
            w.VarLong(k.TxNum);
            if (version >= 2)
            {
                w.Bool(k.Failure);
                w.VarULong(k.Fingerprint);
            }
            previous = runId;
        }
    }

    public static List<RememberedRecord> Read(ref BinaryReaderSpan r, int version)
    {
        var count = r.VarInt();
        if (count < 0) throw new FormatException($"negative key count {count} in an audit recorder snapshot");
        var keys = new List<RememberedRecord>(Math.Min(count, MaxPreallocate));
        var previous = "";
        for (var i = 0; i < count; i++)
        {
            var shared = r.VarInt();
            if (shared < 0 || shared > previous.Length) throw new FormatException($"shared prefix {shared} out of range in an audit recorder snapshot");
            var runId = string.Concat(previous.AsSpan(0, shared), r.RequiredString());
            var txNum = r.VarLong();
            keys.Add(version >= 2
                ? new RememberedRecord(runId, txNum, r.Bool(), r.VarULong())
                : new RememberedRecord(runId, txNum, false, DayTrading.Audit.AuditRepeats.UnknownFingerprint));
            previous = runId;
        }
        return keys;
    }
}
