using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace DayTrading.Quotes;

/// <summary>
/// The legacy quote server's line protocol (SPEC §3), as pure functions. TCP, one query per connection:
/// <list type="bullet">
/// <item>query: <c>SYM,userid\n</c></item>
/// <item>answer: <c>price,SYM,userid,timestampMillis,cryptokey\n</c>, then the server closes.</item>
/// <item>simulator only — answer to a malformed query: <c>ERROR,&lt;reason&gt;\n</c>, then close. The reason
/// is free text without newlines (it may contain commas). Clients treat it as a rejected query.</item>
/// </list>
/// Text is UTF-8 (in practice ASCII). Parsers take one line with or without its trailing <c>\n</c> /
/// <c>\r\n</c>. Symbol and user id must be 1..64 characters with no comma, whitespace or control character.
/// </summary>
public static class LegacyQuoteProtocol
{
    public const int MaxFieldLength = 64;
    /// <summary>Longest line either side accepts, terminator included.</summary>
    public const int MaxLineBytes = 1024;
    public const string ErrorPrefix = "ERROR,";

    /// <summary>Null when <paramref name="value"/> is a valid symbol / user id, else why not.</summary>
    public static string? ValidateField(string? value, string fieldName)
    {
        if (string.IsNullOrEmpty(value)) return $"{fieldName} is empty";
        if (value.Length > MaxFieldLength) return $"{fieldName} is longer than {MaxFieldLength} characters";
        foreach (char c in value)
        {
            if (c == ',' || char.IsWhiteSpace(c) || char.IsControl(c))
                return $"{fieldName} '{Printable(value)}' contains a comma, blank or control character";
        }
        return null;
    }

    // ---------------------------------------------------------------- query

    /// <summary><c>SYM,userid\n</c>.</summary>
    /// <exception cref="ArgumentException">Symbol or user id not valid on the wire.</exception>
    public static string FormatRequest(string symbol, string userId)
    {
        ThrowIfInvalid(symbol, userId);
        return string.Concat(symbol, ",", userId, "\n");
    }

    /// <summary>Writes <c>SYM,userid\n</c> as UTF-8 into <paramref name="destination"/>; returns the byte count.</summary>
    public static int WriteRequest(string symbol, string userId, Span<byte> destination)
    {
        ThrowIfInvalid(symbol, userId);
        int n = Encoding.UTF8.GetBytes(symbol, destination);
        destination[n++] = (byte)',';
        n += Encoding.UTF8.GetBytes(userId, destination[n..]);
        destination[n++] = (byte)'\n';
        return n;
    }

    public static bool TryParseRequest(ReadOnlySpan<char> line, [NotNullWhen(true)] out string? symbol,
        [NotNullWhen(true)] out string? userId, [NotNullWhen(false)] out string? error)
    {
        symbol = userId = null;
        line = StripTerminator(line);
        int comma = line.IndexOf(',');
        if (comma < 0 || line[(comma + 1)..].Contains(','))
        {
            error = $"query must be 'SYM,userid' (exactly 2 fields), got '{Printable(line)}'";
            return false;
        }
        var sym = line[..comma].ToString();
        var user = line[(comma + 1)..].ToString();
        error = ValidateField(sym, "symbol") ?? ValidateField(user, "user id");
        if (error is not null) return false;
        symbol = sym;
        userId = user;
        return true;
    }

    // ---------------------------------------------------------------- answer

    /// <summary><c>price,SYM,userid,timestampMillis,cryptokey\n</c>; price in invariant culture, at least two decimals.</summary>
    public static string FormatResponse(Quote quote)
    {
        ArgumentNullException.ThrowIfNull(quote);
        var inv = CultureInfo.InvariantCulture;
        string price = decimal.Round(quote.Price, 2) == quote.Price
            ? quote.Price.ToString("0.00", inv)
            : quote.Price.ToString(inv);
        return string.Concat(price, ",", quote.Symbol, ",", quote.UserId, ",",
            quote.TimestampMs.ToString(inv), ",", quote.CryptoKey, "\n");
    }

    /// <summary><c>ERROR,&lt;reason&gt;\n</c> with any CR/LF in the reason replaced by blanks.</summary>
    public static string FormatError(string reason) =>
        string.Concat(ErrorPrefix, (reason ?? "").Replace('\r', ' ').Replace('\n', ' '), "\n");

