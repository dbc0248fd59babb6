using DayTrading.Accounts;
using DayTrading.Edge;
using Xunit;

namespace DayTrading.Tests.Edge;

public sealed class LineParserTests
{
    private const long Base = 5_000_000_000_000_000;
    private readonly TxNumberGenerator _numbers = new(Base);

    private ParsedLine P(string line, string? runId = null) => LineParser.Parse(line, runId, _numbers);

    private TradeRequest Ok(string line, string? runId = null)
    {
        var parsed = P(line, runId);
        Assert.True(parsed.Kind == ParsedLineKind.Request, $"expected a request, got {parsed}");
        return parsed.Request!;
    }

    private ParsedLine Err(string line)
    {
        var parsed = P(line);
        Assert.True(parsed.Kind == ParsedLineKind.Rejected, $"expected a rejection, got {parsed}");
        return parsed;
    }

    public static TheoryData<string, TradeRequest> ValidLines => new()
    {
        { "[1] ADD,u1,100", new TradeRequest(1, CommandKind.Add, "u1", Amount: 100m) },
        { "[2] ADD,u1,0.01", new TradeRequest(2, CommandKind.Add, "u1", Amount: 0.01m) },
        { "[3] ADD,u1,1000000000", new TradeRequest(3, CommandKind.Add, "u1", Amount: 1_000_000_000m) },
        { "[4] QUOTE,u1,S", new TradeRequest(4, CommandKind.Quote, "u1", "S") },
        { "[5] BUY,u1,ABC,276.83", new TradeRequest(5, CommandKind.Buy, "u1", "ABC", 276.83m) },
        { "[6] COMMIT_BUY,u1", new TradeRequest(6, CommandKind.CommitBuy, "u1") },
        { "[7] CANCEL_BUY,u1", new TradeRequest(7, CommandKind.CancelBuy, "u1") },
        { "[8] SELL,u1,S,55.00", new TradeRequest(8, CommandKind.Sell, "u1", "S", 55m) },
        { "[9] COMMIT_SELL,u1", new TradeRequest(9, CommandKind.CommitSell, "u1") },
        { "[10] CANCEL_SELL,u1", new TradeRequest(10, CommandKind.CancelSell, "u1") },
        { "[11] SET_BUY_AMOUNT,u1,S,658.38", new TradeRequest(11, CommandKind.SetBuyAmount, "u1", "S", 658.38m) },
        { "[12] SET_BUY_TRIGGER,u1,S,30.04", new TradeRequest(12, CommandKind.SetBuyTrigger, "u1", "S", 30.04m) },
        { "[13] CANCEL_SET_BUY,u1,S", new TradeRequest(13, CommandKind.CancelSetBuy, "u1", "S") },
        { "[14] SET_SELL_AMOUNT,u1,S,2.00", new TradeRequest(14, CommandKind.SetSellAmount, "u1", "S", 2m) },
        { "[15] SET_SELL_TRIGGER,u1,S,30.04", new TradeRequest(15, CommandKind.SetSellTrigger, "u1", "S", 30.04m) },
        { "[16] CANCEL_SET_SELL,u1,S", new TradeRequest(16, CommandKind.CancelSetSell, "u1", "S") },
        { "[17] DUMPLOG,u1,./userLOG", new TradeRequest(17, CommandKind.DumpLog, "u1", FileName: "./userLOG") },
        { "[18] DUMPLOG,./allLOG", new TradeRequest(18, CommandKind.DumpLog, null, FileName: "./allLOG") },
        { "[19] DISPLAY_SUMMARY,u1", new TradeRequest(19, CommandKind.DisplaySummary, "u1") },
        // tolerated spelling: lower-case command, spaces around fields, no space after [N]
        { "[20] add , u-1_X , 5", new TradeRequest(20, CommandKind.Add, "u-1_X", Amount: 5m) },
        { "[21]Display_Summary,u1", new TradeRequest(21, CommandKind.DisplaySummary, "u1") },
        { "  [22]   QUOTE,u1,S  ", new TradeRequest(22, CommandKind.Quote, "u1", "S") },
        { "[23] DUMPLOG,logs/out.xml", new TradeRequest(23, CommandKind.DumpLog, null, FileName: "logs/out.xml") },
    };

