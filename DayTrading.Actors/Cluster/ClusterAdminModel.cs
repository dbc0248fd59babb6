using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DayTrading.Cluster;

/// <summary>One member as <c>cluster members</c> shows it.</summary>
public sealed record MemberInfo(string Address, string Status, IReadOnlyList<string> Roles, bool Reachable, bool Leader, bool Self);

public sealed record MembersReport(string Self, string? Leader, IReadOnlyList<MemberInfo> Members);

public sealed record ShardInfo(string ShardId, int Entities);

/// <summary>A node's shard region: its shards, and those whose statistics did not come back in time.</summary>
public sealed record RegionInfo(string Address, IReadOnlyList<ShardInfo> Shards, IReadOnlyList<string> FailedShards);

public sealed record ShardsReport(string TypeName, IReadOnlyList<RegionInfo> Regions, IReadOnlyList<string> Failed);

/// <summary>Where a singleton runs (null: found nowhere right now) and where it should run (the oldest member with its role).</summary>
public sealed record SingletonInfo(string Name, string? RunningAt, string? Oldest);

public sealed record SingletonsReport(IReadOnlyList<SingletonInfo> Singletons);

public sealed record VerbDone(string Verb, string Address, string Message);

/// <summary>
/// The admin channel's wire format: the client sends two lines, <c>AUTH &lt;secret&gt;</c> (<see cref="AdminSecret"/>)
/// and <c>verb [argument]</c>, each at most <see cref="MaxLineBytes"/> bytes; the node answers <c>OK</c> or
/// <c>ERR &lt;message&gt;</c> on the first line, then (after OK) one JSON document, and closes.
/// </summary>
public static class ClusterAdminProtocol
{
    public const int DefaultPort = 4442;

    /// <summary>The longest request line the node reads (the secret line included); a longer one is refused.</summary>
    public const int MaxLineBytes = 4096;

    public const int DefaultMaxConnections = 16;

    /// <summary>How long a connection has to send its whole request.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromSeconds(10);

    public const string AuthVerb = "AUTH";

    public static readonly string[] Verbs = ["members", "join", "leave", "down", "shards", "singletons"];

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The table <c>cluster members</c> prints.</summary>
    public static string Format(MembersReport r)
    {
        var sb = new StringBuilder();
        var width = Math.Max(7, r.Members.Count == 0 ? 0 : r.Members.Max(m => m.Address.Length));
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"ADDRESS".PadRight(width)}  {"STATUS",-8}  {"REACHABLE",-9}  ROLES");
        foreach (var m in r.Members)
        {
            var flags = (m.Leader ? " (leader)" : "") + (m.Self ? " (this node)" : "");
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{m.Address.PadRight(width)}  {m.Status,-8}  {(m.Reachable ? "yes" : "NO"),-9}  {string.Join(",", m.Roles)}{flags}");
        }
        sb.AppendLine(CultureInfo.InvariantCulture, $"leader: {r.Leader ?? "(none)"}");
        sb.Append(CultureInfo.InvariantCulture, $"{r.Members.Count} member(s), {r.Members.Count(m => !m.Reachable)} unreachable");
        return sb.ToString();
    }

    /// <summary>The table <c>cluster shards</c> prints (like Petabridge.Cmd's cluster-sharding region-stats).</summary>
    public static string Format(ShardsReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"shard type '{r.TypeName}'");
        foreach (var region in r.Regions)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{region.Address}: {region.Shards.Count} shard(s), {region.Shards.Sum(s => s.Entities)} entit(ies)");
            foreach (var s in region.Shards) sb.AppendLine(CultureInfo.InvariantCulture, $"    shard {s.ShardId,-6} {s.Entities} entit(ies)");
        }
        foreach (var f in r.Failed) sb.AppendLine(CultureInfo.InvariantCulture, $"{f}: did not answer");
        sb.Append(CultureInfo.InvariantCulture,
            $"total: {r.Regions.Sum(x => x.Shards.Count)} shard(s), {r.Regions.Sum(x => x.Shards.Sum(s => s.Entities))} entit(ies) on {r.Regions.Count} node(s)");
        return sb.ToString();
    }

    public static string Format(SingletonsReport r)
    {
        var sb = new StringBuilder();
        var width = r.Singletons.Max(s => s.Name.Length);
        foreach (var s in r.Singletons)
        {
            var where = s.RunningAt is not null ? $"running at {s.RunningAt}" : "NOT FOUND running";
            var oldest = s.Oldest is null ? "" : s.Oldest == s.RunningAt ? " (oldest member)" : $" (oldest member: {s.Oldest})";
            sb.AppendLine(CultureInfo.InvariantCulture, $"{s.Name.PadRight(width)}  {where}{oldest}");
        }
        return sb.ToString().TrimEnd();
    }
}

