using System.Text;
using DayTrading.Edge;
using Xunit;

namespace DayTrading.Tests.Edge;

public sealed class LineFramingTests
{
    private static List<FramedLine> Frame(params byte[][] chunks)
    {
        var framer = new LineFramer();
        var lines = new List<FramedLine>();
        foreach (var chunk in chunks) framer.Feed(chunk, lines);
        if (framer.Finish() is { } last) lines.Add(last);
        return lines;
    }

    private static List<FramedLine> Frame(string text) => Frame(Encoding.UTF8.GetBytes(text));

    private static string[] Texts(IEnumerable<FramedLine> lines) => lines.Select(l => $"{l.Kind}:{l.Text}").ToArray();

    [Fact]
    public void Splits_on_LF_and_CRLF_and_emits_the_final_line_without_newline()
    {
        Assert.Equal(["Line:a", "Line:b", "Line:c"], Texts(Frame("a\nb\r\nc")));
    }

    [Fact]
    public void Strips_trailing_spaces_tabs_and_CR_and_ignores_blank_lines()
    {
        var lines = Frame("[1] ADD,u,1 \t \r\n\n\r\n   \t\n[2] QUOTE,u,S  \n   ");
        Assert.Equal(["Line:[1] ADD,u,1", "Line:[2] QUOTE,u,S"], Texts(lines));
    }

    [Fact]
    public void A_line_of_exactly_1024_bytes_passes_with_LF_and_with_CRLF()
    {
        var body = new string('x', 1024);
        var lines = Frame(body + "\n" + body + "\r\n" + body);
        Assert.Equal(3, lines.Count);
        Assert.All(lines, l => Assert.Equal(FramedLineKind.Line, l.Kind));
        Assert.All(lines, l => Assert.Equal(1024, l.Text.Length));
    }

    [Fact]
    public void A_line_of_1025_bytes_is_too_long_and_the_next_line_still_comes_through()
    {
        var lines = Frame("[9] ADD," + new string('x', 1025 - 8) + "\n[10] ADD,u,1\n");
        Assert.Equal(2, lines.Count);
        Assert.Equal(FramedLineKind.TooLong, lines[0].Kind);
        Assert.StartsWith("[9] ADD,", lines[0].Text);
        Assert.True(lines[0].Text.Length <= LineFramer.PrefixBytes);
        Assert.Equal("Line:[10] ADD,u,1", Texts(lines)[1]);
    }

    [Fact]
    public void Trailing_spaces_count_against_the_limit()
    {
        var lines = Frame(new string('x', 1020) + new string(' ', 5) + "\n");
        Assert.Equal(FramedLineKind.TooLong, Assert.Single(lines).Kind);
    }

    [Fact]
    public void An_overlong_line_split_over_many_chunks_is_discarded_up_to_the_next_newline()
    {
        var bytes = Encoding.ASCII.GetBytes(new string('y', 5000) + "\n[1] QUOTE,u,S\n" + new string('z', 3000));
        var chunks = bytes.Chunk(7).ToArray();
        var lines = Frame(chunks);
        Assert.Equal(["TooLong:yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", "Line:[1] QUOTE,u,S", "TooLong:" + new string('z', 64)],
            Texts(lines));
    }

    [Fact]
    public void Invalid_utf8_yields_an_invalid_item_with_the_ascii_prefix()
    {
        var bad = Encoding.ASCII.GetBytes("[5] ADD,u").Concat(new byte[] { 0xC3, 0x28 }).Concat("\n[6] ADD,v,1\n"u8.ToArray()).ToArray();
        var lines = Frame(bad);
        Assert.Equal(["InvalidUtf8:[5] ADD,u", "Line:[6] ADD,v,1"], Texts(lines));
    }

    [Fact]
    public void Overlong_encodings_and_lone_surrogates_are_invalid_utf8()
    {
        Assert.Equal(FramedLineKind.InvalidUtf8, Assert.Single(Frame([0xC0, 0xAF, (byte)'\n'])).Kind);
        Assert.Equal(FramedLineKind.InvalidUtf8, Assert.Single(Frame([0xED, 0xA0, 0x80, (byte)'\n'])).Kind);
    }

    [Fact]
    public void Chunk_boundaries_anywhere_including_inside_a_multibyte_char_give_the_same_lines()
    {
        var text = "[1] ADD,Jos\u00e9,1.00\r\n[2] QUOTE,\u20ac\U0001F600,S\n[3] END";
        var bytes = Encoding.UTF8.GetBytes(text);
        var expected = new[] { "Line:[1] ADD,Jos\u00e9,1.00", "Line:[2] QUOTE,\u20ac\U0001F600,S", "Line:[3] END" };
        for (var split = 0; split <= bytes.Length; split++)
        {
            var lines = Frame(bytes[..split], bytes[split..]);
            Assert.Equal(expected, Texts(lines));
        }
        Assert.Equal(expected, Texts(Frame(bytes.Select(b => new[] { b }).ToArray())));
    }

    [Fact]
    public void Empty_chunks_and_empty_input_are_fine()
    {
        Assert.Empty(Frame([]));
        Assert.Equal(["Line:a"], Texts(Frame([], "a"u8.ToArray(), [], "\n"u8.ToArray(), [])));
    }

    [Fact]
    public void An_overlong_final_line_without_newline_is_reported_at_completion()
    {
        Assert.Equal(FramedLineKind.TooLong, Assert.Single(Frame(new string('q', 2000))).Kind);
    }

    [Fact]
    public void Many_lines_in_one_chunk_all_come_out_in_order()
    {
        var text = string.Concat(Enumerable.Range(1, 10_000).Select(i => $"[{i}] ADD,u,1\n"));
        var lines = Frame(text);
        Assert.Equal(10_000, lines.Count);
        for (var i = 0; i < lines.Count; i++) Assert.Equal($"[{i + 1}] ADD,u,1", lines[i].Text);
    }
}