    [Theory]
    [MemberData(nameof(ValidLines))]
    public void Valid_forms_parse(string line, TradeRequest expected)
    {
        var parsed = P(line);
        Assert.Equal(ParsedLineKind.Request, parsed.Kind);
        Assert.Equal(expected, parsed.Request);
        Assert.False(parsed.TxNumAssigned);
        Assert.Equal(expected.Kind.Name(), parsed.Command);
    }

    [Fact]
    public void The_run_id_is_attached()
    {
        Assert.Equal("run-1", Ok("[1] ADD,u,1", "run-1").RunId);
    }

    [Fact]
    public void A_line_without_N_gets_an_assigned_number_above_the_base()
    {
        var a = P("ADD,u,1");
        var b = P("QUOTE,u,S");
        Assert.True(a.TxNumAssigned);
        Assert.Equal(Base + 1, a.Request!.TxNum);
        Assert.Equal(Base + 2, b.Request!.TxNum);
    }

    [Fact]
    public void The_shared_generator_starts_far_above_workload_numbers_and_increases()
    {
        var g = TxNumberGenerator.FromClock();
        var first = g.Next();
        Assert.True(first > 1_000_000_000_000_000);
        Assert.Equal(first + 1, g.Next());
    }

    [Theory]
    [InlineData("[1] FOO,u,1", "unknown command 'FOO'")]
    [InlineData("[1] ,u,1", "missing command")]
    [InlineData("[1]", "missing command")]
    public void Unknown_or_missing_commands_are_refused_with_no_command_name(string line, string reason)
    {
        var e = Err(line);
        Assert.Equal(1, e.TxNum);
        Assert.Null(e.Command);
        Assert.Equal(reason, e.Reason);
    }

    [Theory]
    [InlineData("[1] ADD,u", "takes user,amount (got 1 argument)")]
    [InlineData("[1] ADD", "takes user,amount (got 0 arguments)")]
    [InlineData("[1] ADD,u,1,2", "takes user,amount (got 3 arguments)")]
    [InlineData("[1] QUOTE,u", "takes user,symbol (got 1 argument)")]
    [InlineData("[1] BUY,u,S", "takes user,symbol,amount (got 2 arguments)")]
    [InlineData("[1] SELL,u,S,1,2", "takes user,symbol,amount (got 4 arguments)")]
    [InlineData("[1] COMMIT_BUY,u,S", "takes user (got 2 arguments)")]
    [InlineData("[1] CANCEL_BUY", "takes user (got 0 arguments)")]
    [InlineData("[1] COMMIT_SELL,u,x", "takes user (got 2 arguments)")]
    [InlineData("[1] CANCEL_SELL,u,x", "takes user (got 2 arguments)")]
    [InlineData("[1] SET_BUY_AMOUNT,u,S", "takes user,symbol,amount (got 2 arguments)")]
    [InlineData("[1] SET_BUY_TRIGGER,u,S", "takes user,symbol,price (got 2 arguments)")]
    [InlineData("[1] CANCEL_SET_BUY,u", "takes user,symbol (got 1 argument)")]
    [InlineData("[1] SET_SELL_AMOUNT,u", "takes user,symbol,amount (got 1 argument)")]
    [InlineData("[1] SET_SELL_TRIGGER,u,S,1,1", "takes user,symbol,price (got 4 arguments)")]
    [InlineData("[1] CANCEL_SET_SELL,u,S,1", "takes user,symbol (got 3 arguments)")]
    [InlineData("[1] DISPLAY_SUMMARY,u,x", "takes user (got 2 arguments)")]
    [InlineData("[1] DUMPLOG", "takes filename (admin) or user,filename (got 0 arguments)")]
    [InlineData("[1] DUMPLOG,u,f,g", "takes filename (admin) or user,filename (got 3 arguments)")]
    [InlineData("[1] ADD,u,1,", "takes user,amount (got 3 arguments)")]
    public void Wrong_argument_counts_say_what_is_expected(string line, string reason)
    {
        var e = Err(line);
        Assert.Equal(reason, e.Reason);
        Assert.NotNull(e.Command);
    }

