using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using DayTrading.Accounts;
using DayTrading.Host.Web;
using Xunit;

namespace DayTrading.Tests.Web;

/// <summary>
/// Issue 13, items 1-3 on the web front end: sign-up refuses on any doubt about the account, every request is
/// bounded (body, headers, password and user id before hashing), and log-in is throttled per user id and address.
/// Against <see cref="WebTestApp"/>: the real endpoints, a stand-in gateway, a hand-moved clock.
/// </summary>
public sealed class WebSecurityTests
{
    private const string Password = "password-123";

    // ----- 1. sign-up: any doubt refuses -----

    [Fact]
    public async Task Sign_up_while_the_account_never_answers_is_refused_and_creates_no_login()
    {
        await using var app = await WebTestApp.StartAsync();
        // The reproduction: an existing trader's account is busy (requests waiting on a slow quote) and does not answer.
        app.Gateway.Handler = async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        };
        using var c = app.NewClient();
        await c.RefreshCsrf();
        var signUp = c.Post("/api/signup", new { userId = "busytrader", password = Password });
        await WebTestApp.Until(() => app.Gateway.Executed.Any(r => r is { Kind: CommandKind.DisplaySummary, UserId: "busytrader" }) && app.Clock.PendingTimers > 0,
            "the sign-up asked the account and waits for it");
        app.Clock.Advance(app.Context.Options.RequestTimeout + TimeSpan.FromSeconds(6));
        var (status, json) = await signUp;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("nothing was created", json.GetProperty("error").GetString());
        Assert.Null(await app.Users.FindAsync("busytrader", TestContext.Current.CancellationToken));
        Assert.Equal(HttpStatusCode.Unauthorized, (await c.Get("/api/me")).Status);
        using var thief = app.NewClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await thief.Post("/api/login", new { userId = "busytrader", password = Password })).Status);
    }

    public static TheoryData<string> Doubts => ["gateway time-out reply", "other error", "exception", "unknown user of another transaction"];

    [Theory]
    [MemberData(nameof(Doubts))]
    public async Task Sign_up_is_refused_when_the_account_check_gives_no_definite_answer(string doubt)
    {
        await using var app = await WebTestApp.StartAsync();
        app.Gateway.Handler = (r, _) => doubt switch
        {
            "gateway time-out reply" => Task.FromResult(TradeReply.Failure(r, RefusalReason.OutcomeUnknown,
                $"no answer from account {r.UserId} within 30 s; the outcome is unknown, retry with the same run id and transaction number")),
            "other error" => Task.FromResult(TradeReply.Failure(r, RefusalReason.NotDone, "journal unavailable")),
            "exception" => throw new InvalidOperationException("the shard region is gone"),
            _ => Task.FromResult(TradeReply.Failure(r with { TxNum = r.TxNum + 1 }, RefusalReason.UnknownUser, $"unknown user '{r.UserId}': the first command for a new user must be ADD")),
        };
        using var c = app.NewClient();
        var (status, json) = await c.Post("/api/signup", new { userId = "doubtful", password = Password });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("could not find out whether a trading account with this id exists", json.GetProperty("error").GetString());
        Assert.Null(await app.Users.FindAsync("doubtful", TestContext.Current.CancellationToken));
        Assert.Equal(0, app.Hasher.Hashes);
    }

    [Fact]
    public async Task Only_the_accounts_own_unknown_user_answer_opens_a_new_id_and_an_existing_account_needs_its_claim_code()
    {
        await using var app = await WebTestApp.StartAsync();
        app.Gateway.Handler = (r, _) => Task.FromResult(r.UserId == "existing"
            ? TradeReply.Success(r, "{\"user\":\"existing\",\"cash\":\"250.00\"}")
            : TradeReply.Failure(r, RefusalReason.UnknownUser, $"unknown user '{r.UserId}': the first command for a new user must be ADD"));
        using var squatter = app.NewClient();
        var (status, json) = await squatter.Post("/api/signup", new { userId = "existing", password = Password });
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("claim code", json.GetProperty("error").GetString());
        Assert.Null(await app.Users.FindAsync("existing", TestContext.Current.CancellationToken));

        var code = await app.Users.IssueClaimCodeAsync("existing", TestContext.Current.CancellationToken);
        using var owner = app.NewClient();
        await owner.SignUp("existing", Password, code);
        Assert.NotNull(await app.Users.FindAsync("existing", TestContext.Current.CancellationToken));

        using var fresh = app.NewClient();
        await fresh.SignUp("brandnew");
        Assert.NotNull(await app.Users.FindAsync("brandnew", TestContext.Current.CancellationToken));
    }

    // ----- 2. every request bounded -----

    [Fact]
    public async Task A_1_MiB_login_body_is_refused_with_413_and_nothing_is_hashed()
    {
        await using var app = await WebTestApp.StartAsync();
        var body = Encoding.UTF8.GetBytes("{\"userId\":\"someone\",\"password\":\"" + new string('p', 1024 * 1024) + "\"}");
        // The reproduction: the whole 1 MiB is sent; the answer comes from the announced length, before any reading.
        var answer = await RawPost(app, "/api/login", body);
        Assert.StartsWith("HTTP/1.1 413", answer);
        Assert.Contains($"at most {app.Context.Options.WebMaxBodyBytes} bytes", answer);
        Assert.Equal(0, app.Hasher.Calls);
        Assert.Equal(0, app.Throttle.TrackedUsers);

        // The same for every other endpoint: the limit is the server's, not the login's.
        foreach (var path in new[] { "/api/signup", "/api/accounts/someone/add", "/api/admin/claim-codes", "/index.html" })
            Assert.StartsWith("HTTP/1.1 413", await RawPost(app, path, body));
        Assert.Empty(app.Gateway.Executed);

        // A browser-like client that waits for "100 Continue" never has to send it at all.
        using var c = app.NewClient();
        using var req = new HttpRequestMessage(HttpMethod.Post, "/api/login") { Content = new ByteArrayContent(body) };
        req.Content.Headers.ContentType = new("application/json");
        req.Headers.ExpectContinue = true;
        using var resp = await c.Http.SendAsync(req, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, resp.StatusCode);
        Assert.Equal(0, app.Hasher.Calls);
    }

    [Fact]
    public async Task A_body_without_a_length_is_cut_at_the_limit_too()
    {
        await using var app = await WebTestApp.StartAsync();
        using var c = app.NewClient();
        await c.RefreshCsrf();
        var token = await CsrfToken(c);
        // Chunked (no Content-Length): Kestrel counts while reading.
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"userId\":\"someone\",\"password\":\"" + new string('p', 200_000) + "\"}")));
        content.Headers.ContentType = new("application/json");
        using var req = new HttpRequestMessage(HttpMethod.Post, "/api/login") { Content = content };
        req.Headers.TransferEncodingChunked = true;
        req.Headers.Add(WebApi.CsrfHeader, token);
        HttpStatusCode? status = null;
        try
        {
            using var resp = await c.Http.SendAsync(req, TestContext.Current.CancellationToken);
            status = resp.StatusCode;
        }
        catch (HttpRequestException)
        {
            // the server may close the connection while the client still sends: refused as well
        }
        if (status is { } s) Assert.Equal(HttpStatusCode.RequestEntityTooLarge, s);
        Assert.Equal(0, app.Hasher.Calls);
    }

    [Fact]
    public async Task An_overlong_password_or_user_id_is_refused_before_any_hashing()
    {
        await using var app = await WebTestApp.StartAsync();
        using var c = app.NewClient();
        var longPassword = new string('p', WebApi.MaxPasswordLength + 1);
        var (status, json) = await c.Post("/api/login", new { userId = "someone", password = longPassword });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains($"more than {WebApi.MaxPasswordLength} characters", json.GetProperty("error").GetString());
        (status, json) = await c.Post("/api/login", new { userId = new string('u', 65), password = Password });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("invalid user id", json.GetProperty("error").GetString());
        (status, _) = await c.Post("/api/signup", new { userId = "someone", password = longPassword });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        (status, _) = await c.Post("/api/signup", new { userId = "someone", password = Password, claimCode = new string('c', 65) });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(0, app.Hasher.Calls);
        Assert.Empty(app.Gateway.Executed);
        Assert.Equal(0, app.Throttle.TrackedUsers);

        // The store's own guard: an overlong password is never hashed, whoever calls.
        Assert.Null(await app.Users.VerifyAsync("someone", new string('p', 10_000), TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ArgumentException>(() => app.Users.TryCreateAsync("someone", longPassword, admin: false, TestContext.Current.CancellationToken));
        Assert.Equal(0, app.Hasher.Calls);

        // At the limit it is an ordinary password.
        (status, _) = await c.Post("/api/login", new { userId = "someone", password = new string('p', WebApi.MaxPasswordLength) });
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal(1, app.Hasher.Verifies);
    }

    [Fact]
    public async Task Oversized_headers_and_request_lines_are_refused()
    {
        await using var app = await WebTestApp.StartAsync();
        Assert.StartsWith("HTTP/1.1 431", await Raw(app, $"GET /api/csrf HTTP/1.1\r\nHost: x\r\nX-Big: {new string('h', 20_000)}\r\n\r\n"));
        var many = string.Concat(Enumerable.Range(0, 60).Select(i => $"X-H{i}: v\r\n"));
        Assert.StartsWith("HTTP/1.1 431", await Raw(app, $"GET /api/csrf HTTP/1.1\r\nHost: x\r\n{many}\r\n"));
        Assert.StartsWith("HTTP/1.1 414", await Raw(app, $"GET /api/csrf?{new string('q', 10_000)} HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 200", await Raw(app, "GET /api/csrf HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    }

    // ----- 3. log-in throttle -----

    [Fact]
    public async Task After_five_wrong_passwords_even_the_right_one_waits_429_with_Retry_After_then_succeeds_and_resets()
    {
        await using var app = await WebTestApp.StartAsync();
        Assert.True(await app.Users.TryCreateAsync("victim", Password, admin: false, TestContext.Current.CancellationToken));
        using var c = app.NewClient();
        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await c.Post("/api/login", new { userId = "victim", password = $"guess-{i}" })).Status);
        var verifies = app.Hasher.Verifies;

        var (status, json, retryAfter) = await LogIn(c, "victim", Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("1", retryAfter);
        Assert.Contains("retry after 1 s", json.GetProperty("error").GetString());
        Assert.Equal(verifies, app.Hasher.Verifies); // refused without checking the password

        app.Clock.Advance(TimeSpan.FromSeconds(1));
        (status, _, _) = await LogIn(c, "victim", Password);
        Assert.Equal(HttpStatusCode.OK, status);

        // The success cleared the id: five more tries before any wait.
        using var other = app.NewClient();
        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await other.Post("/api/login", new { userId = "victim", password = $"again-{i}" })).Status);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await LogIn(other, "victim", "again-5")).Status);
    }

    [Fact]
    public async Task Two_hundred_wrong_passwords_in_a_row_are_mostly_refused_unchecked_and_the_wait_grows()
    {
        await using var app = await WebTestApp.StartAsync();
        Assert.True(await app.Users.TryCreateAsync("victim", Password, admin: false, TestContext.Current.CancellationToken));
        using var c = app.NewClient();
        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 200; i++) answers.Add((await c.Post("/api/login", new { userId = "victim", password = $"guess-{i}" })).Status);
        Assert.Equal(5, answers.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal(195, answers.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.Equal(5, app.Hasher.Verifies);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await LogIn(c, "victim", Password)).Status);

        // Each further guess after a wait doubles the next wait: 1, 2, 4, 8 s.
        var waits = new List<string?>();
        for (var i = 0; i < 4; i++)
        {
            var (_, _, retry) = await LogIn(c, "victim", "still-guessing");
            waits.Add(retry);
            app.Clock.Advance(TimeSpan.FromSeconds(int.Parse(retry!)));
            Assert.Equal(HttpStatusCode.Unauthorized, (await LogIn(c, "victim", $"guess-after-wait-{i}")).Status);
        }
        Assert.Equal(["1", "2", "4", "8"], waits);
    }

    [Fact]
    public async Task One_address_guessing_at_many_ids_is_throttled_too()
    {
        await using var app = await WebTestApp.StartAsync();
        using var c = app.NewClient();
        var free = app.Throttle.Options.FreeAttemptsPerAddress;
        for (var i = 0; i < free; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await c.Post("/api/login", new { userId = $"id{i}", password = Password })).Status);
        var (status, _, retry) = await LogIn(c, "yet-another-id", Password);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("1", retry);
    }

    [Fact]
    public void The_back_off_doubles_up_to_the_maximum_and_is_forgotten_after_the_quiet_window()
    {
        var clock = new TestTimeProvider();
        var throttle = new LoginThrottle(clock, new LoginThrottleOptions { MaxLockout = TimeSpan.FromMinutes(15), FreeAttemptsPerAddress = int.MaxValue });
        var ip = IPAddress.Parse("198.51.100.7");
        for (var i = 0; i < 5; i++) Assert.True(throttle.TryBegin("u", ip, out _));
        var waits = new List<TimeSpan>();
        for (var i = 0; i < 14; i++)
        {
            Assert.False(throttle.TryBegin("u", ip, out var wait));
            waits.Add(wait);
            clock.Advance(wait);
            Assert.True(throttle.TryBegin("u", ip, out _));
        }
        Assert.Equal(TimeSpan.FromSeconds(1), waits[0]);
        Assert.Equal(TimeSpan.FromSeconds(512), waits[9]);
        Assert.All(waits.Skip(10), w => Assert.Equal(TimeSpan.FromMinutes(15), w));

        // An hour with no attempt (and no wait left): a fresh start.
        clock.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromHours(1));
        for (var i = 0; i < 5; i++) Assert.True(throttle.TryBegin("u", ip, out _));
        Assert.False(throttle.TryBegin("u", ip, out var again));
        Assert.Equal(TimeSpan.FromSeconds(1), again);
    }

    [Fact]
    public void A_success_clears_its_id_but_not_the_guesses_its_address_made_at_others()
    {
        var clock = new TestTimeProvider();
        var throttle = new LoginThrottle(clock, new LoginThrottleOptions { FreeAttemptsPerUser = 5, FreeAttemptsPerAddress = 6 });
        var ip = IPAddress.Parse("203.0.113.9");
        for (var i = 0; i < 4; i++) Assert.True(throttle.TryBegin("victim", ip, out _));
        Assert.True(throttle.TryBegin("mine", ip, out _));
        throttle.Succeeded("mine", ip); // own account: takes back its own attempt only
        Assert.True(throttle.TryBegin("victim", ip, out _)); // 5th at the victim, 5th counted for the address
        Assert.True(throttle.TryBegin("victim2", ip, out _)); // 6th for the address: now it must wait
        Assert.False(throttle.TryBegin("victim3", ip, out var wait));
        Assert.Equal(TimeSpan.FromSeconds(1), wait);
        // Another address is not affected by this one.
        Assert.True(throttle.TryBegin("mine", IPAddress.Parse("203.0.113.10"), out _));
    }

    [Fact]
    public void Addresses_are_keyed_by_IPv4_address_or_IPv6_64_prefix()
    {
        Assert.Equal("192.0.2.1", LoginThrottle.AddressKey(IPAddress.Parse("::ffff:192.0.2.1")));
        Assert.Equal(LoginThrottle.AddressKey(IPAddress.Parse("2001:db8:1:2::1")), LoginThrottle.AddressKey(IPAddress.Parse("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        Assert.NotEqual(LoginThrottle.AddressKey(IPAddress.Parse("2001:db8:1:2::1")), LoginThrottle.AddressKey(IPAddress.Parse("2001:db8:1:3::1")));
    }

    [Fact]
    public void The_throttle_table_stays_bounded_under_a_spray_of_ids_and_addresses()
    {
        var clock = new TestTimeProvider();
        var throttle = new LoginThrottle(clock, new LoginThrottleOptions { MaxEntries = 100, FreeAttemptsPerAddress = int.MaxValue });
        for (var i = 0; i < 20_000; i++)
        {
            var ip = new IPAddress(BitConverter.GetBytes(0x0A000000 + i));
            throttle.TryBegin($"id{i}", ip, out _);
            Assert.InRange(throttle.TrackedUsers, 1, 100);
            Assert.InRange(throttle.TrackedAddresses, 1, 100);
        }
    }

    // ----- helpers -----

    private static async Task<string> CsrfToken(WebClient c) =>
        (await c.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/csrf")).GetProperty("token").GetString()!;

    private static async Task<(HttpStatusCode Status, System.Text.Json.JsonElement Json, string? RetryAfter)> LogIn(WebClient c, string user, string password)
    {
        var token = await CsrfToken(c);
        using var req = new HttpRequestMessage(HttpMethod.Post, "/api/login") { Content = JsonContent.Create(new { userId = user, password }) };
        req.Headers.Add(WebApi.CsrfHeader, token);
        using var resp = await c.Http.SendAsync(req, TestContext.Current.CancellationToken);
        var text = await resp.Content.ReadAsStringAsync();
        var json = text.Length == 0 ? default : System.Text.Json.JsonDocument.Parse(text).RootElement.Clone();
        return (resp.StatusCode, json, resp.Headers.TryGetValues("Retry-After", out var v) ? v.Single() : null);
    }

    /// <summary>
    /// POSTs <paramref name="body"/> with its Content-Length over a raw connection, sending all of it while reading
    /// the answer (the server may answer and close before the body is through: write errors are expected).
    /// </summary>
    private static async Task<string> RawPost(WebTestApp app, string path, byte[] body)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(app.BaseAddress.Host, app.BaseAddress.Port);
        var stream = tcp.GetStream();
        var head = Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
        var sending = Task.Run(async () =>
        {
            try
            {
                await stream.WriteAsync(head);
                await stream.WriteAsync(body);
            }
            catch (IOException)
            {
                // the server answered and closed first
            }
        });
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (true)
            {
                var n = await stream.ReadAsync(buffer, cts.Token);
                if (n == 0) break;
                answer.Append(Encoding.ASCII.GetString(buffer, 0, n));
                var text = answer.ToString();
                var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end >= 0 && text.Contains("Content-Length: ", StringComparison.Ordinal))
                {
                    var length = int.Parse(text[(text.IndexOf("Content-Length: ", StringComparison.Ordinal) + 16)..].Split('\r')[0]);
                    if (text.Length >= end + 4 + length) break;
                }
            }
        }
        catch (IOException)
        {
            // a reset after the answer
        }
        await sending.WaitAsync(TimeSpan.FromSeconds(30));
        return answer.ToString();
    }

    /// <summary>Sends raw bytes and returns what the server answered until it closed or 4 KiB came.</summary>
    private static async Task<string> Raw(WebTestApp app, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(app.BaseAddress.Host, app.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[4096];
        var n = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (n < 12)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(n), cts.Token);
            if (read == 0) break;
            n += read;
        }
        return Encoding.ASCII.GetString(buffer, 0, n);
    }
}
