using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit;
using DayTrading.Audit;
using DayTrading.Serialization;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Audit;

/// <summary>
/// Issue 13, item 13: a dump is downloaded from the Auditor in bounded chunks (so from any node). Every message goes
/// through the DayTrading serializer (<c>serialize-messages = on</c>), as between nodes. Only a file the Auditor wrote,
/// for the same user, can be read; the name is checked as for a dump; a file replaced mid-download is refused.
/// </summary>
public sealed class DumpDownloadTests : TestKit, IDisposable
{
    private static readonly Config TestConfig = ConfigurationFactory.ParseString("""
        akka.actor.serialize-messages = on
        akka.loglevel = WARNING
        """).WithFallback(ConfigurationFactory.ParseString(DayTradingSerialization.Hocon));

    private static readonly TimeSpan Resend = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Total = TimeSpan.FromSeconds(10);
    private readonly TempDirectory _dir = new();

    public DumpDownloadTests() : base(TestConfig) { }

    void IDisposable.Dispose()
    {
        _dir.Dispose();
        base.Dispose();
    }

    private IActorRef Auditor(long events) =>
        Sys.ActorOf(AuditorActor.Props(_dir.Path, () => new FakeEventLogReader(events, SyntheticLog.Large)));

    private DumpResult Dump(IActorRef auditor, string file, string? user, string id)
    {
        var result = auditor.Ask<DumpResult>(new WriteDump(file, user, id), Total).Result;
        Assert.True(result.Ok, result.Text);
        return result;
    }

    private static async Task<(byte[] Bytes, List<DumpChunk> Chunks, string? Error)> Download(IActorRef auditor, string file, string? user, int chunkSize)
    {
        var ct = TestContext.Current.CancellationToken;
        var read = new ReadDumpChunk(file, user, 0, chunkSize);
        var first = await DumpDownload.ReadChunkAsync(auditor, read, Resend, Total, ct);
        if (!first.Ok) return ([], [first], first.Error);
        var chunks = new List<DumpChunk> { first };
        using var output = new MemoryStream();
        await output.WriteAsync(first.Data, ct);
        var error = await DumpDownload.CopyRestAsync(auditor, read, first, new ChunkRecorder(output, chunks, first), Resend, Total, ct);
        return (output.ToArray(), chunks, error);
    }