    [Theory]
    [InlineData("[7] BUY,u,S", "[7] ERR BUY takes user,symbol,amount (got 2 arguments)")]
    [InlineData("[7] DUMPLOG,u,f,g", "[7] ERR DUMPLOG takes filename (admin) or user,filename (got 3 arguments)")]
    [InlineData("[7] add,u", "[7] ERR ADD takes user,amount (got 1 argument)")]
    public void An_argument_count_error_names_its_command_once(string line, string response)
    {
        var e = Err(line);
        Assert.Equal(response, ResponseFormatter.Error(e.TxNum, e.Command, e.Reason));
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("-0.01")]
    [InlineData("-1000000000000")]
    [InlineData("0")]
    [InlineData("0.00")]
    [InlineData("000")]
    public void Negative_and_zero_amounts_must_be_greater_than_0(string amount)
    {
        Assert.False(Rules.TryParseAmount(amount, out _, out var error));
        Assert.Equal("amount must be greater than 0", error);
        Assert.Equal("[1] ERR ADD amount must be greater than 0", ResponseFormatter.Error(1, "ADD", Err($"[1] ADD,u,{amount}").Reason));
    }

    [Theory]
    [InlineData("-")]
    [InlineData("--5")]
    [InlineData("-1e3")]
    [InlineData("-5.")]
    [InlineData("-x")]
    [InlineData("5-")]
    public void A_minus_sign_before_no_number_is_still_not_an_amount(string amount)
    {
        Assert.False(Rules.TryParseAmount(amount, out _, out var error));
        Assert.Equal($"'{amount}' is not an amount (digits with at most two decimals)", error);
    }

    [Theory]
    [InlineData("[1] ADD,,1", "user id is missing")]
    [InlineData("[1] ADD,bad user,1", "invalid user id 'bad user' (1-64 characters of A-Z a-z 0-9 _ -)")]
    [InlineData("[1] QUOTE,us\u00e9r,S", "invalid user id 'us\u00e9r' (1-64 characters of A-Z a-z 0-9 _ -)")]
    [InlineData("[1] DUMPLOG,a.b,file", "invalid user id 'a.b' (1-64 characters of A-Z a-z 0-9 _ -)")]
    public void Invalid_user_ids_are_refused(string line, string reason)
    {
        Assert.Equal(reason, Err(line).Reason);
    }

    [Fact]
    public void A_user_id_of_65_characters_is_refused_and_64_accepted()
    {
        Assert.Equal(new string('a', 64), Ok($"[1] ADD,{new string('a', 64)},1").UserId);
        Assert.StartsWith("invalid user id", Err($"[1] ADD,{new string('a', 65)},1").Reason);
    }

    [Theory]
    [InlineData("[1] QUOTE,u,s")]
    [InlineData("[1] QUOTE,u,ABCD")]
    [InlineData("[1] BUY,u,,5")]
    [InlineData("[1] SET_BUY_TRIGGER,u,A1,5")]
    [InlineData("[1] CANCEL_SET_SELL,u,\u00c4")]
    public void Invalid_symbols_are_refused(string line)
    {
        var e = Err(line);
        Assert.StartsWith("invalid symbol", e.Reason);
        Assert.Equal("u", e.UserId);
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("0")]
    [InlineData("1e3")]
    [InlineData("NaN")]
    [InlineData("12.345")]
    [InlineData("1,000")]
    [InlineData("1000000000.01")]
    [InlineData("")]
    [InlineData("+5")]
    [InlineData("5.")]
    public void Bad_amounts_are_refused_with_the_rules_message(string amount)
    {
        foreach (var template in new[] { "[1] ADD,u,{0}", "[1] BUY,u,S,{0}", "[1] SET_SELL_TRIGGER,u,S,{0}" })
        {
            var line = string.Format(template, amount);
            var parsed = P(line);
            Assert.Equal(ParsedLineKind.Rejected, parsed.Kind);
            if (amount == "1,000")
            {
                // the comma splits the amount: that is an argument count error
                Assert.Contains("takes", parsed.Reason);
                continue;
            }
            Rules.TryParseAmount(amount, out _, out var expected);
            Assert.Equal(expected, parsed.Reason);
        }
    }

    [Theory]
    [InlineData("[1] DUMPLOG,../etc/passwd", "must not contain '..'")]
    [InlineData("[1] DUMPLOG,a/../../b", "must not contain '..'")]
    [InlineData("[1] DUMPLOG,/etc/passwd", "must be relative")]
    [InlineData("[1] DUMPLOG,\\\\server\\share", "must be relative")]
    [InlineData("[1] DUMPLOG,C:\\x", "contains ':'")]
    [InlineData("[1] DUMPLOG,u1,", "DUMPLOG filename is missing")]
    [InlineData("[1] DUMPLOG,dir/", "names no file")]
    public void Bad_dumplog_filenames_are_refused(string line, string fragment)
    {
        var e = Err(line);
        Assert.Contains(fragment, e.Reason);
        Assert.Equal("DUMPLOG", e.Command);
    }