    /// <summary>True when the line is the simulator's <c>ERROR,&lt;reason&gt;</c> answer.</summary>
    public static bool IsErrorLine(ReadOnlySpan<char> line, out string reason)
    {
        line = StripTerminator(line);
        if (line.StartsWith(ErrorPrefix, StringComparison.Ordinal))
        {
            reason = line[ErrorPrefix.Length..].ToString();
            return true;
        }
        reason = "";
        return false;
    }

    /// <summary>Parses an answer to the query (<paramref name="expectedSymbol"/>, <paramref name="expectedUserId"/>).</summary>
    /// <exception cref="FormatException">Malformed answer or an echo that does not match the query; the message says which.</exception>
    public static Quote ParseResponse(ReadOnlySpan<char> line, string expectedSymbol, string expectedUserId) =>
        TryParseResponse(line, expectedSymbol, expectedUserId, out var quote, out var error) ? quote : throw new FormatException(error);

    public static bool TryParseResponse(ReadOnlySpan<char> line, string expectedSymbol, string expectedUserId,
        [NotNullWhen(true)] out Quote? quote, [NotNullWhen(false)] out string? error)
    {
        quote = null;
        line = StripTerminator(line);
        if (IsErrorLine(line, out var reason))
        {
            error = $"server rejected the query: {reason}";
            return false;
        }

        Span<Range> fields = stackalloc Range[6];
        int count = line.Split(fields, ',');
        if (count != 5)
        {
            int actual = line.Count(',') + 1;
            error = $"expected 5 fields 'price,SYM,userid,timestampMillis,cryptokey', got {actual}";
            return false;
        }

        var priceText = line[fields[0]];
        if (priceText.IsEmpty)
        {
            error = "price is empty";
            return false;
        }
        if (priceText[0] == '-')
        {
            error = $"price '{Printable(priceText)}' is negative";
            return false;
        }
        if (!decimal.TryParse(priceText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal price))
        {
            error = $"price '{Printable(priceText)}' is not a decimal number";
            return false;
        }
        if (price <= 0m)
        {
            error = $"price '{Printable(priceText)}' is not positive";
            return false;
        }

        var symbol = line[fields[1]];
        if (!symbol.SequenceEqual(expectedSymbol))
        {
            error = $"echoed symbol '{Printable(symbol)}' does not match the requested '{expectedSymbol}'";
            return false;
        }
        var user = line[fields[2]];
        if (!user.SequenceEqual(expectedUserId))
        {
            error = $"echoed user id '{Printable(user)}' does not match the requested '{expectedUserId}'";
            return false;
        }

        var tsText = line[fields[3]];
        if (!long.TryParse(tsText, NumberStyles.None, CultureInfo.InvariantCulture, out long timestampMs))
        {
            error = $"timestamp '{Printable(tsText)}' is not a whole number of milliseconds";
            return false;
        }

        var key = line[fields[4]];
        if (key.IsWhiteSpace())
        {
            error = "cryptokey is empty";
            return false;
        }

        quote = new Quote(expectedSymbol, price, expectedUserId, timestampMs, key.ToString());
        error = null;
        return true;
    }

    // ---------------------------------------------------------------- helpers

    internal static ReadOnlySpan<char> StripTerminator(ReadOnlySpan<char> line)
    {
        if (line.EndsWith('\n')) line = line[..^1];
        if (line.EndsWith('\r')) line = line[..^1];
        return line;
    }

    /// <summary>At most 80 characters, control characters shown as '?', for error messages.</summary>
    internal static string Printable(ReadOnlySpan<char> text)
    {
        const int max = 80;
        var cut = text.Length > max ? text[..max] : text;
        Span<char> buf = stackalloc char[cut.Length];
        for (int i = 0; i < cut.Length; i++) buf[i] = char.IsControl(cut[i]) ? '?' : cut[i];
        return text.Length > max ? string.Concat(buf, "...") : buf.ToString();
    }

    private static void ThrowIfInvalid(string symbol, string userId)
    {
        var error = ValidateField(symbol, "symbol") ?? ValidateField(userId, "user id");
        if (error is not null) throw new ArgumentException(error);
    }
}
