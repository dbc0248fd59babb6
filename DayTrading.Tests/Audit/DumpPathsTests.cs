using DayTrading.Audit;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>DUMPLOG writes under the dump directory only (SPEC §5).</summary>
public sealed class DumpPathsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("../x", "..")]
    [InlineData("a/../../x", "..")]
    [InlineData("a/../b", "..")]
    [InlineData("..\\x", "..")]
    [InlineData("..", "..")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("\\\\server\\share\\x", "absolute")]
    [InlineData("C:\\x", "absolute")]
    [InlineData("c:x", "absolute")]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData(".", "directory")]
    [InlineData("./", "directory")]
    [InlineData("sub/", "directory")]
    [InlineData("sub/.", "directory")]
    [InlineData("a\0b", "not allowed")]
    [InlineData("a\nb", "not allowed")]
    [InlineData("a*b", "not allowed")]
    [InlineData("a|b", "not allowed")]
    [InlineData("...", "dots")]
    [InlineData("log ", "white space")]
    public void Names_that_would_leave_the_dump_directory_or_are_not_files_are_refused(string name, string reason)
    {
        Assert.False(DumpPaths.TryResolve(_dir.Path, name, out var full, out var error));
        Assert.Equal("", full);
        Assert.NotNull(error);
        Assert.Contains(reason, error, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("./testLOG", "testLOG")]
    [InlineData("userLOG", "userLOG")]
    [InlineData("sub/dir/file.xml", "sub/dir/file.xml")]
    [InlineData("sub\\dir\\file.xml", "sub/dir/file.xml")]
    [InlineData("a//b.xml", "a/b.xml")]
    [InlineData("./a/./b.xml", "a/b.xml")]
    [InlineData(".hidden", ".hidden")]
    [InlineData("log.2026-11-25.xml", "log.2026-11-25.xml")]
    public void Relative_file_names_resolve_inside_the_dump_directory(string name, string expected)
    {
        Assert.True(DumpPaths.TryResolve(_dir.Path, name, out var full, out var error), error);
        Assert.Null(error);
        Assert.Equal(Path.GetFullPath(Path.Combine(_dir.Path, expected)), full);
        Assert.StartsWith(Path.GetFullPath(_dir.Path) + Path.DirectorySeparatorChar, full);
    }

    [Fact]
    public void An_existing_directory_is_not_a_file()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "logs"));
        Assert.False(DumpPaths.TryResolve(_dir.Path, "logs", out _, out var error));
        Assert.Contains("directory", error);
        Assert.True(DumpPaths.TryResolve(_dir.Path, "logs/x.xml", out _, out _));
    }

    [Fact]
    public void A_file_where_a_folder_is_needed_is_refused()
    {
        File.WriteAllText(Path.Combine(_dir.Path, "f"), "");
        Assert.False(DumpPaths.TryResolve(_dir.Path, "f/x.xml", out _, out var error));
        Assert.Contains("not a folder", error);
    }

    [Fact]
    public void A_folder_that_is_a_symbolic_link_is_refused()
    {
        var outside = Directory.CreateTempSubdirectory("daytrading-outside-");
        try
        {
            Directory.CreateSymbolicLink(Path.Combine(_dir.Path, "link"), outside.FullName);
            Assert.False(DumpPaths.TryResolve(_dir.Path, "link/x.xml", out _, out var error));
            Assert.Contains("symbolic link", error);
        }
        finally
        {
            outside.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_dump_directory_may_be_given_relative_or_with_a_trailing_separator()
    {
        Assert.True(DumpPaths.TryResolve(_dir.Path + Path.DirectorySeparatorChar, "x", out var full, out _));
        Assert.Equal(Path.Combine(Path.GetFullPath(_dir.Path), "x"), full);
        Assert.True(DumpPaths.TryResolve("dumps", "x", out full, out _));
        Assert.Equal(Path.Combine(Path.GetFullPath("dumps"), "x"), full);
    }
}
