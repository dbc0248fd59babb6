using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using DayTrading.Host;
using DayTrading.Quotes;
using DayTrading.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DayTrading.Tests.Web;

/// <summary>A time source the test moves by hand (the node's pending-order expiry and quotes follow it).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>One in-process node with its web front end on a free port, shared by a test class.</summary>
public sealed class WebNode : IAsyncLifetime
{
    private readonly bool _autoTx;

    public WebNode() : this(autoTx: false) { }

    /// <param name="autoTx">Whether armed triggers fire (the AutoTxManager runs); off unless a test needs it.</param>
    internal WebNode(bool autoTx) => _autoTx = autoTx;

    public const string AdminPassword = "admin-password-1";
    private readonly TempDirectory _dir = new();
    public IHost Host { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;
    public IPEndPoint Edge { get; private set; } = null!;
    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    public async ValueTask InitializeAsync()
    {
        Host = NodeHost.Build(new NodeOptions
        {
            DataDirectory = _dir.Path, TcpPort = 0, ClusterPort = 0, WebPort = 0, AdminPort = -1, WebAdminPassword = AdminPassword, AutoTx = _autoTx,
        }, TextWriter.Null, new SimulatedQuoteSource(42, LatencyProfile.Parse("none"), Clock), Clock);
        await Host.StartAsync();
        var readiness = Host.Services.GetRequiredService<NodeReadiness>();
        Edge = await readiness.Edge.Task.WaitAsync(TimeSpan.FromSeconds(60));
        BaseAddress = await readiness.Web.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync(TimeSpan.FromSeconds(30));
        Host.Dispose();
        _dir.Dispose();
    }

    public WebClient NewClient() => new(BaseAddress);
}

/// <summary>A browser-like API client: its own cookies, the CSRF header on every POST.</summary>
public sealed class WebClient : IDisposable
{
    public HttpClient Http { get; }
    public CookieContainer Cookies { get; } = new();
    private string? _csrf;

    public WebClient(Uri baseAddress)
    {
        Http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task RefreshCsrf()
    {
        var r = await Http.GetFromJsonAsync<JsonElement>("/api/csrf");
        _csrf = r.GetProperty("token").GetString();
    }

    public async Task<(HttpStatusCode Status, JsonElement Json)> Post(string path, object? body = null, bool csrf = true)
    {
        if (csrf && _csrf is null) await RefreshCsrf();
        using var req = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body ?? new { }) };
        if (csrf) req.Headers.Add("X-CSRF-TOKEN", _csrf);
        using var resp = await Http.SendAsync(req);
        var json = await Json(resp);
        // The antiforgery token belongs to the signed-in identity: a new one after logging in or out.
        if (path is "/api/login" or "/api/signup" or "/api/logout") await RefreshCsrf();
        return (resp.StatusCode, json);
    }

    public async Task<(HttpStatusCode Status, JsonElement Json)> Get(string path)
    {
        using var resp = await Http.GetAsync(path);
        return (resp.StatusCode, await Json(resp));
    }

    private static async Task<JsonElement> Json(HttpResponseMessage resp)
    {
        var text = await resp.Content.ReadAsStringAsync();
        if (text.Length == 0) return default;
        try { return JsonDocument.Parse(text).RootElement.Clone(); }
        catch (JsonException) { return JsonDocument.Parse(JsonSerializer.Serialize(text)).RootElement.Clone(); }
    }

    public async Task SignUp(string user, string password = "password-123", string? claimCode = null)
    {
        var (status, json) = await Post("/api/signup", new { userId = user, password, claimCode });
        Assert.True(status == HttpStatusCode.OK, $"sign-up {user}: {status} {json}");
    }

    public void Dispose() => Http.Dispose();
}