    [Fact]
    public void A_dumplog_filename_over_255_characters_is_refused()
    {
        Assert.Contains("longer than 255", Err($"[1] DUMPLOG,{new string('f', 256)}").Reason);
    }

    [Theory]
    [InlineData("[0] ADD,u,1")]
    [InlineData("[abc] ADD,u,1")]
    [InlineData("[-3] ADD,u,1")]
    [InlineData("[] ADD,u,1")]
    [InlineData("[1234567890123456789] ADD,u,1")]
    [InlineData("[12 ADD,u,1")]
    public void Bad_transaction_numbers_are_refused_under_an_assigned_number(string line)
    {
        var e = Err(line);
        Assert.True(e.TxNumAssigned);
        Assert.True(e.TxNum > Base);
        Assert.Contains("transaction number", e.Reason);
    }

    [Fact]
    public void A_bad_transaction_number_still_names_a_known_command()
    {
        Assert.Equal("ADD", Err("[x] ADD,u,1").Command);
    }

    [Fact]
    public void Framed_errors_recover_N_and_command_from_the_prefix()
    {
        var tooLong = LineParser.Parse(new FramedLine(FramedLineKind.TooLong, "[42] BUY,u,S,1111111111111111111"), null, _numbers);
        Assert.Equal(ParsedLineKind.Rejected, tooLong.Kind);
        Assert.Equal(42, tooLong.TxNum);
        Assert.Equal("BUY", tooLong.Command);
        Assert.Equal("line too long (more than 1024 bytes)", tooLong.Reason);

        var utf = LineParser.Parse(new FramedLine(FramedLineKind.InvalidUtf8, "[43] QUO"), null, _numbers);
        Assert.Equal(43, utf.TxNum);
        Assert.Null(utf.Command);
        Assert.Equal("invalid UTF-8", utf.Reason);

        var bare = LineParser.Parse(new FramedLine(FramedLineKind.InvalidUtf8, ""), null, _numbers);
        Assert.True(bare.TxNumAssigned);
    }

    [Theory]
    [InlineData("#RUN,abc-1_X", DirectiveKind.Run, "abc-1_X", null)]
    [InlineData("#run, abc ", DirectiveKind.Run, "abc", null)]
    [InlineData("#RUN", DirectiveKind.Run, null, "invalid run id")]
    [InlineData("#RUN,a b", DirectiveKind.Run, null, "invalid run id")]
    [InlineData("#QUIET,on", DirectiveKind.Quiet, "on", null)]
    [InlineData("#QUIET,OFF", DirectiveKind.Quiet, "off", null)]
    [InlineData("#QUIET,maybe", DirectiveKind.Quiet, null, "takes on or off")]
    [InlineData("#ORDER,sideways", DirectiveKind.Order, null, "takes position or ready")]
    [InlineData("#FOO,1", DirectiveKind.Unknown, null, "unknown directive '#FOO'")]
    public void Directives_parse(string line, DirectiveKind kind, string? value, string? reasonStart)
    {
        var d = P(line);
        Assert.Equal(ParsedLineKind.Directive, d.Kind);
        Assert.Equal(kind, d.Directive);
        Assert.Equal(value, d.DirectiveValue);
        if (reasonStart is null) Assert.Null(d.Reason);
        else Assert.StartsWith(reasonStart, d.Reason);
    }

    [Fact]
    public void A_run_id_of_65_characters_is_refused()
    {
        Assert.NotNull(P("#RUN," + new string('r', 65)).Reason);
        Assert.Null(P("#RUN," + new string('r', 64)).Reason);
    }

    [Fact]
    public void Echoed_values_are_cut_short()
    {
        var e = Err("[1] " + new string('Z', 200) + ",u");
        Assert.True(e.Reason!.Length < 80, e.Reason);
        Assert.EndsWith("...'", e.Reason);
    }

