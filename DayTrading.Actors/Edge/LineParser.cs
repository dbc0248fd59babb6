using DayTrading.Accounts;

namespace DayTrading.Edge;

/// <summary>
/// Parses one workload line <c>[N] CMD,arg,arg…</c> (SPEC §2, §4) into a <see cref="TradeRequest"/>, a rejection
/// with a reason, or a session directive (<c>#RUN,id</c>, <c>#QUIET,on|off</c>). See docs/PROTOCOL.md.
/// <para>Decisions: command and directive names are case-insensitive (responses use the canonical upper-case
/// name); user ids, symbols and amounts are case-/format-strict per SPEC §1 (a lower-case symbol is refused);
/// spaces and tabs around fields are ignored; a line without <c>[N]</c> gets a number from
/// <see cref="TxNumberGenerator"/>.</para>
/// </summary>
public static class LineParser
{
    public const int MaxFileNameLength = 255;
    private const int MaxTxDigits = 18; // < long.MaxValue, so no overflow check needed

    public static ParsedLine Parse(FramedLine framed, string? runId, TxNumberGenerator numbers)
    {
        switch (framed.Kind)
        {
            case FramedLineKind.Line:
                return Parse(framed.Text, runId, numbers);
            default:
            {
                // Only a prefix of the line is known: recover [N] and the command name when they are whole.
                var reason = framed.Kind == FramedLineKind.TooLong
                    ? $"line too long (more than {LineFramer.MaxLineBytes} bytes)"
                    : "invalid UTF-8";
                var text = framed.Text.AsSpan().TrimStart(" \t");
                var rest = ReadTxNum(text, numbers, out var tx, out var assigned, out _);
                string? command = null;
                var comma = rest.IndexOf(',');
                if (comma > 0 && CommandNames.TryParse(rest[..comma].Trim(" \t"), out var k)) command = k.Name();
                return ParsedLine.ForRejected(tx, assigned, command, null, reason);
            }
        }
    }

    public static ParsedLine Parse(string line, string? runId, TxNumberGenerator numbers)
    {
        var text = line.AsSpan().Trim(" \t\r");
        if (text.Length > 0 && text[0] == '#') return ParseDirective(text[1..]);

        var rest = ReadTxNum(text, numbers, out var tx, out var assigned, out var txError);

        // Command name: everything up to the first comma.
        var comma = rest.IndexOf(',');
        var cmdToken = (comma < 0 ? rest : rest[..comma]).Trim(" \t");
        var argsText = comma < 0 ? ReadOnlySpan<char>.Empty : rest[(comma + 1)..];
        var argCount = comma < 0 ? 0 : argsText.Count(',') + 1;

        if (cmdToken.IsEmpty) return ParsedLine.ForRejected(tx, assigned, null, null, txError ?? "missing command");
        if (!CommandNames.TryParse(cmdToken, out var kind))
            return ParsedLine.ForRejected(tx, assigned, null, null, txError ?? $"unknown command '{Echo(cmdToken)}'");
        var name = kind.Name();
        if (txError is not null) return ParsedLine.ForRejected(tx, assigned, name, null, txError);

        Span<Range> ranges = stackalloc Range[5];
        var n = argCount == 0 ? 0 : argsText.Split(ranges, ',');
        // n is capped at ranges.Length; argCount is the true count.

        ReadOnlySpan<char> Arg(ReadOnlySpan<char> args, Span<Range> r, int i) => args[r[i]].Trim(" \t");

        var shape = ShapeOf(kind);
        if (kind == CommandKind.DumpLog)
        {
            if (argCount is not (1 or 2))
                return Reject(tx, assigned, name, null, $"takes filename (admin) or user,filename (got {Plural(argCount)})");
            string? user = null;
            if (argCount == 2)
            {
                var u = Arg(argsText, ranges, 0);
                if (!Rules.IsValidUserId(u)) return Reject(tx, assigned, name, null, InvalidUser(u));
                user = u.ToString();
            }
            var file = Arg(argsText, ranges, argCount - 1);
            var fileError = CheckFileName(file);
            if (fileError is not null) return Reject(tx, assigned, name, user, fileError);
            return ParsedLine.ForRequest(new TradeRequest(tx, kind, user, FileName: file.ToString(), RunId: runId), assigned);
        }

        var expected = shape.Length;
        if (argCount != expected)
            // The response names the command already (`ERR BUY takes …`), so the reason does not repeat it.
            return Reject(tx, assigned, name, null, $"takes {string.Join(',', shape)} (got {Plural(argCount)})");

        var userSpan = Arg(argsText, ranges, 0);
        if (!Rules.IsValidUserId(userSpan)) return Reject(tx, assigned, name, null, InvalidUser(userSpan));
        var userId = userSpan.ToString();

        string? symbol = null;
        var amount = 0m;
        if (expected >= 2)
        {
            var s = Arg(argsText, ranges, 1);
            if (shape[1] == "symbol")
            {
                if (!Rules.IsValidSymbol(s))
                    return Reject(tx, assigned, name, userId, $"invalid symbol '{Echo(s)}' (1-3 letters A-Z)");
                symbol = s.ToString();
            }
            else if (!Rules.TryParseAmount(s, out amount, out var err))
            {
                return Reject(tx, assigned, name, userId, err!);
            }
        }
        if (expected == 3)
        {
            var a = Arg(argsText, ranges, 2);
            if (!Rules.TryParseAmount(a, out amount, out var err)) return Reject(tx, assigned, name, userId, err!);
        }
        return ParsedLine.ForRequest(new TradeRequest(tx, kind, userId, symbol, amount, RunId: runId), assigned);
    }

