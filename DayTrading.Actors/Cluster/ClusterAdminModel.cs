using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DayTrading.Cluster;

/// <summary>One member as <c>cluster members</c> shows it.</summary>
public sealed record MemberInfo(string Address, string Status, IReadOnlyList<string> Roles, bool Reachable, bool Leader, bool Self);

public sealed record MembersReport(string Self, string? Leader, IReadOnlyList<MemberInfo> Members);

public sealed record ShardInfo(string ShardId, int Entities);

public sealed record RegionInfo(string Address, IReadOnlyList<ShardInfo> Shards);

public sealed record ShardsReport(string TypeName, IReadOnlyList<RegionInfo> Regions, IReadOnlyList<string> Failed);

/// <summary>Where a singleton runs (null: found nowhere right now) and where it should run (the oldest member with its role).</summary>
public sealed record SingletonInfo(string Name, string? RunningAt, string? Oldest);

public sealed record SingletonsReport(IReadOnlyList<SingletonInfo> Singletons);

public sealed record VerbDone(string Verb, string Address, string Message);

/// <summary>
/// The admin channel's wire format: the client sends one line (<c>verb [argument]</c>); the node answers
/// <c>OK</c> or <c>ERR &lt;message&gt;</c> on the first line, then (after OK) one JSON document, and closes.
/// </summary>
public static class ClusterAdminProtocol
{
    public const int DefaultPort = 4442;

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
