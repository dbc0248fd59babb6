using System.Net;
using System.Text.Json;
using DayTrading.Accounts;
using DayTrading.Loadgen.Client;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace DayTrading.Tests.Web;

/// <summary>The web front end's REST API against a real in-process node (Kestrel on a free port).</summary>
public sealed class WebApiTests(WebNode node) : IClassFixture<WebNode>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewUser() => "w" + Guid.NewGuid().ToString("N")[..10];

    private async Task<(WebClient Client, string User)> SignedUp(decimal? funds = null)
    {
        var c = node.NewClient();
        var user = NewUser();
        await c.SignUp(user);
        if (funds is { } f)
        {
            var (s, j) = await c.Post($"/api/accounts/{user}/add", new { amount = f.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) });
            Assert.True(s == HttpStatusCode.OK, j.ToString());
        }
        return (c, user);
    }

    private static AccountSummary Summary(JsonElement j) => AccountSummary.FromJson(j.GetRawText())!;

    [Fact]
    public async Task Anonymous_requests_and_missing_csrf_tokens_are_refused()
    {
        using var c = node.NewClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.Get("/api/me")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.Get("/api/accounts/someone")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.Get("/api/quotes")).Status);

        var (status, json) = await c.Post("/api/signup", new { userId = NewUser(), password = "password-123" }, csrf: false);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("CSRF", json.GetProperty("error").GetString());

        // Signed in, a POST still needs the token.
        var (c2, user) = await SignedUp();
        using (c2)
        {
            (status, json) = await c2.Post($"/api/accounts/{user}/add", new { amount = "10.00" }, csrf: false);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("CSRF", json.GetProperty("error").GetString());
        }
    }

    [Fact]
    public async Task Sign_up_validates_and_log_in_checks_the_password()
    {
        using var c = node.NewClient();
        Assert.Equal(HttpStatusCode.BadRequest, (await c.Post("/api/signup", new { userId = "bad id", password = "password-123" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.Post("/api/signup", new { userId = NewUser(), password = "short" })).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await c.Post("/api/signup", new { userId = "admin", password = "password-123" })).Status);

        var user = NewUser();
        await c.SignUp(user);
        var (status, me) = await c.Get("/api/me");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(user, me.GetProperty("userId").GetString());
        Assert.False(me.GetProperty("admin").GetBoolean());

        Assert.Equal(HttpStatusCode.OK, (await c.Post("/api/logout")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.Get("/api/me")).Status);

        using var other = node.NewClient();
        Assert.Equal(HttpStatusCode.Conflict, (await other.Post("/api/signup", new { userId = user, password = "password-456" })).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await other.Post("/api/login", new { userId = user, password = "wrong-password" })).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await other.Post("/api/login", new { userId = NewUser(), password = "password-123" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await other.Post("/api/login", new { userId = user, password = "password-123" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await other.Get("/api/me")).Status);
    }

    [Fact]
    public async Task Every_command_succeeds_through_the_api()
    {
        var (c, u) = await SignedUp();
        using var owned = c;
        var (status, json) = await c.Get($"/api/accounts/{u}");
        Assert.Equal(HttpStatusCode.NotFound, status); // no ADD yet

        async Task<JsonElement> Ok(string command, object? body = null)
        {
            var (s, j) = await c.Post($"/api/accounts/{u}/{command}", body);
            Assert.True(s == HttpStatusCode.OK, $"{command}: {s} {j}");
            Assert.True(j.GetProperty("ok").GetBoolean());
            Assert.True(j.GetProperty("txNum").GetInt64() > 0);
            return j;
        }

        await Ok("add", new { amount = "5000.00" });
        static string Money(decimal d) => d.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
        var quote = await Ok("quote", new { symbol = "ABC" });
        var price = quote.GetProperty("result").GetProperty("price").GetDecimal();
        Assert.True(price > 0);

        var buy = await Ok("buy", new { symbol = "ABC", amount = Money(price * 3 + 1) });
        var shares = buy.GetProperty("result").GetProperty("shares").GetInt32();
        Assert.Equal(3, shares);
        (status, json) = await c.Get($"/api/accounts/{u}");
        var s1 = Summary(json);
        Assert.Single(s1.PendingBuys);
        Assert.InRange(s1.PendingBuys[0].ExpiresInMs, 1, 60_000);
        await Ok("commit-buy");

        await Ok("buy", new { symbol = "ABC", amount = Money(price + 1) });
        await Ok("cancel-buy");
        await Ok("sell", new { symbol = "ABC", amount = (price * 1).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) });
        await Ok("cancel-sell");
        await Ok("sell", new { symbol = "ABC", amount = (price * 1).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) });
        await Ok("commit-sell");

        await Ok("set-buy-amount", new { symbol = "XYZ", amount = "50.00" });
        await Ok("set-buy-trigger", new { symbol = "XYZ", amount = "1.00" });
        await Ok("cancel-set-buy", new { symbol = "XYZ" });
        await Ok("set-sell-amount", new { symbol = "ABC", amount = "10.00" });
        await Ok("set-sell-trigger", new { symbol = "ABC", amount = "5.00" });
        await Ok("cancel-set-sell", new { symbol = "ABC" });

        (status, json) = await c.Get($"/api/accounts/{u}");
        Assert.Equal(HttpStatusCode.OK, status);
        var s = Summary(json);
        Assert.Equal(u, s.User);
        Assert.Equal(shares - 1, Assert.Single(s.Holdings).Shares);
        Assert.Empty(s.PendingBuys);
        Assert.Empty(s.BuyTriggers);
        Assert.Equal(0m, s.ReservedCash);
        Assert.Contains(s.History, h => h.Kind == "BUY" && h.Shares == shares);
        Assert.Contains(s.History, h => h.Kind == "SELL" && h.Shares == 1);

        (status, json) = await c.Get("/api/quotes");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(json.EnumerateArray(), q => q.GetProperty("symbol").GetString() == "ABC");

        using var dump = await c.Http.GetAsync($"/api/accounts/{u}/dumplog", Ct);
        Assert.Equal(HttpStatusCode.OK, dump.StatusCode);
        var xml = await dump.Content.ReadAsStringAsync(Ct);
        Assert.Contains("<log", xml);
        Assert.Contains(u, xml);
    }

    [Fact]
    public async Task Refused_and_invalid_commands_carry_their_reason()
    {
        var (c, u) = await SignedUp(100m);
        using var owned = c;

        async Task<string> Refused(string command, object? body, HttpStatusCode expected)
        {
            var (s, j) = await c.Post($"/api/accounts/{u}/{command}", body);
            Assert.True(s == expected, $"{command}: {s} {j}");
            return j.GetProperty("error").GetString()!;
        }

        Assert.Contains("insufficient", await Refused("buy", new { symbol = "ABC", amount = "5000.00" }, (HttpStatusCode)422), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("no pending buy", await Refused("commit-buy", null, (HttpStatusCode)422));
        Assert.Equal("amount must be greater than 0", await Refused("add", new { amount = "-5" }, HttpStatusCode.BadRequest));
        Assert.Equal("amount must be greater than 0", await Refused("add", new { amount = "0" }, HttpStatusCode.BadRequest));
        Assert.Contains("not an amount", await Refused("add", new { amount = "5x" }, HttpStatusCode.BadRequest));
        Assert.Contains("more than two decimals", await Refused("add", new { amount = "1.234" }, HttpStatusCode.BadRequest));
        Assert.Contains("amount is missing", await Refused("add", new { }, HttpStatusCode.BadRequest));
        Assert.Contains("invalid symbol", await Refused("quote", new { symbol = "abc" }, HttpStatusCode.BadRequest));
        Assert.Contains("unknown command", await Refused("frobnicate", null, HttpStatusCode.NotFound));
        Assert.Contains("unknown command", await Refused("dumplog", null, HttpStatusCode.NotFound));

        // A refused trade changes nothing.
        var (_, json) = await c.Get($"/api/accounts/{u}");
        Assert.Equal(100m, Summary(json).Cash);
    }

    [Fact]
    public async Task A_user_reaches_only_their_own_account_and_not_the_admin_view()
    {
        var (alice, a) = await SignedUp(10m);
        var (bob, b) = await SignedUp(10m);
        using var _1 = alice;
        using var _2 = bob;
        Assert.Equal(HttpStatusCode.Forbidden, (await bob.Get($"/api/accounts/{a}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await bob.Post($"/api/accounts/{a}/add", new { amount = "5.00" })).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await bob.Get($"/api/accounts/{a}/events")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await bob.Get($"/api/accounts/{a}/dumplog")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await bob.Get("/api/admin/cluster")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await bob.Get("/api/admin/dumplog")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await bob.Post("/api/admin/claim-codes", new { userId = a })).Status);
        var (_, json) = await alice.Get($"/api/accounts/{a}");
        Assert.Equal(10m, Summary(json).Cash);
    }

    [Fact]
    public async Task Admin_sees_the_cluster_downloads_the_log_and_issues_claim_codes()
    {
        // An account created by a workload over TCP: no web login.
        var owner = NewUser();
        await using (var tcp = await EdgeClient.ConnectAsync("127.0.0.1", node.Edge.Port, cancellationToken: Ct))
        {
            var r = await tcp.SendAsync($"ADD,{owner},250.00", Ct);
            Assert.True(r.Ok, r.Raw);
        }

        using var squatter = node.NewClient();
        var (status, json) = await squatter.Post("/api/signup", new { userId = owner, password = "password-123" });
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("claim code", json.GetProperty("error").GetString());
        (status, _) = await squatter.Post("/api/signup", new { userId = owner, password = "password-123", claimCode = "00112233445566778899AABB" });
        Assert.Equal(HttpStatusCode.Forbidden, status);

        using var admin = node.NewClient();
        (status, json) = await admin.Post("/api/login", new { userId = "admin", password = WebNode.AdminPassword });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(json.GetProperty("admin").GetBoolean());

        (status, json) = await admin.Get("/api/admin/cluster");
        Assert.Equal(HttpStatusCode.OK, status);
        var member = Assert.Single(json.GetProperty("members").EnumerateArray());
        Assert.Equal("Up", member.GetProperty("status").GetString());
        Assert.True(json.GetProperty("shardRegions").GetArrayLength() >= 1);

        using (var dump = await admin.Http.GetAsync("/api/admin/dumplog", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, dump.StatusCode);
            var xml = await dump.Content.ReadAsStringAsync(Ct);
            Assert.Contains(owner, xml);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await admin.Post("/api/admin/claim-codes", new { userId = "no good" })).Status);
        (status, json) = await admin.Post("/api/admin/claim-codes", new { userId = owner });
        Assert.Equal(HttpStatusCode.OK, status);
        var code = json.GetProperty("code").GetString()!;

        // A code works once.
        using var rightful = node.NewClient();
        await rightful.SignUp(owner, "password-789", code);
        (status, json) = await rightful.Get($"/api/accounts/{owner}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(250m, Summary(json).Cash);
        using var again = node.NewClient();
        Assert.Equal(HttpStatusCode.Conflict, (await again.Post("/api/signup", new { userId = owner, password = "password-123", claimCode = code })).Status);
        (status, _) = await admin.Post("/api/admin/claim-codes", new { userId = owner });
        Assert.Equal(HttpStatusCode.Conflict, status);
    }

    [Fact]
    public async Task A_pending_buy_expires_after_60_s_of_node_time_and_the_reservation_returns()
    {
        var (c, u) = await SignedUp(5000m);
        using var owned = c;
        var (_, q) = await c.Post($"/api/accounts/{u}/quote", new { symbol = "EXP" });
        var price = q.GetProperty("result").GetProperty("price").GetDecimal();
        var amount = (price * 2).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/api/accounts/{u}/buy", new { symbol = "EXP", amount })).Status);
        var (_, json) = await c.Get($"/api/accounts/{u}");
        var s = Summary(json);
        Assert.True(s.ReservedCash > 0);
        node.Clock.Advance(TimeSpan.FromSeconds(61));
        (_, json) = await c.Get($"/api/accounts/{u}");
        s = Summary(json);
        Assert.Empty(s.PendingBuys);
        Assert.Equal(0m, s.ReservedCash);
        Assert.Equal(5000m, s.Cash);
        var (status, err) = await c.Post($"/api/accounts/{u}/commit-buy");
        Assert.Equal((HttpStatusCode)422, status);
        Assert.Contains("no pending buy", err.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Events_stream_pushes_the_account_and_quotes()
    {
        var (c, u) = await SignedUp(20m);
        using var owned = c;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var resp = await c.Http.GetAsync($"/api/accounts/{u}/events", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("text/event-stream", resp.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(cts.Token));

        async Task<JsonElement> Next(string name, Func<JsonElement, bool> match)
        {
            string? evt = null;
            while (true)
            {
                var line = await reader.ReadLineAsync(cts.Token) ?? throw new EndOfStreamException();
                if (line.StartsWith("event: ", StringComparison.Ordinal)) evt = line[7..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal) && evt == name)
                {
                    var data = JsonDocument.Parse(line[6..]).RootElement.Clone();
                    if (match(data)) return data;
                }
            }
        }

        await Next("account", j => j.GetProperty("cash").GetDecimal() == 20m);
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/api/accounts/{u}/add", new { amount = "5.00" })).Status);
        await Next("account", j => j.GetProperty("cash").GetDecimal() == 25m);
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/api/accounts/{u}/quote", new { symbol = "SSE" })).Status);
        await Next("quote", j => j.GetProperty("symbol").GetString() == "SSE");

        // A change made elsewhere (here over the TCP edge) is pushed too.
        await using var tcp = await DayTrading.Loadgen.Client.EdgeClient.ConnectAsync("127.0.0.1", node.Edge.Port, cancellationToken: cts.Token);
        Assert.True((await tcp.SendAsync($"ADD,{u},7.00", cts.Token)).Ok);
        await Next("account", j => j.GetProperty("cash").GetDecimal() == 32m);
    }
    [Fact]
    public async Task Commands_and_an_opened_page_read_the_books_without_an_audited_summary()
    {
        var (c, u) = await SignedUp(20m);
        using var owned = c;
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/api/accounts/{u}/add", new { amount = "5.00" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await c.Post($"/api/accounts/{u}/quote", new { symbol = "QQQ" })).Status);
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        using (var resp = await c.Http.GetAsync($"/api/accounts/{u}/events", HttpCompletionOption.ResponseHeadersRead, cts.Token))
        using (var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(cts.Token)))
        {
            while (await reader.ReadLineAsync(cts.Token) is { } line && line != "event: account") { }
            var data = await reader.ReadLineAsync(cts.Token);
            Assert.Equal(25m, JsonDocument.Parse(data![6..]).RootElement.GetProperty("cash").GetDecimal());
        }

        using var admin = node.NewClient();
        Assert.Equal(HttpStatusCode.OK, (await admin.Post("/api/login", new { userId = "admin", password = WebNode.AdminPassword })).Status);
        using var dump = await admin.Http.GetAsync("/api/admin/dumplog", Ct);
        var log = System.Xml.Linq.XDocument.Parse(await dump.Content.ReadAsStringAsync(Ct));
        var commands = log.Root!.Elements("userCommand").Where(e => (string?)e.Element("username") == u).Select(e => (string?)e.Element("command")).ToList();
        // The sign-up's own check that the account does not exist yet is the one DISPLAY_SUMMARY; the two ADDs and
        // the QUOTE are the user's, and neither the POSTs nor the opened page added a summary of their own.
        Assert.Equal(["DISPLAY_SUMMARY", "ADD", "ADD", "QUOTE"], commands);
    }
}

/// <summary>Web front end switched off, or its port taken: the node still serves trading over TCP.</summary>
public sealed class WebOptionalTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_node_without_its_web_front_end_still_trades(bool portTaken)
    {
        using var dir = new DayTrading.Tests.Support.TempDirectory();
        using var blocker = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((IPEndPoint)blocker.LocalEndpoint).Port;
        var output = new StringWriter();
        var host = DayTrading.Host.NodeHost.Build(new DayTrading.Host.NodeOptions
        {
            DataDirectory = dir.Path, TcpPort = 0, ClusterPort = 0, AdminPort = -1, WebEnabled = portTaken, WebPort = port,
        }, TextWriter.Synchronized(output));
        await host.StartAsync(Ct);
        try
        {
            var readiness = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<DayTrading.Host.NodeReadiness>(host.Services);
            var edge = await readiness.Edge.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
            if (portTaken)
            {
                await Assert.ThrowsAnyAsync<Exception>(() => readiness.Web.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct));
                Assert.Contains("web front end NOT started", output.ToString());
            }
            else
            {
                Assert.False(readiness.Web.Task.IsCompleted);
                Assert.DoesNotContain("web front end", output.ToString());
            }
            await using var tcp = await EdgeClient.ConnectAsync("127.0.0.1", edge.Port, cancellationToken: Ct);
            Assert.True((await tcp.SendAsync("ADD,someone,1.00", Ct)).Ok);
        }
        finally
        {
            await host.StopAsync(TimeSpan.FromSeconds(30));
            host.Dispose();
        }
    }

    [Fact]
    public async Task The_ready_line_names_every_listener_the_web_front_end_included()
    {
        using var dir = new DayTrading.Tests.Support.TempDirectory();
        var output = new StringWriter();
        var host = DayTrading.Host.NodeHost.Build(new DayTrading.Host.NodeOptions
        {
            DataDirectory = dir.Path, TcpPort = 0, ClusterPort = 0, AdminPort = -1, WebPort = 0,
        }, TextWriter.Synchronized(output));
        await host.StartAsync(Ct);
        try
        {
            var readiness = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<DayTrading.Host.NodeReadiness>(host.Services);
            var edge = await readiness.Edge.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
            var web = await readiness.Web.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            var ready = Assert.Single(output.ToString().Split('\n'), l => l.Contains(" ready: ", StringComparison.Ordinal));
            Assert.Contains($"TCP edge on {edge}", ready);
            Assert.EndsWith($", web front end on {web}", ready.TrimEnd());
        }
        finally
        {
            await host.StopAsync(TimeSpan.FromSeconds(30));
            host.Dispose();
        }
    }
}

/// <summary>Web users and sessions are durable: a restarted node on the same data directory knows them.</summary>
public sealed class WebRestartTests
{
    [Fact]
    public async Task Users_and_sessions_survive_a_restart_of_the_node()
    {
        using var dir = new DayTrading.Tests.Support.TempDirectory();
        async Task<(IHost Host, Uri Web)> Start()
        {
            var host = DayTrading.Host.NodeHost.Build(new DayTrading.Host.NodeOptions { AdminPort = -1, DataDirectory = dir.Path, TcpPort = 0, ClusterPort = 0, WebPort = 0, AutoTx = false }, TextWriter.Null);
            await host.StartAsync();
            var readiness = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<DayTrading.Host.NodeReadiness>(host.Services);
            return (host, await readiness.Web.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        }

        var (first, web1) = await Start();
        using var c1 = new WebClient(web1);
        await c1.SignUp("durable");
        Assert.Equal(HttpStatusCode.OK, (await c1.Post("/api/accounts/durable/add", new { amount = "42.00" })).Status);
        var cookies = c1.Cookies.GetAllCookies();
        await first.StopAsync(TimeSpan.FromSeconds(30));
        first.Dispose();

        var (second, web2) = await Start();
        try
        {
            using var again = new WebClient(web2);
            Assert.Equal(HttpStatusCode.Conflict, (await again.Post("/api/signup", new { userId = "durable", password = "password-456" })).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await again.Post("/api/login", new { userId = "durable", password = "password-456" })).Status);
            Assert.Equal(HttpStatusCode.OK, (await again.Post("/api/login", new { userId = "durable", password = "password-123" })).Status);
            var (status, json) = await again.Get("/api/accounts/durable");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(42m, json.GetProperty("cash").GetDecimal());

            // The old session cookie (new port, same host) is still accepted.
            using var old = new WebClient(web2);
            foreach (Cookie c in cookies) old.Cookies.Add(web2, new Cookie(c.Name, c.Value, "/"));
            Assert.Equal(HttpStatusCode.OK, (await old.Get("/api/me")).Status);
        }
        finally
        {
            await second.StopAsync(TimeSpan.FromSeconds(30));
            second.Dispose();
        }
    }
}