    /// <summary>The argument names each command takes (DUMPLOG is special-cased).</summary>
    public static string[] ShapeOf(CommandKind kind) => kind switch
    {
        CommandKind.Add => UserAmount,
        CommandKind.Quote or CommandKind.CancelSetBuy or CommandKind.CancelSetSell => UserSymbol,
        CommandKind.Buy or CommandKind.Sell or CommandKind.SetBuyAmount or CommandKind.SetSellAmount => UserSymbolAmount,
        CommandKind.SetBuyTrigger or CommandKind.SetSellTrigger => UserSymbolPrice,
        CommandKind.DumpLog => ["filename"],
        _ => UserOnly,
    };

    private static readonly string[] UserOnly = ["user"];
    private static readonly string[] UserAmount = ["user", "amount"];
    private static readonly string[] UserSymbol = ["user", "symbol"];
    private static readonly string[] UserSymbolAmount = ["user", "symbol", "amount"];
    private static readonly string[] UserSymbolPrice = ["user", "symbol", "price"];

    private static ParsedLine Reject(long tx, bool assigned, string? command, string? user, string reason) =>
        ParsedLine.ForRejected(tx, assigned, command, user, reason);

    private static string Plural(int n) => n == 1 ? "1 argument" : $"{n} arguments";

    private static string InvalidUser(ReadOnlySpan<char> u) =>
        u.IsEmpty ? "user id is missing" : $"invalid user id '{Echo(u)}' (1-64 characters of A-Z a-z 0-9 _ -)";

    /// <summary>Reads an optional <c>[N]</c> prefix; assigns a number when it is absent or unusable.</summary>
    private static ReadOnlySpan<char> ReadTxNum(
        ReadOnlySpan<char> text, TxNumberGenerator numbers, out long tx, out bool assigned, out string? error)
    {
        error = null;
        assigned = true;
        if (text.IsEmpty || text[0] != '[')
        {
            tx = numbers.Next();
            return text;
        }
        var close = text.IndexOf(']');
        if (close < 0)
        {
            tx = numbers.Next();
            error = "missing ']' after the transaction number";
            return text[1..];
        }
        var digits = text[1..close].Trim(" \t");
        var rest = text[(close + 1)..].TrimStart(" \t");
        long value = 0;
        if (digits.Length is > 0 and <= MaxTxDigits && AllDigits(digits))
        {
            foreach (var c in digits) value = value * 10 + (c - '0');
        }
        if (value <= 0)
        {
            tx = numbers.Next();
            error = $"invalid transaction number '{Echo(digits)}' (a positive integer)";
            return rest;
        }
        tx = value;
        assigned = false;
        return rest;
    }

