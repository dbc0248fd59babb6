namespace DayTrading.Serialization;

/// <summary>
/// A persisted snapshot of an audit recorder's remembered (run id, N) keys, oldest first (manifest ARS1). Encoded
/// when taken, like <see cref="AccountSnapshot"/>: the snapshot store serializes later, on its own thread.
/// </summary>
public sealed class AuditRecorderSnapshot
{
    internal byte[] Bytes { get; }

    internal AuditRecorderSnapshot(byte[] bytes) => Bytes = bytes;

    public static AuditRecorderSnapshot Capture(IEnumerable<(string RunId, long TxNum)> keys)
    {
        var w = BinaryWriterBuffer.Rent();
        AuditRecorderSnapshotCodec.Write(w, keys as IReadOnlyCollection<(string, long)> ?? keys.ToList());
        return new AuditRecorderSnapshot(w.ToArrayAndReturn());
    }

    public IReadOnlyList<(string RunId, long TxNum)> Restore()
    {
        var r = new BinaryReaderSpan(Bytes);
        return AuditRecorderSnapshotCodec.Read(ref r);
    }
}

/// <summary>
/// The ARS1 contract: a count, then per key, oldest first: the length of the prefix its run id shares with the
/// previous key's, the rest of the run id, and N. Run ids of one client (or the gateway's delivery ids, which differ
/// only in a counter) share long prefixes, so 100,000 delivery ids take about 0.6 MB instead of 2.5 MB.
/// </summary>
internal static class AuditRecorderSnapshotCodec
{
    // A corrupt count must not allocate gigabytes before the read fails.
    private const int MaxPreallocate = 1 << 17;

    public static void Write(BinaryWriterBuffer w, IReadOnlyCollection<(string RunId, long TxNum)> keys)
    {
        w.VarInt(keys.Count);
        var previous = "";
        foreach (var (runId, txNum) in keys)
        {
            var shared = runId.AsSpan().CommonPrefixLength(previous);
            // Never split a surrogate pair: each part must stay valid UTF-16 to survive the UTF-8 string encoding.
            if (shared > 0 && shared < runId.Length && char.IsLowSurrogate(runId[shared])) shared--;
            w.VarInt(shared);
            w.String(runId[shared..]);
            w.VarLong(txNum);
            previous = runId;
        }
    }

    public static List<(string RunId, long TxNum)> Read(ref BinaryReaderSpan r)
    {
        var count = r.VarInt();
        if (count < 0) throw new FormatException($"negative key count {count} in an audit recorder snapshot");
        var keys = new List<(string, long)>(Math.Min(count, MaxPreallocate));
        var previous = "";
        for (var i = 0; i < count; i++)
        {
            var shared = r.VarInt();
            if (shared < 0 || shared > previous.Length) throw new FormatException($"shared prefix {shared} out of range in an audit recorder snapshot");
            var runId = string.Concat(previous.AsSpan(0, shared), r.RequiredString());
            keys.Add((runId, r.VarLong()));
            previous = runId;
        }
        return keys;
    }
}
