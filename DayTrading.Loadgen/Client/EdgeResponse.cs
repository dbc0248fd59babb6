namespace DayTrading.Loadgen.Client;

/// <summary>
/// One response line of the TCP edge (docs/PROTOCOL.md): <c>[N] OK CMD[ body]</c>, <c>[N] ERR CMD reason</c>,
/// or for a directive <c># OK NAME value</c> / <c># ERR NAME reason</c> (then <see cref="TxNum"/> is null).
/// <see cref="Text"/> is the body for OK and the reason for ERR.
/// </summary>
public sealed record EdgeResponse(long? TxNum, bool Ok, string Command, string? Text, string Raw)
{
    public bool IsDirective => TxNum is null;
    public string? Body => Ok ? Text : null;
    public string? Reason => Ok ? null : Text;

    /// <summary>Parses a response line; a line that fits none of the forms gives Ok=false, Command "?" and the line as reason.</summary>
    public static EdgeResponse Parse(string line)
    {
        var s = line.AsSpan().TrimEnd(" \t\r\n");
        long? tx = null;
        if (s.StartsWith("# "))
        {
            s = s[2..];
        }
        else if (s.Length > 0 && s[0] == '[')
        {
            var close = s.IndexOf(']');
            if (close < 0 || !long.TryParse(s[1..close], System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out var n))
                return Malformed(line);
            tx = n;
            s = s[(close + 1)..].TrimStart(' ');
        }
        else
        {
            return Malformed(line);
        }

        bool ok;
        if (s.StartsWith("OK ")) ok = true;
        else if (s.StartsWith("ERR ")) ok = false;
        else return Malformed(line);
        s = s[(ok ? 3 : 4)..];
        var sp = s.IndexOf(' ');
        var cmd = (sp < 0 ? s : s[..sp]).ToString();
        string? text = sp < 0 ? null : s[(sp + 1)..].ToString();
        if (cmd.Length == 0) return Malformed(line);
        return new EdgeResponse(tx, ok, cmd, text, line);
    }

    private static EdgeResponse Malformed(string line) => new(null, false, "?", $"malformed response: {line}", line);

    public override string ToString() => Raw;
}
