using DayTrading.Quotes;
using Xunit;

namespace DayTrading.Tests.Quotes;

public class LegacyQuoteProtocolTests
{
    [Fact]
    public void Formats_and_parses_a_request()
    {
        Assert.Equal("ABC,user1\n", LegacyQuoteProtocol.FormatRequest("ABC", "user1"));
        Span<byte> buf = stackalloc byte[64];
        int n = LegacyQuoteProtocol.WriteRequest("ABC", "user1", buf);
        Assert.Equal("ABC,user1\n"u8.ToArray(), buf[..n].ToArray());

        Assert.True(LegacyQuoteProtocol.TryParseRequest("ABC,user1\n", out var sym, out var user, out _));
        Assert.Equal(("ABC", "user1"), (sym, user));
        Assert.True(LegacyQuoteProtocol.TryParseRequest("ABC,user1\r\n", out sym, out user, out _));
        Assert.Equal(("ABC", "user1"), (sym, user));
    }

    [Theory]
    [InlineData("ABC", "exactly 2 fields")]
    [InlineData("ABC,u,x", "exactly 2 fields")]
    [InlineData(",user1", "symbol is empty")]
    [InlineData("ABC,", "user id is empty")]
    [InlineData("A C,user1", "symbol 'A C' contains")]
    [InlineData("", "exactly 2 fields")]
    public void Rejects_malformed_requests(string line, string expected)
    {
        Assert.False(LegacyQuoteProtocol.TryParseRequest(line, out _, out _, out var error));
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Refuses_to_format_an_invalid_request()
    {
        Assert.Throws<ArgumentException>(() => LegacyQuoteProtocol.FormatRequest("A,B", "u"));
        Assert.Throws<ArgumentException>(() => LegacyQuoteProtocol.FormatRequest("ABC", ""));
    }

    [Fact]
    public void Parses_a_good_answer_exactly()
    {
        var q = LegacyQuoteProtocol.ParseResponse("123.45,ABC,user1,1700000000123,IRrR7UeTO35kSWUgG0QJKmB35sL27FG0i1bMKhnrgK3=\n", "ABC", "user1");
        Assert.Equal(new Quote("ABC", 123.45m, "user1", 1_700_000_000_123, "IRrR7UeTO35kSWUgG0QJKmB35sL27FG0i1bMKhnrgK3="), q);
        Assert.Equal(123.45m, LegacyQuoteProtocol.ParseResponse("123.45,ABC,user1,1,k\r\n", "ABC", "user1").Price);
        Assert.Equal(7m, LegacyQuoteProtocol.ParseResponse("7,ABC,user1,1,k", "ABC", "user1").Price);
    }

    [Fact]
    public void Format_and_parse_round_trip()
    {
        var q = new QuotePriceModel(3).QuoteAt("XYZ", "u-9", 1_700_000_123_456);
        var line = LegacyQuoteProtocol.FormatResponse(q);
        Assert.EndsWith("\n", line);
        Assert.Equal(q, LegacyQuoteProtocol.ParseResponse(line, "XYZ", "u-9"));
        Assert.StartsWith("12.00,", LegacyQuoteProtocol.FormatResponse(q with { Price = 12m }));
    }

    [Theory]
    [InlineData("123.45,ABC,user1,1700000000000", "expected 5 fields")]
    [InlineData("123.45,ABC,user1,1700000000000,key,extra", "expected 5 fields")]
    [InlineData("", "expected 5 fields")]
    [InlineData("-1.00,ABC,user1,1700000000000,key", "negative")]
    [InlineData("0.00,ABC,user1,1700000000000,key", "not positive")]
    [InlineData("0,ABC,user1,1700000000000,key", "not positive")]
    [InlineData("abc,ABC,user1,1700000000000,key", "not a decimal number")]
    [InlineData("1e3,ABC,user1,1700000000000,key", "not a decimal number")]
    [InlineData("1,234.50,ABC,user1,1700000000000,key", "expected 5 fields")]
    [InlineData(" 12.00,ABC,user1,1700000000000,key", "not a decimal number")]
    [InlineData(",ABC,user1,1700000000000,key", "price is empty")]
    [InlineData("12.00,ABC,user1,17000x0000000,key", "timestamp '17000x0000000' is not a whole number")]
    [InlineData("12.00,ABC,user1,-5,key", "timestamp '-5'")]
    [InlineData("12.00,ABC,user1,,key", "timestamp ''")]
    [InlineData("12.00,ABC,user1,1700000000000,", "cryptokey is empty")]
    [InlineData("12.00,XYZ,user1,1700000000000,key", "echoed symbol 'XYZ' does not match the requested 'ABC'")]
    [InlineData("12.00,ABC,user2,1700000000000,key", "echoed user id 'user2' does not match the requested 'user1'")]
    [InlineData("ERROR,query must be 'SYM,userid'", "server rejected the query: query must be 'SYM,userid'")]
    public void Rejects_each_kind_of_malformed_answer(string line, string expected)
    {
        Assert.False(LegacyQuoteProtocol.TryParseResponse(line, "ABC", "user1", out _, out var error));
        Assert.Contains(expected, error);
        var e = Assert.Throws<FormatException>(() => LegacyQuoteProtocol.ParseResponse(line, "ABC", "user1"));
        Assert.Equal(error, e.Message);
    }

    [Fact]
    public void Error_line_format()
    {
        Assert.Equal("ERROR,bad  query\n", LegacyQuoteProtocol.FormatError("bad\r query"));
        Assert.Equal("ERROR,a b\n", LegacyQuoteProtocol.FormatError("a\nb"));
        Assert.True(LegacyQuoteProtocol.IsErrorLine("ERROR,x,y\n", out var reason));
        Assert.Equal("x,y", reason);
    }
}