/// <summary>
/// The admin channel's shared secret (docs/SECURITY.md). The node reads it from a file (<c>--admin-secret-file</c>,
/// default <c>&lt;data dir&gt;/admin.secret</c>, created with a random value and mode 0600 when missing) or from
/// <see cref="EnvironmentVariable"/>; the CLI reads the same file or variable and sends it first
/// (<c>AUTH &lt;secret&gt;</c>). The node compares it in constant time.
/// </summary>
public static class AdminSecret
{
    public const string EnvironmentVariable = "DAYTRADING_ADMIN_SECRET";
    public const string FileEnvironmentVariable = "DAYTRADING_ADMIN_SECRET_FILE";
    public const string DefaultFileName = "admin.secret";
    public const int MinLength = 16;
    public const int MaxLength = 512;

    public static string DefaultPath(string dataDirectory) => Path.Combine(dataDirectory, DefaultFileName);

    /// <summary>A clear reason why <paramref name="secret"/> cannot be the admin secret, or null when it can.</summary>
    public static string? Problem(string? secret)
    {
        if (string.IsNullOrEmpty(secret)) return "the admin secret is empty";
        if (secret.Length < MinLength) return $"the admin secret has {secret.Length} characters; it needs at least {MinLength}";
        if (secret.Length > MaxLength) return $"the admin secret has {secret.Length} characters; at most {MaxLength}";
        if (secret.Any(c => c <= ' ' || c == '\u007f')) return "the admin secret must not contain spaces or control characters";
        return null;
    }

    /// <summary>A fresh random secret: 32 bytes as 64 hex digits.</summary>
    public static string NewSecret() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();

    /// <summary>Reads the secret from the first line of <paramref name="path"/>; throws <see cref="AdminSecretException"/> with a clear reason.</summary>
    public static string Read(string path)
    {
        string text;
        try
        {
            using var reader = new StreamReader(path, Encoding.UTF8);
            var buffer = new char[MaxLength + 2];
            var n = reader.ReadBlock(buffer, 0, buffer.Length);
            text = new string(buffer, 0, n);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AdminSecretException($"cannot read the admin secret file {Path.GetFullPath(path)}: {e.Message}");
        }
        var newline = text.IndexOfAny(['\r', '\n']);
        var secret = (newline < 0 ? text : text[..newline]).Trim();
        if (Problem(secret) is { } problem) throw new AdminSecretException($"{problem} (in {Path.GetFullPath(path)})");
        return secret;
    }

    /// <summary>
    /// Reads <paramref name="path"/>, creating it first with a new random secret (mode 0600 on Unix) when it does not
    /// exist. Two nodes racing on one path end up with the same secret (the file is written aside and moved in).
    /// </summary>
    public static string LoadOrCreate(string path)
    {
        if (!File.Exists(path))
        {
            var full = Path.GetFullPath(path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            var temp = $"{full}.{Guid.NewGuid():N}.tmp";
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using (var f = new FileStream(temp, options))
                {
                    f.Write(Encoding.UTF8.GetBytes(NewSecret() + "\n"));
                    f.Flush(flushToDisk: true);
                }
                try
                {
                    File.Move(temp, full, overwrite: false);
                }
                catch (IOException) when (File.Exists(full))
                {
                    // another process created it first: use theirs
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (!File.Exists(full)) throw new AdminSecretException($"cannot create the admin secret file {full}: {e.Message}");
            }
            finally
            {
                try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
        return Read(path);
    }

    /// <summary>Whether <paramref name="presented"/> is <paramref name="expected"/>, in time independent of where they differ and of their lengths.</summary>
    public static bool Matches(string expected, string? presented)
    {
        if (presented is null) return false;
        var a = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(expected));
        var b = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(a, b);
    }
}

public sealed class AdminSecretException(string message) : Exception(message);

/// <summary>A request line longer than the channel allows.</summary>
public sealed class LineTooLongException(int limit) : Exception($"request line longer than {limit} bytes")
{
    public int Limit { get; } = limit;
}

/// <summary>
/// Reads '\n'-terminated lines from a stream holding at most <c>maxBytes</c> of a line in memory: a longer line
/// throws <see cref="LineTooLongException"/> after reading at most <c>maxBytes</c> + one buffer.
/// </summary>
public sealed class BoundedLineReader(Stream stream, int maxBytes)
{
    private readonly byte[] _buffer = new byte[Math.Min(1024, maxBytes + 1)];
    private readonly byte[] _line = new byte[maxBytes];
    private int _start, _end;

    /// <summary>Bytes taken from the stream so far.</summary>
    public long BytesRead { get; private set; }

    /// <summary>The next line without its '\n' (and a trailing '\r'); null at the end of the stream before any byte of a line.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        var length = 0;
        while (true)
        {
            if (_start == _end)
            {
                var n = await stream.ReadAsync(_buffer, ct).ConfigureAwait(false);
                if (n == 0) return length == 0 ? null : Decode(length);
                BytesRead += n;
                _start = 0;
                _end = n;
            }
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            var take = (newline < 0 ? _end : newline) - _start;
            if (length + take > _line.Length) throw new LineTooLongException(_line.Length);
            Array.Copy(_buffer, _start, _line, length, take);
            length += take;
            _start += take;
            if (newline >= 0)
            {
                _start++; // the '\n'
                return Decode(length);
            }
        }
    }

    private string Decode(int length)
    {
        if (length > 0 && _line[length - 1] == '\r') length--;
        return Encoding.UTF8.GetString(_line, 0, length);
    }
}
