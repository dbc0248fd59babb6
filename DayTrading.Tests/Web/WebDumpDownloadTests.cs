using System.Collections.Concurrent;
using System.Net;
using Akka.Actor;
using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Tests.Audit;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Web;

/// <summary>
/// Issue 13, item 13, at the web's end: the dump download is read from the Auditor chunk by chunk (never from the
/// node's own dump folder), names a file of the signed-in user only, and a download the Auditor stops serving half-way
/// is cut off (the client sees a broken response, never a short file that looks whole).
/// </summary>
public sealed class WebDumpDownloadTests : IDisposable
{
    private const string Password = "password-123";
    private readonly TempDirectory _dumps = new();
    private readonly ConcurrentQueue<ReadDumpChunk> _reads = new();

    public void Dispose() => _dumps.Dispose();

    /// <summary>The real Auditor behind a door that counts the reads and, when told, answers failures from the Nth chunk on.</summary>
    private sealed class Door : ReceiveActor
    {
        public Door(IActorRef auditor, ConcurrentQueue<ReadDumpChunk> reads, int failFromChunk)
        {
            Receive<ReadDumpChunk>(r =>
            {
                reads.Enqueue(r);
                if (reads.Count >= failFromChunk) Sender.Tell(DumpChunk.Failure("the auditor moved"));
                else auditor.Forward(r);
            });
            Receive<WriteDump>(w => auditor.Forward(w));
        }
    }

    private async Task<WebTestApp> Start(int failFromChunk = int.MaxValue)
    {
        IActorRef door = ActorRefs.Nobody;
        var app = await WebTestApp.StartAsync(auditor: system =>
        {
            var auditor = system.ActorOf(AuditorActor.Props(_dumps.Path, () => new FakeEventLogReader(40_000, SyntheticLog.Large)));
            door = system.ActorOf(Props.Create(() => new Door(auditor, _reads, failFromChunk)));
            return door;
        });
        app.Gateway.Handler = async (r, _) =>
        {
            if (r.Kind == CommandKind.DumpLog)
            {
                var result = await door.Ask<DumpResult>(new WriteDump(r.FileName!, r.UserId, "t:" + r.TxNum), TimeSpan.FromSeconds(30));
                return result.Ok ? TradeReply.Success(r, result.Text) : TradeReply.Failure(r, RefusalReason.DumpFailed, result.Text);
            }
            return TradeReply.Failure(r, RefusalReason.UnknownUser, $"unknown user '{r.UserId}': the first command for a new user must be ADD");
        };
        return app;
    }

    [Fact]
    public async Task The_download_is_the_Auditors_file_read_in_chunks_of_at_most_64_KiB_for_the_signed_in_user()
    {
        await using var app = await Start();
        using var c = app.NewClient();
        await c.SignUp("u1", Password);

        using var resp = await c.Http.GetAsync("/api/accounts/u1/dumplog", TestContext.Current.CancellationToken);
        var bytes = await resp.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        var name = resp.Content.Headers.ContentDisposition!.FileName!.Trim('"');
        Assert.Matches("^u1-[0-9]+-[0-9a-f]{12}\\.xml$", name);
        var dump = Assert.Single(app.Gateway.Executed, r => r.Kind == CommandKind.DumpLog);
        Assert.Equal($"web/{name}", dump.FileName);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(_dumps.Path, "web", name), TestContext.Current.CancellationToken), bytes);
        Assert.Equal(bytes.Length, resp.Content.Headers.ContentLength);

        // The synthetic log has 40 cycles of events for u1 (one in every 100): several chunks even for one user.
        Assert.True(bytes.Length > DumpDownloads.MaxChunkBytes, $"{bytes.Length} bytes");
        Assert.Equal((bytes.Length + DumpDownloads.MaxChunkBytes - 1) / DumpDownloads.MaxChunkBytes, _reads.Count);
        Assert.All(_reads, r =>
        {
            Assert.Equal(dump.FileName, r.FileName);
            Assert.Equal("u1", r.UserId);
            Assert.Equal(DumpDownloads.MaxChunkBytes, r.MaxBytes);
        });

        // Another user signed in asks for u1's dump: refused before any dump or read.
        using var other = app.NewClient();
        await other.SignUp("u2", Password);
        Assert.Equal(HttpStatusCode.Forbidden, (await other.Get("/api/accounts/u1/dumplog")).Status);
        Assert.Single(app.Gateway.Executed, r => r.Kind == CommandKind.DumpLog);
    }

    [Fact]
    public async Task An_Auditor_that_cannot_serve_the_first_chunk_gives_a_clear_503()
    {
        await using var app = await Start(failFromChunk: 1);
        using var c = app.NewClient();
        await c.SignUp("u1", Password);
        var (status, json) = await c.Get("/api/accounts/u1/dumplog");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("could not be read from the auditor: the auditor moved", json.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_download_the_Auditor_stops_serving_half_way_is_cut_off_not_passed_off_as_whole()
    {
        await using var app = await Start(failFromChunk: 3);
        using var c = app.NewClient();
        await c.SignUp("u1", Password);
        using var resp = await c.Http.GetAsync("/api/accounts/u1/dumplog", HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.True(resp.Content.Headers.ContentLength > 2 * DumpDownloads.MaxChunkBytes);
        await Assert.ThrowsAnyAsync<Exception>(() => resp.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        Assert.Equal(3, _reads.Count);
    }
}
