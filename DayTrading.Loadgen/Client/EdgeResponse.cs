using System.Globalization;
using System.Text;
using DayTrading.Accounts;

namespace DayTrading.Loadgen.Client;

/// <summary>
/// One response line of the TCP edge (docs/PROTOCOL.md): <c>[N] OK CMD[ body]</c>, <c>[N] ERR CMD reason</c>,
/// or for a directive <c># OK NAME value</c> / <c># ERR NAME reason</c> (then <see cref="TxNum"/> is null).
/// <see cref="Text"/> is the body for OK and the reason for ERR; a client that does not keep bodies
/// (<see cref="EdgeClientOptions.KeepBodies"/> off) gives OK responses without one.
/// </summary>
public sealed class EdgeResponse
{
    private static readonly UTF8Encoding Utf8 = new(false);
    private readonly string? _raw;

    public EdgeResponse(long? txNum, bool ok, string command, string? text, string? raw = null)
    {
        TxNum = txNum;
        Ok = ok;
        Command = command;
        Text = text;
        _raw = raw;
    }

    public long? TxNum { get; }
    public bool Ok { get; }
    public string Command { get; }
    public string? Text { get; }
    public bool IsDirective => TxNum is null;
    public string? Body => Ok ? Text : null;
    public string? Reason => Ok ? null : Text;

    /// <summary>The response line (rebuilt from its parts when it was parsed from bytes: not kept, to save an allocation).</summary>
    public string Raw => _raw ?? $"{(TxNum is { } n ? $"[{n.ToString(CultureInfo.InvariantCulture)}]" : "#")} {(Ok ? "OK" : "ERR")} {Command}{(Text is null ? "" : " " + Text)}";

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
            if (close < 0 || !long.TryParse(s[1..close], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
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

    /// <summary>
    /// Parses a numbered response <c>[N] OK|ERR CMD[ text]</c> from UTF-8 bytes (no line break, trailing whitespace
    /// already removed). Allocates the response and, for ERR or when <paramref name="keepBody"/>, the text; command
    /// names of the protocol are shared strings. False when the line is not of that form.
    /// </summary>
    internal static bool TryParseNumbered(ReadOnlySpan<byte> s, bool keepBody, out EdgeResponse response)
    {
        response = null!;
        // "[" digits "]"
        if (s.Length < 4 || s[0] != (byte)'[') return false;
        long n = 0;
        var i = 1;
        for (; i < s.Length && i <= 19 && (uint)(s[i] - '0') <= 9; i++) n = n * 10 + (s[i] - '0');
        if (i == 1 || i > 19 || i >= s.Length || s[i] != (byte)']') return false;
        i++;
        while (i < s.Length && s[i] == (byte)' ') i++;
        var rest = s[i..];
        bool ok;
        if (rest.StartsWith("OK "u8)) ok = true;
        else if (rest.StartsWith("ERR "u8)) ok = false;
        else return false;
        rest = rest[(ok ? 3 : 4)..];
        var sp = rest.IndexOf((byte)' ');
        var cmdBytes = sp < 0 ? rest : rest[..sp];
        if (cmdBytes.IsEmpty) return false;
        string? text = sp < 0 || (ok && !keepBody) ? null : Utf8.GetString(rest[(sp + 1)..]);
        response = new EdgeResponse(n, ok, CommandName(cmdBytes), text);
        return true;
    }

    private static readonly string[] KnownCommands =
        [.. Enum.GetValues<CommandKind>().Where(k => (int)k != 0).Select(k => k.Name()), "?"];

    private static string CommandName(ReadOnlySpan<byte> name)
    {
        foreach (var known in KnownCommands)
        {
            if (name.Length == known.Length && Ascii.Equals(name, known)) return known;
        }
        return Utf8.GetString(name);
    }

    private static EdgeResponse Malformed(string line) => new(null, false, "?", $"malformed response: {line}", line);

    public override string ToString() => Raw;
}
