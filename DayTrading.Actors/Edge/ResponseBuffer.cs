using System.Buffers;
using System.Buffers.Text;
using System.Text;
using DayTrading.Accounts;

namespace DayTrading.Edge;

/// <summary>
/// A growable byte buffer of response lines waiting for the socket; the lines are written straight into it as
/// UTF-8 (docs/PROTOCOL.md's format, see <see cref="ResponseFormatter"/>), with no string per response.
/// </summary>
internal sealed class ResponseBuffer(int initialCapacity = 16 * 1024)
{
    private static readonly byte[][] CommandNames = Enumerable.Range(0, (int)Enum.GetValues<CommandKind>().Max() + 1)
        .Select(k => Encoding.ASCII.GetBytes(Enum.IsDefined((CommandKind)k) ? ((CommandKind)k).Name() : "?")).ToArray();

    public byte[] Data { get; private set; } = new byte[initialCapacity];

    public int Length { get; private set; }

    public void Clear() => Length = 0;

    /// <summary>Gives up a buffer grown far past its usual size once it is empty (a burst should not pin memory).</summary>
    public void ShrinkIfIdle(int keep)
    {
        if (Length == 0 && Data.Length > keep) Data = new byte[keep];
    }

    /// <summary>One reply line: N and CMD from the request the client sent.</summary>
    public void AppendReply(TradeRequest request, TradeReply reply, bool quiet)
    {
        var command = CommandNames[(int)request.Kind];
        if (reply.Ok && !quiet && reply.Quote is { } quote && reply.Kind is CommandKind.Quote or CommandKind.Buy or CommandKind.Sell)
            AppendTraded(request, reply, quote, command);
        // Printable ASCII needs none of ResponseFormatter.OneLine's replacements (JSON escapes the rest anyway).
        else if (reply.Ok && !quiet && reply.Utf8Body is { } utf8 && utf8.AsSpan().IndexOfAnyExceptInRange((byte)0x20, (byte)0x7e) < 0)
            AppendLine(request.TxNum, "OK "u8, command, utf8);
        else if (reply.Ok) AppendLine(request.TxNum, "OK "u8, command, quiet ? null : reply.Body);
        else AppendLine(request.TxNum, "ERR "u8, command, string.IsNullOrWhiteSpace(reply.Error) ? "error" : reply.Error);
    }

    /// <summary>
    /// The body of a QUOTE, BUY or SELL, from the reply's typed fields (docs/PROTOCOL.md): QUOTE
    /// <c>price,SYM,user,quoteTimeMs,cryptokey</c> (the legacy quote line), BUY / SELL
    /// <c>shares,SYM,price,amount,quoteTimeMs,cryptokey</c>; money with two decimals.
    /// </summary>
    private void AppendTraded(TradeRequest request, TradeReply reply, QuoteUsed q, ReadOnlySpan<byte> command)
    {
        // Symbols are A-Z, user ids A-Z a-z 0-9 _ -; the crypto key is the quote server's text, so it goes through OneLine.
        var key = ResponseFormatter.OneLine(q.CryptoKey);
        var span = Reserve(MaxPrefix + 3 + command.Length + 1 + 4 * 32 + q.Symbol.Length + (request.UserId?.Length ?? 0) + Encoding.UTF8.GetMaxByteCount(key.Length) + 8);
        var n = WritePrefix(span, request.TxNum, "OK "u8, command);
        span[n++] = (byte)' ';
        if (reply.Kind == CommandKind.Quote)
        {
            n += Money(span[n..], q.Price);
            span[n++] = (byte)',';
            n += Encoding.ASCII.GetBytes(q.Symbol, span[n..]);
            span[n++] = (byte)',';
            n += Encoding.UTF8.GetBytes(request.UserId ?? "", span[n..]);
        }
        else
        {
            Utf8Formatter.TryFormat(reply.Shares, span[n..], out var w);
            n += w;
            span[n++] = (byte)',';
            n += Encoding.ASCII.GetBytes(q.Symbol, span[n..]);
            span[n++] = (byte)',';
            n += Money(span[n..], q.Price);
            span[n++] = (byte)',';
            n += Money(span[n..], reply.Shares * q.Price);
        }
        span[n++] = (byte)',';
        Utf8Formatter.TryFormat(q.QuoteTimeMs, span[n..], out var t);
        n += t;
        span[n++] = (byte)',';
        n += Encoding.UTF8.GetBytes(key, span[n..]);
        span[n++] = (byte)'\n';
        Length += n;
    }

    // As Rules.FormatMoney ("0.00"): at most 29 digits, a sign and a point fit in 32 bytes.
    private static int Money(Span<byte> span, decimal amount)
    {
        Utf8Formatter.TryFormat(amount, span, out var n, new StandardFormat('F', 2));
        return n;
    }

    /// <summary>A line formatted elsewhere (directives, the edge's own refusals); a line break is added.</summary>
    public void AppendLine(string line)
    {
        var span = Reserve(Encoding.UTF8.GetMaxByteCount(line.Length) + 1);
        var n = Encoding.UTF8.GetBytes(line, span);
        span[n] = (byte)'\n';
        Length += n + 1;
    }

    private void AppendLine(long txNum, ReadOnlySpan<byte> outcome, ReadOnlySpan<byte> command, string? text)
    {
        if (text is not null) text = ResponseFormatter.OneLine(text);
        var span = Reserve(MaxPrefix + outcome.Length + command.Length + (text is null ? 0 : 1 + Encoding.UTF8.GetMaxByteCount(text.Length)) + 1);
        var n = WritePrefix(span, txNum, outcome, command);
        if (!string.IsNullOrEmpty(text))
        {
            span[n++] = (byte)' ';
            n += Encoding.UTF8.GetBytes(text, span[n..]);
        }
        span[n++] = (byte)'\n';
        Length += n;
    }

    // A body that is UTF-8 already and printable ASCII (one-line JSON): copied as it is.
    private void AppendLine(long txNum, ReadOnlySpan<byte> outcome, ReadOnlySpan<byte> command, ReadOnlySpan<byte> utf8Body)
    {
        var span = Reserve(MaxPrefix + outcome.Length + command.Length + 1 + utf8Body.Length + 1);
        var n = WritePrefix(span, txNum, outcome, command);
        if (!utf8Body.IsEmpty)
        {
            span[n++] = (byte)' ';
            utf8Body.CopyTo(span[n..]);
            n += utf8Body.Length;
        }
        span[n++] = (byte)'\n';
        Length += n;
    }

    private const int MaxPrefix = 24; // "[", 20 digits, "] "

    /// <summary>"[N] OK CMD" or "[N] ERR CMD"; returns the bytes written.</summary>
    private static int WritePrefix(Span<byte> span, long txNum, ReadOnlySpan<byte> outcome, ReadOnlySpan<byte> command)
    {
        var n = 0;
        span[n++] = (byte)'[';
        Utf8Formatter.TryFormat(txNum, span[n..], out var digits);
        n += digits;
        span[n++] = (byte)']';
        span[n++] = (byte)' ';
        outcome.CopyTo(span[n..]);
        n += outcome.Length;
        command.CopyTo(span[n..]);
        return n + command.Length;
    }

    private Span<byte> Reserve(int bytes)
    {
        if (Length + bytes > Data.Length)
        {
            var grown = new byte[Math.Max(Data.Length * 2, Length + bytes)];
            Data.AsSpan(0, Length).CopyTo(grown);
            Data = grown;
        }
        return Data.AsSpan(Length);
    }
}