    private static ParsedLine ParseDirective(ReadOnlySpan<char> body)
    {
        var comma = body.IndexOf(',');
        var nameSpan = (comma < 0 ? body : body[..comma]).Trim(" \t");
        var value = comma < 0 ? ReadOnlySpan<char>.Empty : body[(comma + 1)..].Trim(" \t");
        if (nameSpan.Equals("RUN", StringComparison.OrdinalIgnoreCase))
        {
            if (!Rules.IsValidUserId(value))
                return ParsedLine.ForDirective(DirectiveKind.Run, "RUN", null,
                    $"invalid run id '{Echo(value)}' (1-64 characters of A-Z a-z 0-9 _ -)");
            return ParsedLine.ForDirective(DirectiveKind.Run, "RUN", value.ToString(), null);
        }
        if (nameSpan.Equals("QUIET", StringComparison.OrdinalIgnoreCase))
        {
            if (value.Equals("on", StringComparison.OrdinalIgnoreCase))
                return ParsedLine.ForDirective(DirectiveKind.Quiet, "QUIET", "on", null);
            if (value.Equals("off", StringComparison.OrdinalIgnoreCase))
                return ParsedLine.ForDirective(DirectiveKind.Quiet, "QUIET", "off", null);
            return ParsedLine.ForDirective(DirectiveKind.Quiet, "QUIET", null, "takes on or off");
        }
        if (nameSpan.Equals("ORDER", StringComparison.OrdinalIgnoreCase))
        {
            if (value.Equals("position", StringComparison.OrdinalIgnoreCase))
                return ParsedLine.ForDirective(DirectiveKind.Order, "ORDER", "position", null);
            if (value.Equals("ready", StringComparison.OrdinalIgnoreCase))
                return ParsedLine.ForDirective(DirectiveKind.Order, "ORDER", "ready", null);
            return ParsedLine.ForDirective(DirectiveKind.Order, "ORDER", null, "takes position or ready");
        }
        return ParsedLine.ForDirective(DirectiveKind.Unknown, "?", null, $"unknown directive '#{Echo(nameSpan)}'");
    }

    /// <summary>Null when the name is usable as a DUMPLOG filename (relative, no '..', no control characters).</summary>
    public static string? CheckFileName(ReadOnlySpan<char> file)
    {
        if (file.IsEmpty) return "DUMPLOG filename is missing";
        if (file.Length > MaxFileNameLength) return $"DUMPLOG filename is longer than {MaxFileNameLength} characters";
        foreach (var c in file)
        {
            if (char.IsControl(c)) return "DUMPLOG filename contains control characters";
            if (c is ':' or '*' or '?' or '"' or '<' or '>' or '|')
                return $"DUMPLOG filename '{Echo(file)}' contains '{c}'";
        }
        if (file[0] is '/' or '\\' || file[0] == '~') return $"DUMPLOG filename '{Echo(file)}' must be relative to the dump directory";
        foreach (var range in file.SplitAny('/', '\\'))
        {
            if (file[range].SequenceEqual("..")) return $"DUMPLOG filename '{Echo(file)}' must not contain '..'";
        }
        var last = file[(file.LastIndexOfAny('/', '\\') + 1)..];
        if (last.IsEmpty || last.SequenceEqual(".")) return $"DUMPLOG filename '{Echo(file)}' names no file";
        return null;
    }

    private static bool AllDigits(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (c is < '0' or > '9') return false;
        }
        return true;
    }

    private static string Echo(ReadOnlySpan<char> s) => Rules.Echo(s);
}
