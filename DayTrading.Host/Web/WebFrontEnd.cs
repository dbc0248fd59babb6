using System.Net;
using System.Security.Claims;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using DayTrading.Accounts;
using DayTrading.Persistence;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DayTrading.Host.Web;

/// <summary>
/// The web front end of a node: a Kestrel server of its own (started after the TCP edge, stopped before it) with
/// the REST API (<see cref="WebApi"/>), the live feed and the browser UI (embedded static files).
/// </summary>
public sealed class WebFrontEnd(IServiceProvider nodeServices, NodeOptions options, TimeProvider clock, TextWriter readyOutput) : IHostedService
{
    public const string AdminUserId = "admin";
    public const int MaxRequestLineBytes = 8 * 1024;
    public const int MaxRequestHeadersBytes = 16 * 1024;
    public const int MaxRequestHeaderCount = 50;
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(120);
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;
    private IWebUserStore? _store;
    private Task _attaching = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var readiness = nodeServices.GetRequiredService<NodeReadiness>();
        var store = await WebUserStore.OpenForNodeAsync(options, clock, cancellationToken).ConfigureAwait(false);
        _store = store;
        if (options.WebAdminPassword is { Length: > 0 } pw) await store.UpsertAdminAsync(AdminUserId, pw, cancellationToken).ConfigureAwait(false);
        var slot = new WebContextSlot();
        var app = BuildApp(options, (store as ISharedWebKeys)?.KeyRepository, slot, nodeServices.GetRequiredService<Operations.OperationsEndpoints>());
        if (store is ISharedWebKeys shared)
        {
            var protector = app.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("DayTrading.KeyRing");
            await shared.WithKeyRingLockAsync(() => protector.Protect([1]), cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            // The web front end is secondary to the TCP edge: a node whose web port is taken still serves trading.
            await app.DisposeAsync().ConfigureAwait(false);
            await DisposeStore().ConfigureAwait(false);
            await readyOutput.WriteLineAsync($"DayTrading node {options.NodeName}: web front end NOT started on {options.WebHost}:{options.WebPort}: {ex.Message}").ConfigureAwait(false);
            readiness.Web.TrySetException(ex);
            return;
        }
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var uri = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        readiness.Web.TrySetResult(uri); // named in the node's ready line
        _attaching = AttachWhenUpAsync(slot, store, _stopping.Token);
    }

    // The API and the UI need the node Up in its cluster (a request before that waits in sharding's buffer); until
    // then they answer 503 and only the operations endpoints serve.
    private async Task AttachWhenUpAsync(WebContextSlot slot, IWebUserStore store, CancellationToken cancellationToken)
    {
        var system = nodeServices.GetRequiredService<ActorSystem>();
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
        try
        {
            await up.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            var gateway = await nodeServices.GetRequiredService<NodeGateway>().GetAsync(cancellationToken).ConfigureAwait(false);
            var registry = nodeServices.GetRequiredService<ActorRegistry>();
            var region = registry.Get<AccountRegionKey>();
            var feed = new LiveFeed(clock);
            system.ActorOf(Props.Create(() => new LiveFeed.QuoteListener(feed)), "web-quote-feed");
            feed.Watcher = system.ActorOf(Props.Create(() => new LiveFeed.AccountWatcher(feed, region)), "web-account-feed");
            slot.Value = new WebContext(options, clock, store, feed, gateway, gateway.WithAdminRights(), system, region, new LoginThrottle(clock))
            {
                Auditor = registry.Get<DayTrading.Audit.AuditorKey>(),
                KeyRepository = (store as ISharedWebKeys)?.KeyRepository,
            };
        }
        catch (OperationCanceledException)
        {
            // stopped before the node came Up
        }
    }

    /// <summary>The web application of <paramref name="context"/> (not started), without the operations endpoints (tests).</summary>
    public static WebApplication BuildApp(WebContext context) =>
        BuildApp(context.Options, context.KeyRepository, new WebContextSlot { Value = context }, null);

