using System.Globalization;

namespace DayTrading.Accounts;

/// <summary>The input rules of SPEC §1: user ids, symbols and money on the wire.</summary>
public static class Rules
{
    public const decimal MaxAmount = 1_000_000_000m;

    /// <summary>
    /// Most shares of one symbol an account may hold, pending buys included (share counts are 32-bit: this keeps
    /// every sum of them far from overflow). A BUY past it is refused; a buy trigger buys up to it and refunds the rest.
    /// </summary>
    public const int MaxSharesPerSymbol = 1_000_000_000;
    public const int MaxUserIdLength = 64;
    public const int MaxSymbolLength = 3;

    public static bool IsValidUserId(ReadOnlySpan<char> id)
    {
        if (id.Length is 0 or > MaxUserIdLength) return false;
        foreach (var c in id)
        {
            if (!(c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '_' or '-')) return false;
        }
        return true;
    }

    public static bool IsValidSymbol(ReadOnlySpan<char> sym)
    {
        if (sym.Length is 0 or > MaxSymbolLength) return false;
        foreach (var c in sym)
        {
            if (c is < 'A' or > 'Z') return false;
        }
        return true;
    }

    /// <summary>
    /// Parses a wire amount: digits, optionally a dot and one or two decimals; &gt; 0 and ≤ 1,000,000,000.
    /// Signs, exponents, thousands separators, NaN and a third decimal are all refused.
    /// </summary>
    public static bool TryParseAmount(ReadOnlySpan<char> text, out decimal amount, out string? error)
    {
        amount = 0;
        error = null;
        if (text.IsEmpty) { error = "amount is missing"; return false; }
        if (!IsDecimal(text))
        {
            // A negative number is an amount that is too small, not something that is no amount at all.
            error = text[0] == '-' && IsDecimal(text[1..])
                ? "amount must be greater than 0"
                : $"'{Echo(text)}' is not an amount (digits with at most two decimals)";
            return false;
        }
        var dot = text.IndexOf('.');
        var whole = dot < 0 ? text : text[..dot];
        var frac = dot < 0 ? ReadOnlySpan<char>.Empty : text[(dot + 1)..];
        if (frac.Length > 2) { error = $"'{Echo(text)}' has more than two decimals"; return false; }
        if (whole.TrimStart('0').Length > 10) { error = $"'{Echo(text)}' is above the limit of 1000000000"; return false; }
        amount = decimal.Parse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        if (amount <= 0) { error = "amount must be greater than 0"; return false; }
        if (amount > MaxAmount) { error = $"'{Echo(text)}' is above the limit of 1000000000"; return false; }
        return true;
    }

    public const int EchoLimit = 40;

    /// <summary>
    /// A value as a refusal quotes it: at most <see cref="EchoLimit"/> characters (then "..."), control characters as
    /// spaces. The cut never splits a surrogate pair: half of one would reach the client as U+FFFD.
    /// </summary>
    public static string Echo(ReadOnlySpan<char> s)
    {
        var cut = s.Length > EchoLimit ? s[..(char.IsHighSurrogate(s[EchoLimit - 1]) ? EchoLimit - 1 : EchoLimit)] : s;
        Span<char> buf = stackalloc char[cut.Length];
        var n = 0;
        foreach (var c in cut) buf[n++] = char.IsControl(c) ? ' ' : c;
        return s.Length > EchoLimit ? string.Concat(buf[..n], "...") : new string(buf[..n]);
    }

    /// <summary>Digits, optionally a dot and at least one more digit: the shape of an amount, before its limits.</summary>
    private static bool IsDecimal(ReadOnlySpan<char> s)
    {
        var dot = s.IndexOf('.');
        var whole = dot < 0 ? s : s[..dot];
        return !whole.IsEmpty && AllDigits(whole) && (dot < 0 || (dot + 1 < s.Length && AllDigits(s[(dot + 1)..])));
    }

    private static bool AllDigits(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (c is < '0' or > '9') return false;
        }
        return true;
    }

    /// <summary>Money as the wire and the audit log show it: exactly two decimals, invariant culture.</summary>
    public static string FormatMoney(decimal amount) => amount.ToString("0.00", CultureInfo.InvariantCulture);
}
