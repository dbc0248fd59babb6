using Akka.Actor;
using DayTrading.Accounts;
using DayTrading.Host;
using DayTrading.Host.Web;
using DayTrading.Tests.Edge;
using DayTrading.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace DayTrading.Tests.Web;

/// <summary>A password hasher that counts its calls (to show that a refused request hashed nothing).</summary>
public sealed class CountingHasher : IPasswordHasher<WebUser>
{
    private readonly PasswordHasher<WebUser> _inner = new();
    private int _hashes, _verifies;

    public int Hashes => Volatile.Read(ref _hashes);
    public int Verifies => Volatile.Read(ref _verifies);
    public int Calls => Hashes + Verifies;

    public string HashPassword(WebUser user, string password)
    {
        Interlocked.Increment(ref _hashes);
        return _inner.HashPassword(user, password);
    }

    public PasswordVerificationResult VerifyHashedPassword(WebUser user, string hashedPassword, string providedPassword)
    {
        Interlocked.Increment(ref _verifies);
        return _inner.VerifyHashedPassword(user, hashedPassword, providedPassword);
    }
}

/// <summary>
/// The web front end alone (<see cref="WebFrontEnd.BuildApp"/>) on a free loopback port, with a stand-in gateway
/// (<see cref="FakeGateway"/>: the test decides what the accounts answer), a hand-moved clock and a counting hasher.
/// </summary>
public sealed class WebTestApp : IAsyncDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ActorSystem _system;
    private readonly WebApplication _app;

    public TestTimeProvider Clock { get; } = new();
    public FakeGateway Gateway { get; } = new();
    public CountingHasher Hasher { get; } = new();
    public IWebUserStore Users { get; }
    public LoginThrottle Throttle { get; }
    public WebContext Context { get; }
    public Uri BaseAddress { get; private set; } = null!;

    private WebTestApp(LoginThrottleOptions? throttle, Func<ActorSystem, IActorRef>? auditor)
    {
        _system = ActorSystem.Create("web-test", "akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING");
        Users = new SqliteWebUserStore(Path.Combine(_dir.Path, "web-users.db"), Clock, Hasher);
        Throttle = new LoginThrottle(Clock, throttle);
        var options = new NodeOptions { DataDirectory = _dir.Path, WebHost = "127.0.0.1", WebPort = 0 };
        Context = new WebContext(options, Clock, Users, new LiveFeed(), Gateway, Gateway, _system, ActorRefs.Nobody, Throttle)
        {
            Auditor = auditor?.Invoke(_system) ?? ActorRefs.Nobody,
        };
        _app = WebFrontEnd.BuildApp(Context);
    }

    /// <summary>Accounts answer as for a fresh id ("unknown user") unless the test sets <see cref="FakeGateway.Handler"/>.</summary>
    /// <param name="auditor">makes the Auditor the web downloads dumps from (in the app's actor system); none by default.</param>
    public static async Task<WebTestApp> StartAsync(LoginThrottleOptions? throttle = null, Func<ActorSystem, IActorRef>? auditor = null)
    {
        var app = new WebTestApp(throttle, auditor);
        app.Gateway.Handler = (r, _) => Task.FromResult(TradeReply.Failure(r, RefusalReason.UnknownUser, $"unknown user '{r.UserId}': the first command for a new user must be ADD"));
        await app._app.StartAsync();
        var address = app._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        app.BaseAddress = new Uri(address);
        return app;
    }

    public WebClient NewClient() => new(BaseAddress);

    /// <summary>Waits (bounded, real time) until <paramref name="condition"/> holds; a hang guard, not a timing assertion.</summary>
    public static async Task Until(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"never happened: {what}");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _system.Terminate();
        _dir.Dispose();
    }
}
