namespace DayTrading.Edge;

/// <summary>
/// The edge's own response lines (docs/PROTOCOL.md): <c>[N] ERR CMD reason</c> for lines it refuses (CMD is
/// <c>?</c> when unknown) and <c># OK RUN id</c>, <c># OK QUIET on</c>, <c># ERR NAME reason</c> for directives.
/// Replies from the accounts are written by <see cref="ResponseBuffer.AppendReply"/> straight into bytes.
/// Control characters (CR, LF, tab, …) in bodies and reasons are replaced by a space, so a response is always
/// exactly one line.
/// </summary>
public static class ResponseFormatter
{
    public const string UnknownCommand = "?";

    public static string Error(long txNum, string? command, string? reason) =>
        $"[{txNum}] ERR {command ?? UnknownCommand} {OneLine(string.IsNullOrWhiteSpace(reason) ? "error" : reason)}";

    public static string Directive(ParsedLine directive) =>
        directive.Reason is null
            ? $"# OK {directive.DirectiveName} {directive.DirectiveValue}"
            : $"# ERR {directive.DirectiveName ?? UnknownCommand} {OneLine(directive.Reason)}";

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