    [Fact]
    public void An_overlong_amount_is_echoed_cut_short_like_every_other_value()
    {
        // Found by EdgeFuzzTests: amounts were quoted whole (a reason of ~1,000 characters).
        foreach (var amount in new[] { new string('7', 300), "9" + new string('x', 300), "1." + new string('5', 300) })
        {
            var e = Err($"[1] ADD,u,{amount}");
            Assert.StartsWith("'" + amount[..40] + "...' ", e.Reason);
        }
    }

    [Fact]
    public void A_cut_echo_never_splits_a_surrogate_pair()
    {
        // Found by EdgeFuzzTests: "a" + 30 emoji cut at 40 UTF-16 characters left half a pair, sent as U+FFFD.
        var e = Err("[1] ADD,a" + string.Concat(Enumerable.Repeat("\U0001F600", 30)) + ",5");
        var reason = e.Reason!;
        var quoted = reason[(reason.IndexOf('\'') + 1)..reason.IndexOf("...'", StringComparison.Ordinal)];
        Assert.Equal("a" + string.Concat(Enumerable.Repeat("\U0001F600", 19)), quoted);
        Assert.False(char.IsHighSurrogate(quoted[^1]));
    }

    [Fact]
    public void Response_lines_are_formatted_as_documented()
    {
        var req = new TradeRequest(7, CommandKind.Quote, "u", "S");
        static string Reply(TradeRequest r, TradeReply reply, bool quiet)
        {
            var buffer = new ResponseBuffer();
            buffer.AppendReply(r, reply, quiet);
            var line = System.Text.Encoding.UTF8.GetString(buffer.Data, 0, buffer.Length);
            Assert.EndsWith("\n", line);
            return line[..^1];
        }
        Assert.Equal("[7] OK QUOTE 1.00,S,u,1,k", Reply(req, TradeReply.Success(req, "1.00,S,u,1,k"), quiet: false));
        Assert.Equal("[7] OK QUOTE", Reply(req, TradeReply.Success(req, "1.00,S,u,1,k"), quiet: true));
        Assert.Equal("[7] OK QUOTE", Reply(req, TradeReply.Success(req), quiet: false));
        Assert.Equal("[7] ERR QUOTE no such user", Reply(req, TradeReply.Failure(req, RefusalReason.UnknownUser, "no such user"), quiet: true));
        Assert.Equal("[7] ERR QUOTE a b  c", Reply(req, TradeReply.Failure(req, RefusalReason.NotDone, "a\nb\r\nc"), quiet: false));
        Assert.Equal("[7] OK QUOTE {\"a\": 1}", Reply(req, TradeReply.Success(req, "{\"a\":\n1}"), quiet: false));
        // QUOTE, BUY and SELL: the wire text is written here from the reply's quote and shares.
        var quoted = new QuoteUsed("S", 1234.5m, 1_700_000_000_123, "k=\n");
        Assert.Equal("[7] OK QUOTE 1234.50,S,u,1700000000123,k= ", Reply(req, TradeReply.Success(req, null, quoted), quiet: false));
        var buy = new TradeRequest(8, CommandKind.Buy, "u", "S", 5000m);
        Assert.Equal("[8] OK BUY 4,S,1234.50,4938.00,1700000000123,k= ", Reply(buy, TradeReply.Success(buy, null, quoted, 4), quiet: false));
        var sell = new TradeRequest(10, CommandKind.Sell, "u", "S", 0.01m);
        Assert.Equal("[10] OK SELL 0,S,0.01,0.00,5,k", Reply(sell, TradeReply.Success(sell, null, new QuoteUsed("S", 0.01m, 5, "k"), 0), quiet: false));
        Assert.Equal("[8] OK BUY", Reply(buy, TradeReply.Success(buy, null, quoted, 4), quiet: true));
        Assert.Equal("[9] ERR ? unknown command 'X'", ResponseFormatter.Error(9, null, "unknown command 'X'"));
        Assert.Equal("# OK RUN abc", ResponseFormatter.Directive(P("#RUN,abc")));
        Assert.Equal("# ERR QUIET takes on or off", ResponseFormatter.Directive(P("#QUIET,x")));
        Assert.Equal("# ERR ORDER takes position or ready", ResponseFormatter.Directive(P("#ORDER,x")));
        Assert.Equal("# ERR ? unknown directive '#X'", ResponseFormatter.Directive(P("#X")));
    }
}
