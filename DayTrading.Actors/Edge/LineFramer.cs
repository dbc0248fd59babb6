using System.Text;
using System.Text.Unicode;

namespace DayTrading.Edge;

public enum FramedLineKind : byte
{
    /// <summary>A complete, valid UTF-8 line (terminator and trailing whitespace removed, never blank).</summary>
    Line = 0,
    /// <summary>The line had more than <see cref="LineFramer.MaxLineBytes"/> bytes; its rest was discarded.</summary>
    TooLong = 1,
    /// <summary>The line was not valid UTF-8.</summary>
    InvalidUtf8 = 2,
}

/// <summary>
/// One item of <see cref="LineFramer"/>. For <see cref="FramedLineKind.Line"/>, <see cref="Text"/> is the line;
/// for the error kinds it is the printable-ASCII start of the line (at most <see cref="LineFramer.PrefixBytes"/>
/// bytes) so the parser can still recover the transaction number and command name for the error response.
/// </summary>
public sealed class FramedLine
{
    public FramedLine(FramedLineKind kind, string text)
    {
        Kind = kind;
        Text = text;
    }

    public FramedLineKind Kind { get; }
    public string Text { get; }

    public static FramedLine Ok(string text) => new(FramedLineKind.Line, text);

    public override string ToString() => $"{Kind}: {Text}";
}

/// <summary>
/// Splits a byte stream into lines (SPEC §4): split on LF; a trailing CR and trailing spaces/tabs are stripped;
/// blank lines are dropped; a line longer than <see cref="MaxLineBytes"/> bytes (counted before the LF, not
/// counting a CR right before it) yields one <see cref="FramedLineKind.TooLong"/> item and is skipped up to the
/// next LF; a line that is not valid UTF-8 yields an <see cref="FramedLineKind.InvalidUtf8"/> item; a final line
/// without LF is emitted by <see cref="Finish"/>.
/// <para>Memory is bounded: one fixed buffer of MaxLineBytes + 1 bytes for a line split across reads; lines
/// inside one read are decoded straight from it.</para>
/// </summary>
public sealed class LineFramer
{
    public const int MaxLineBytes = 1024;
    public const int PrefixBytes = 64;

    // Room for max bytes plus one: a CR right before the LF does not count against the limit.
    private readonly byte[] _buf;
    private int _count;
    private bool _overflow;

    public LineFramer(int maxLineBytes = MaxLineBytes)
    {
        if (maxLineBytes < 1) throw new ArgumentOutOfRangeException(nameof(maxLineBytes));
        _buf = new byte[maxLineBytes + 1];
    }

    /// <summary>Frames <paramref name="chunk"/>, adding every line it completes to <paramref name="lines"/>.</summary>
    public void Feed(ReadOnlySpan<byte> chunk, List<FramedLine> lines)
    {
        while (!chunk.IsEmpty)
        {
            var nl = chunk.IndexOf((byte)'\n');
            if (nl < 0)
            {
                Append(chunk);
                return;
            }
            FramedLine? item;
            if (_count == 0 && !_overflow && nl < _buf.Length)
            {
                // The whole line is in this chunk: no copy.
                item = EndLine(chunk[..nl], false);
            }
            else
            {
                Append(chunk[..nl]);
                item = EndBuffered();
            }
            if (item is not null) lines.Add(item);
            chunk = chunk[(nl + 1)..];
        }
    }

    /// <summary>The end of the stream: a last line without LF, if any.</summary>
    public FramedLine? Finish() => EndBuffered();

    private void Append(ReadOnlySpan<byte> part)
    {
        if (part.IsEmpty || _overflow) return;
        var room = _buf.Length - _count;
        if (part.Length > room)
        {
            part[..room].CopyTo(_buf.AsSpan(_count));
            _count = _buf.Length;
            _overflow = true;
            return;
        }
        part.CopyTo(_buf.AsSpan(_count));
        _count += part.Length;
    }

    private FramedLine? EndBuffered()
    {
        var count = _count;
        var overflow = _overflow;
        _count = 0;
        _overflow = false;
        return EndLine(_buf.AsSpan(0, count), overflow);
    }

    private FramedLine? EndLine(ReadOnlySpan<byte> line, bool overflow)
    {
        if (!overflow && line.Length == _buf.Length)
        {
            // max + 1 bytes: fine only when the extra byte is the CR of a CRLF.
            if (line[^1] == (byte)'\r') line = line[..^1];
            else overflow = true;
        }
        if (overflow) return new FramedLine(FramedLineKind.TooLong, AsciiPrefix(line));

        var end = line.Length;
        while (end > 0 && line[end - 1] is (byte)'\r' or (byte)' ' or (byte)'\t') end--;
        if (end == 0) return null;
        line = line[..end];
        if (!Utf8.IsValid(line)) return new FramedLine(FramedLineKind.InvalidUtf8, AsciiPrefix(line));
        return new FramedLine(FramedLineKind.Line, Encoding.UTF8.GetString(line));
    }

    private static string AsciiPrefix(ReadOnlySpan<byte> line)
    {
        var n = Math.Min(line.Length, PrefixBytes);
        var i = 0;
        while (i < n && line[i] is >= 0x20 and < 0x7F) i++;
        return i == 0 ? string.Empty : Encoding.ASCII.GetString(line[..i]);
    }
}
