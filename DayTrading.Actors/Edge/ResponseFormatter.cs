using System.Text;
using Akka.IO;
using DayTrading.Accounts;

namespace DayTrading.Edge;

/// <summary>
/// One response line per request (docs/PROTOCOL.md):
/// <c>[N] OK CMD</c>, <c>[N] OK CMD body</c>, <c>[N] ERR CMD reason</c> (CMD is <c>?</c> when unknown), and for
/// directives <c># OK RUN id</c>, <c># OK QUIET on</c>, <c># ERR NAME reason</c>.
/// Control characters (CR, LF, tab, …) in bodies and reasons are replaced by a space, so a response is always
/// exactly one line.
/// </summary>
public static class ResponseFormatter
{
    public const string UnknownCommand = "?";

    public static string Ok(long txNum, string command, string? body, bool quiet) =>
        quiet || string.IsNullOrEmpty(body)
            ? $"[{txNum}] OK {command}"
            : $"[{txNum}] OK {command} {OneLine(body)}";

    public static string Error(long txNum, string? command, string? reason) =>
        $"[{txNum}] ERR {command ?? UnknownCommand} {OneLine(string.IsNullOrWhiteSpace(reason) ? "error" : reason)}";

    /// <summary>Formats a gateway reply; N and CMD come from the request the client sent.</summary>
    public static string Reply(TradeRequest request, TradeReply reply, bool quiet) =>
        reply.Ok
            ? Ok(request.TxNum, request.Kind.Name(), reply.Body, quiet)
            : Error(request.TxNum, request.Kind.Name(), reply.Error);

    public static string Directive(ParsedLine directive) =>
        directive.Reason is null
            ? $"# OK {directive.DirectiveName} {directive.DirectiveValue}"
            : $"# ERR {directive.DirectiveName ?? UnknownCommand} {OneLine(directive.Reason)}";

    /// <summary>The line as bytes on the wire: UTF-8 plus LF.</summary>
    public static ByteString Encode(string line)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(line) + 1];
        var n = Encoding.UTF8.GetBytes(line, bytes);
        bytes[n] = (byte)'\n';
        return ByteString.FromBytes(bytes);
    }

    /// <summary>Replaces control characters (including CR and LF) by spaces; returns the input when there are none.</summary>
    public static string OneLine(string text)
    {
        var span = text.AsSpan();
        if (span.IndexOfAnyInRange('\u0000', '\u001f') < 0 && span.IndexOfAnyInRange('\u007f', '\u009f') < 0
            && span.IndexOfAny('\u2028', '\u2029') < 0)
            return text;
        return string.Create(text.Length, text, static (dst, src) =>
        {
            for (var i = 0; i < src.Length; i++)
            {
                var c = src[i];
                dst[i] = char.IsControl(c) || c is '\u2028' or '\u2029' ? ' ' : c;
            }
        });
    }
}
