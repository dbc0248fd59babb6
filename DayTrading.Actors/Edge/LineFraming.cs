using System.Text;
using System.Text.Unicode;
using Akka.IO;
using Akka.Streams;
using Akka.Streams.Stage;

namespace DayTrading.Edge;

public enum FramedLineKind : byte
{
    /// <summary>A complete, valid UTF-8 line (terminator and trailing whitespace removed, never blank).</summary>
    Line = 0,
    /// <summary>The line had more than <see cref="LineFraming.MaxLineBytes"/> bytes; its rest was discarded.</summary>
    TooLong = 1,
    /// <summary>The line was not valid UTF-8.</summary>
    InvalidUtf8 = 2,
}

/// <summary>
/// One item of <see cref="LineFraming"/>. For <see cref="FramedLineKind.Line"/>, <see cref="Text"/> is the line;
/// for the error kinds it is the printable-ASCII start of the line (at most <see cref="LineFraming.PrefixBytes"/>
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
/// without LF is emitted when upstream completes.
/// <para>Memory is bounded: one fixed buffer of MaxLineBytes + 1 bytes per materialization and the chunk being
/// scanned; lines are emitted one per pull straight from the chunk (no output queue).</para>
/// </summary>
public sealed class LineFraming : GraphStage<FlowShape<ByteString, FramedLine>>
{
    public const int MaxLineBytes = 1024;
    public const int PrefixBytes = 64;

    private readonly int _maxLineBytes;

    public LineFraming(int maxLineBytes = MaxLineBytes)
    {
        if (maxLineBytes < 1) throw new ArgumentOutOfRangeException(nameof(maxLineBytes));
        _maxLineBytes = maxLineBytes;
        Shape = new FlowShape<ByteString, FramedLine>(In, Out);
    }

    public Inlet<ByteString> In { get; } = new("LineFraming.in");
    public Outlet<FramedLine> Out { get; } = new("LineFraming.out");
    public override FlowShape<ByteString, FramedLine> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("line-framing");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : InAndOutGraphStageLogic
    {
        private readonly LineFraming _stage;
        private readonly int _max;
        // Room for max bytes plus one: a CR right before the LF does not count against the limit.
        private readonly byte[] _buf;
        private int _count;
        private bool _overflow;

        // The chunk being scanned (compacted once, so ToReadOnlySpan is a view, not a copy).
        private ByteString? _chunk;
        private int _offset;

        public Logic(LineFraming stage) : base(stage.Shape)
        {
            _stage = stage;
            _max = stage._maxLineBytes;
            _buf = new byte[_max + 1];
            SetHandler(stage.In, this);
            SetHandler(stage.Out, this);
        }

        public override void OnPush()
        {
            var chunk = Grab(_stage.In);
            _chunk = chunk.IsEmpty ? null : chunk.IsCompact ? chunk : chunk.Compact();
            _offset = 0;
            if (IsAvailable(_stage.Out)) Drain();
        }

        public override void OnPull() => Drain();

        public override void OnUpstreamFinish()
        {
            // Lines still in the current chunk are emitted by Drain on the following pulls.
            if (IsAvailable(_stage.Out)) Drain();
        }

        /// <summary>Emits at most one item; pulls upstream when the chunk is used up; completes at the end.</summary>
        private void Drain()
        {
            while (true)
            {
                if (_chunk is not null)
                {
                    var span = _chunk.ToReadOnlySpan()[_offset..];
                    var nl = span.IndexOf((byte)'\n');
                    Append(nl < 0 ? span : span[..nl]);
                    if (nl < 0 || _offset + nl + 1 >= _chunk.Count)
                    {
                        _chunk = null;
                        _offset = 0;
                    }
                    else
                    {
                        _offset += nl + 1;
                    }
                    if (nl < 0) continue;
                    var item = EndLine();
                    if (item is not null)
                    {
                        Push(_stage.Out, item);
                        return;
                    }
                    continue;
                }

                if (IsClosed(_stage.In))
                {
                    var last = EndLine();
                    if (last is not null) Emit(_stage.Out, last, CompleteStage);
                    else CompleteStage();
                    return;
                }
                if (!HasBeenPulled(_stage.In)) Pull(_stage.In);
                return;
            }
        }

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

        private FramedLine? EndLine()
        {
            var count = _count;
            var overflow = _overflow;
            _count = 0;
            _overflow = false;
            var line = _buf.AsSpan(0, count);
            if (!overflow && count == _buf.Length)
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
}