    /// <summary>
    /// The web application (not started): Kestrel on the options' address with the request limits of
    /// docs/SECURITY.md, the operations endpoints (served at once), and, once <paramref name="slot"/> holds the
    /// node's context, cookie auth, antiforgery, the API and the UI (503 before that).
    /// </summary>
    public static WebApplication BuildApp(NodeOptions options, Microsoft.AspNetCore.DataProtection.Repositories.IXmlRepository? keyRepository,
        WebContextSlot slot, Operations.OperationsEndpoints? operations)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Keys are files in the data directory (readable only by whoever can read the journal): unencrypted at rest is expected.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        // Cookie and antiforgery keys survive a restart of the node: sessions stay valid. In a cluster they are
        // the cluster's (in its PostgreSQL database or Redis server), so a session started on one node is valid on all.
        var dataProtection = builder.Services.AddDataProtection().SetApplicationName("DayTrading");
        if (keyRepository is { } keys)
            builder.Services.Configure<KeyManagementOptions>(o => o.XmlRepository = keys);
        else
            dataProtection.PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(Path.GetFullPath(options.DataDirectory), "web-keys")));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.WebHost.ConfigureKestrel(k =>
        {
            // Request limits (docs/SECURITY.md): the API takes small JSON documents only; nothing needs big headers.
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.WebMaxBodyBytes;
            k.Limits.MaxRequestLineSize = MaxRequestLineBytes;
            k.Limits.MaxRequestHeadersTotalSize = MaxRequestHeadersBytes;
            k.Limits.MaxRequestHeaderCount = MaxRequestHeaderCount;
            k.Limits.RequestHeadersTimeout = RequestHeadersTimeout;
            k.Limits.KeepAliveTimeout = KeepAliveTimeout;
            k.Limits.MaxConcurrentConnections = options.WebMaxConnections;
            k.Limits.MaxConcurrentUpgradedConnections = 0;
            if (options.WebHost is "localhost") k.ListenLocalhost(options.WebPort);
            else if (options.WebHost is "*" or "0.0.0.0") k.ListenAnyIP(options.WebPort);
            else k.Listen(IPAddress.Parse(options.WebHost), options.WebPort);
        });
        builder.Services.AddSingleton(slot);
        builder.Services.AddTransient(sp => sp.GetRequiredService<WebContextSlot>().Value ?? throw new InvalidOperationException("the web front end is not attached to its node yet"));
        operations?.AddTo(builder.Services);
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(o =>
        {
            o.Cookie.Name = "daytrading.auth";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.SlidingExpiration = true;
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            // An API answers 401/403; it never redirects to a login page.
            o.Events.OnRedirectToLogin = c => { c.Response.StatusCode = StatusCodes.Status401Unauthorized; return Task.CompletedTask; };
            o.Events.OnRedirectToAccessDenied = c => { c.Response.StatusCode = StatusCodes.Status403Forbidden; return Task.CompletedTask; };
        });
        builder.Services.AddAuthorization();
        builder.Services.AddAntiforgery(o =>
        {
            o.HeaderName = WebApi.CsrfHeader;
            o.Cookie.Name = "daytrading.csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
        });

        var app = builder.Build();
        app.Use(async (http, next) =>
        {
            if (slot.Value is null && !Operations.OperationsEndpoints.IsOperationsPath(http.Request.Path))
            {
                http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                http.Response.Headers.RetryAfter = "2";
                await http.Response.WriteAsJsonAsync(new { error = "the node is starting: not yet Up in its cluster" }).ConfigureAwait(false);
                return;
            }
            await next(http).ConfigureAwait(false);
        });
        operations?.MapTo(app);
        app.Use(WebApi.BodyLimit(options.WebMaxBodyBytes));
        var files = new EmbeddedFileProvider(typeof(WebFrontEnd).Assembly, "DayTrading.Host.Web.wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        app.UseAuthentication();
        app.UseAuthorization();
        app.Use(WebApi.CsrfCheck);
        WebApi.Map(app);

        return app;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _attaching.ConfigureAwait(false);
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
        await DisposeStore().ConfigureAwait(false);
    }

    private async Task DisposeStore()
    {
        if (_store is IAsyncDisposable d) await d.DisposeAsync().ConfigureAwait(false);
        _store = null;
    }
}

/// <summary>Where the web front end finds its node's <see cref="WebContext"/> once the node is Up (null before).</summary>
public sealed class WebContextSlot
{
    private volatile WebContext? _value;

    public WebContext? Value
    {
        get => _value;
        set => _value = value;
    }
}

/// <summary>Everything the endpoints share.</summary>
public sealed record WebContext(
    NodeOptions Options,
    TimeProvider Clock,
    IWebUserStore Users,
    LiveFeed Feed,
    ITradeGateway Gateway,
    ITradeGateway AdminGateway,
    ActorSystem System,
    IActorRef AccountRegion,
    LoginThrottle Throttle)
{
    /// <summary>The Auditor singleton's proxy: the web's dump downloads are read from it.</summary>
    public IActorRef Auditor { get; init; } = ActorRefs.Nobody;

    /// <summary>Where the cookie and antiforgery keys are kept; null: <c>web-keys/</c> in the node's data directory.</summary>
    public Microsoft.AspNetCore.DataProtection.Repositories.IXmlRepository? KeyRepository { get; init; }

    public long NowMs => Clock.GetUtcNow().ToUnixTimeMilliseconds();
}

internal static class WebJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// A quote as every web answer and event shows it. <paramref name="serverNowMs"/> is the node's clock when it was
    /// written, so a page shows a quote's age and time left against the clock that judges it (a test clock included),
    /// not against the browser's.
    /// </summary>
    public static object QuoteView(DayTrading.Quotes.Quote q, long serverNowMs) =>
        new { symbol = q.Symbol, price = q.Price, timestampMs = q.TimestampMs, expiresAtMs = q.ExpiresAtMs, serverNowMs };

    public static string Quote(DayTrading.Quotes.Quote q, long serverNowMs) => JsonSerializer.Serialize(QuoteView(q, serverNowMs), Options);
}
