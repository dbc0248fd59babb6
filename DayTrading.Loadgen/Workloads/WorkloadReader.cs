using DayTrading.Accounts;

namespace DayTrading.Loadgen.Workloads;

/// <summary>
/// One line of a course workload file. <see cref="Line"/> is the line as it goes on the wire (trailing
/// whitespace removed). <see cref="Kind"/> is null when the command name is unknown; <see cref="UserId"/> is the
/// first argument (null for the admin <c>DUMPLOG,filename</c> and for lines without arguments).
/// </summary>
public sealed record WorkloadCommand(long? TxNum, string Line, CommandKind? Kind, string? UserId, int LineNumber)
{
    /// <summary>The admin dump (<c>DUMPLOG,filename</c>): replayed only after everything else was answered.</summary>
    public bool IsAdminDump => Kind == CommandKind.DumpLog && UserId is null;
}

/// <summary>
/// Reads course workload files (<c>[N] CMD,arg,arg…</c> per line). Tolerant: trailing spaces, CRLF, a missing
/// final newline and blank lines are fine; lines the server would refuse are kept as they are (the replay sends
/// them and records the error response), so the reader never rejects a line.
/// </summary>
public static class WorkloadReader
{
    public static IReadOnlyList<WorkloadCommand> ReadFile(string path)
    {
        using var reader = new StreamReader(path);
        return Read(reader);
    }

    public static IReadOnlyList<WorkloadCommand> Parse(string text)
    {
        using var reader = new StringReader(text);
        return Read(reader);
    }

    public static IReadOnlyList<WorkloadCommand> Read(TextReader reader)
    {
        var list = new List<WorkloadCommand>();
        var lineNumber = 0;
        while (reader.ReadLine() is { } raw)
        {
            lineNumber++;
            var cmd = ParseLine(raw, lineNumber);
            if (cmd is not null) list.Add(cmd);
        }
        return list;
    }

    /// <summary>Null for a blank line.</summary>
    public static WorkloadCommand? ParseLine(string raw, int lineNumber = 0)
    {
        var line = raw.Trim(' ', '\t', '\r', '\n');
        if (line.Length == 0) return null;

        long? tx = null;
        var rest = line.AsSpan();
        if (rest[0] == '[')
        {
            var close = rest.IndexOf(']');
            if (close > 1 && long.TryParse(rest[1..close], System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0)
                tx = n;
            if (close > 0) rest = rest[(close + 1)..].TrimStart(" \t");
        }

        var comma = rest.IndexOf(',');
        var name = (comma < 0 ? rest : rest[..comma]).Trim(" \t");
        CommandKind? kind = CommandNames.TryParse(name, out var k) ? k : null;
        string? user = null;
        if (comma >= 0)
        {
            var args = rest[(comma + 1)..];
            var argCount = args.Count(',') + 1;
            var firstEnd = args.IndexOf(',');
            var first = (firstEnd < 0 ? args : args[..firstEnd]).Trim(" \t");
            // DUMPLOG,filename is the admin form: its only argument is not a user.
            if (!(kind == CommandKind.DumpLog && argCount == 1) && !first.IsEmpty) user = first.ToString();
        }
        return new WorkloadCommand(tx, line, kind, user, lineNumber);
    }
}