    /// <summary>A destination that keeps the size of every chunk written to it.</summary>
    private sealed class ChunkRecorder(Stream inner, List<DumpChunk> chunks, DumpChunk first) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            chunks.Add(first with { Offset = inner.Position, Data = buffer.AsSpan(offset, count).ToArray() });
            inner.Write(buffer, offset, count);
        }
    }

    [Fact]
    public async Task A_dump_of_several_chunks_downloads_byte_for_byte_in_chunks_of_at_most_64_KiB()
    {
        var auditor = Auditor(3_000);
        Dump(auditor, "web/all.xml", null, "r:1");
        var onDisk = await File.ReadAllBytesAsync(Path.Combine(_dir.Path, "web", "all.xml"), TestContext.Current.CancellationToken);
        Assert.True(onDisk.Length > 3 * DumpDownloads.MaxChunkBytes, $"the dump has {onDisk.Length} bytes");

        // Asking for a megabyte a chunk still gets at most 64 KiB a chunk.
        var (bytes, chunks, error) = await Download(auditor, "web/all.xml", null, 1024 * 1024);
        Assert.Null(error);
        Assert.Equal(onDisk, bytes);
        Assert.All(chunks, c => Assert.InRange(c.Data.Length, 1, DumpDownloads.MaxChunkBytes));
        Assert.Equal((onDisk.Length + DumpDownloads.MaxChunkBytes - 1) / DumpDownloads.MaxChunkBytes, chunks.Count);
        Assert.All(chunks, c => Assert.Equal(onDisk.Length, c.TotalLength));

        // Smaller chunks when asked for.
        (bytes, chunks, error) = await Download(auditor, "./web/all.xml", null, 10_000);
        Assert.Null(error);
        Assert.Equal(onDisk, bytes);
        Assert.All(chunks, c => Assert.InRange(c.Data.Length, 1, 10_000));
    }

    [Fact]
    public async Task A_user_reads_only_their_own_dump_and_nothing_the_Auditor_did_not_write()
    {
        var auditor = Auditor(200);
        Dump(auditor, "web/u1.xml", "u1", "r:1");
        Dump(auditor, "web/system.xml", null, "r:2");
        File.WriteAllText(Path.Combine(_dir.Path, "web", "planted.xml"), "<log/>");

        async Task<string> Refused(string file, string? user)
        {
            var (bytes, _, error) = await Download(auditor, file, user, 4096);
            Assert.Empty(bytes);
            Assert.NotNull(error);
            return error;
        }

        Assert.Null((await Download(auditor, "web/u1.xml", "u1", 4096)).Error);
        Assert.Contains("wrote no dump", await Refused("web/u1.xml", "u2"));   // another user's dump
        Assert.Contains("wrote no dump", await Refused("web/u1.xml", null));   // not the system-wide one
        Assert.Contains("wrote no dump", await Refused("web/system.xml", "u1"));
        Assert.Contains("wrote no dump", await Refused("web/planted.xml", null)); // a file it did not write
        Assert.Contains("wrote no dump", await Refused("web/never.xml", "u1"));
        Assert.Contains("..", await Refused("../web/u1.xml", "u1"));
        Assert.Contains("absolute path", await Refused(Path.Combine(_dir.Path, "web", "u1.xml"), "u1"));
        Assert.Contains("..", await Refused("web/../../outside.xml", null));

        var bad = await DumpDownload.ReadChunkAsync(auditor, new ReadDumpChunk("web/u1.xml", "u1", -1, 10), Resend, Total, TestContext.Current.CancellationToken);
        Assert.False(bad.Ok);
        bad = await DumpDownload.ReadChunkAsync(auditor, new ReadDumpChunk("web/u1.xml", "u1", 0, 0), Resend, Total, TestContext.Current.CancellationToken);
        Assert.False(bad.Ok);
        bad = await DumpDownload.ReadChunkAsync(auditor, new ReadDumpChunk("web/u1.xml", "u1", 100_000_000, 10), Resend, Total, TestContext.Current.CancellationToken);
        Assert.Contains("past the end", bad.Error);
    }

    [Fact]
    public async Task A_dump_written_again_during_its_download_is_refused_not_spliced_and_the_new_owner_takes_the_name()
    {
        var ct = TestContext.Current.CancellationToken;
        var auditor = Auditor(1_000);
        Dump(auditor, "shared.xml", "u1", "r:1");
        var read = new ReadDumpChunk("shared.xml", "u1", 0, 1_000);
        var first = await DumpDownload.ReadChunkAsync(auditor, read, Resend, Total, ct);
        Assert.True(first.Ok, first.Error);
        Assert.False(first.IsLast);

        Dump(auditor, "shared.xml", "u1", "r:2"); // the same user's new dump to the same name
        var error = await DumpDownload.CopyRestAsync(auditor, read, first, Stream.Null, Resend, Total, ct);
        Assert.Contains("written again", error);

        // Written over by another user's dump: the first user can no longer read that name at all.
        Dump(auditor, "shared.xml", "u2", "r:3");
        var again = await DumpDownload.ReadChunkAsync(auditor, read, Resend, Total, ct);
        Assert.Contains("wrote no dump", again.Error);
        Assert.True((await DumpDownload.ReadChunkAsync(auditor, read with { UserId = "u2" }, Resend, Total, ct)).Ok);
    }

    [Fact]
    public async Task The_Auditor_forgets_the_oldest_dumps_past_its_bound()
    {
        var downloads = new DumpDownloads();
        var dir = _dir.Path;
        File.WriteAllText(Path.Combine(dir, "f0.xml"), "<log/>");
        File.WriteAllText(Path.Combine(dir, "keep.xml"), "<log/>");
        downloads.Written(Path.Combine(dir, "f0.xml"), "u");
        downloads.Written(Path.Combine(dir, "keep.xml"), "u");
        for (var i = 1; i < DumpDownloads.Remembered - 1; i++) downloads.Written(Path.Combine(dir, $"f{i}.xml"), "u");
        downloads.Written(Path.Combine(dir, "keep.xml"), "u"); // written again: remembered from its latest write
        downloads.Written(Path.Combine(dir, "one-more.xml"), "u");
        downloads.Written(Path.Combine(dir, "and-another.xml"), "u");

        Assert.Contains("wrote no dump", (await downloads.ReadAsync(dir, new ReadDumpChunk("f0.xml", "u", 0, 10))).Error);
        Assert.True((await downloads.ReadAsync(dir, new ReadDumpChunk("keep.xml", "u", 0, 10))).Ok);
    }
}
