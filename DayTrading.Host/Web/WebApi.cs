using System.Globalization;
using System.Security.Cryptography;
using System.Security.Claims;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Edge;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DayTrading.Host.Web;

public sealed record Credentials(string? UserId, string? Password, string? ClaimCode = null);

public sealed record CommandArgs(string? Symbol = null, string? Amount = null);

public sealed record ClaimCodeRequest(string? UserId);

/// <summary>
/// The REST API (docs in README, "Web front end"). Every account command goes through the same
/// <see cref="ITradeGateway"/> as the TCP edge, numbered by the node-wide <see cref="TxNumberGenerator"/>, so it is
/// audited like a TCP request. A signed-in user reaches only <c>/api/accounts/{their id}</c>.
/// </summary>
public static class WebApi
{
    public const string CsrfHeader = "X-CSRF-TOKEN";
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = WebUserStore.MaxPasswordLength;
    private const string AdminRole = "admin";

    /// <summary>
    /// A body announced larger than the limit is refused at once with a clear error (413), before anything reads it;
    /// Kestrel's <c>MaxRequestBodySize</c> (the same limit) still cuts a body without a length while it is read.
    /// </summary>
    public static Func<HttpContext, Func<Task>, Task> BodyLimit(long limit) => async (http, next) =>
    {
        if (http.Request.ContentLength > limit)
        {
            http.Response.Headers.Connection = "close";
            await Results.Json(new { ok = false, error = $"request body of {http.Request.ContentLength} bytes refused: at most {limit} bytes" },
                statusCode: StatusCodes.Status413PayloadTooLarge).ExecuteAsync(http);
            return;
        }
        await next();
    };

    /// <summary>Antiforgery on every state-changing API request (the token comes from GET /api/csrf).</summary>
    public static async Task CsrfCheck(HttpContext http, Func<Task> next)
    {
        if (http.Request.Path.StartsWithSegments("/api") && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method))
        {
            var antiforgery = http.RequestServices.GetRequiredService<IAntiforgery>();
            if (!await antiforgery.IsRequestValidAsync(http))
            {
                await Results.Json(new { error = $"missing or invalid CSRF token (send GET /api/csrf's token in the {CsrfHeader} header)" },
                    statusCode: StatusCodes.Status400BadRequest).ExecuteAsync(http);
                return;
            }
        }
        await next();
    }

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapGet("/csrf", (HttpContext http, IAntiforgery af) => Results.Json(new { token = af.GetAndStoreTokens(http).RequestToken }));
        api.MapPost("/signup", SignUp);
        api.MapPost("/login", LogIn);
        api.MapPost("/logout", async (HttpContext http) =>
        {
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Json(new { ok = true });
        });
        api.MapGet("/me", (ClaimsPrincipal user) => Results.Json(new { userId = user.Identity!.Name, admin = user.IsInRole(AdminRole) })).RequireAuthorization();
        api.MapGet("/quotes", (WebContext ctx) =>
        {
            var now = ctx.NowMs;
            return Results.Json(ctx.Feed.LatestQuotes.Select(q => WebJson.QuoteView(q, now)));
        }).RequireAuthorization();
        api.MapGet("/quotes/{symbol}/history", QuoteHistory).RequireAuthorization();

        var account = api.MapGroup("/accounts/{user}").RequireAuthorization();
        account.MapGet("", Summary);
        account.MapGet("/events", Events);
        account.MapGet("/dumplog", UserDumpLog);
        account.MapPost("/{command}", Command);

        var admin = api.MapGroup("/admin").RequireAuthorization(p => p.RequireRole(AdminRole));
        admin.MapPost("/claim-codes", IssueClaimCode);
        admin.MapGet("/dumplog", AdminDumpLog);
        admin.MapGet("/cluster", ClusterView);
    }

    private static IResult Error(int status, string error) => Results.Json(new { ok = false, error }, statusCode: status);

    /// <summary>The quotes this node has seen for a symbol, oldest first, for a chart (none yet: no points).</summary>
    private static IResult QuoteHistory(string symbol, WebContext ctx)
    {
        if (!Rules.IsValidSymbol(symbol)) return Error(StatusCodes.Status400BadRequest, $"'{symbol}' is not a stock symbol (1-3 letters A-Z)");
        var points = ctx.Feed.History(symbol).Select(p => new { timestampMs = p.TimestampMs, price = p.Price });
        return Results.Json(new { symbol, serverNowMs = ctx.NowMs, points });
    }

    private static bool Owns(ClaimsPrincipal principal, string user) => string.Equals(principal.Identity?.Name, user, StringComparison.Ordinal);

    private static IResult NotYours() => Error(StatusCodes.Status403Forbidden, "you can reach only your own account");

    // ----- sign-up, log-in -----

    /// <summary>
    /// Sign-up: a new id gets a login (its account comes with its first ADD); the id of an existing trading account
    /// (created over TCP or by a workload) only with a claim code for it. Whether the account exists is asked with a
    /// DISPLAY_SUMMARY, and only a definite "unknown user" opens the no-claim-code path: a time-out, an error or any
    /// other doubt refuses (503) and creates nothing, or a busy account could be taken over.
    /// </summary>
    private static async Task<IResult> SignUp(Credentials body, WebContext ctx, HttpContext http)
    {
        var userId = body.UserId?.Trim() ?? "";
        if (!Rules.IsValidUserId(userId)) return Error(400, "invalid user id (1-64 characters of A-Z a-z 0-9 _ -)");
        if (body.Password is not { Length: >= MinPasswordLength and <= MaxPasswordLength }) return Error(400, $"the password must have {MinPasswordLength} to {MaxPasswordLength} characters");
        if (body.ClaimCode is { Length: > WebUserStore.MaxClaimCodeLength }) return Error(400, $"the claim code has more than {WebUserStore.MaxClaimCodeLength} characters");
        if (userId == WebFrontEnd.AdminUserId) return Error(409, "this user id is reserved");
        if (await ctx.Users.FindAsync(userId) is not null) return Error(409, "this user id already has a web login");

        // Does a trading account exist (created by a workload or the TCP edge)? Then only its claim code opens it.
        var exists = await AccountExists(userId, ctx, http.RequestAborted);
        if (exists is null)
        {
            return Error(StatusCodes.Status503ServiceUnavailable,
                "could not find out whether a trading account with this id exists (it did not answer in time); nothing was created, try again");
        }
        if (exists.Value)
        {
            if (string.IsNullOrWhiteSpace(body.ClaimCode))
                return Error(403, "a trading account with this id already exists: signing up for it needs a claim code from an administrator");
            var refusal = await ctx.Users.TryClaimAsync(userId, body.ClaimCode, body.Password);
            if (refusal is not null) return Error(403, refusal);
        }
        else if (!await ctx.Users.TryCreateAsync(userId, body.Password, admin: false))
        {
            return Error(409, "this user id already has a web login");
        }
        await SignIn(http, userId, admin: false);
        return Results.Json(new { userId, admin = false });
    }

    /// <summary>
    /// True: the trading account exists; false: the account answered that it does not ("unknown user"); null: no
    /// definite answer (time-out, error, exception), which must be treated as "maybe".
    /// </summary>
    private static async Task<bool?> AccountExists(string userId, WebContext ctx, CancellationToken ct)
    {
        TradeReply probe;
        var request = new TradeRequest(TxNumberGenerator.Shared.Next(), CommandKind.DisplaySummary, userId);
        try
        {
            // The gateway gives up after the request timeout; the web does not wait much longer whatever the gateway does.
            probe = await ctx.Gateway.Execute(request, ct)
                .WaitAsync(ctx.Options.RequestTimeout + TimeSpan.FromSeconds(5), ctx.Clock, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            return null;
        }
        // Only this request's own answer counts (not one for another transaction).
        if (probe.TxNum != request.TxNum || probe.Kind != request.Kind) return null;
        if (probe.Ok) return true;
        return IsUnknownUser(probe) ? false : null;
    }

    /// <summary>The account's own answer that it does not exist.</summary>
    private static bool IsUnknownUser(TradeReply reply) => !reply.Ok && reply.Reason == RefusalReason.UnknownUser;

    /// <summary>
    /// Log-in: lengths checked before anything is hashed; brute force throttled per user id and per client address
    /// (<see cref="LoginThrottle"/>: 429 with Retry-After while an id or address must wait, the password unchecked).
    /// </summary>
    private static async Task<IResult> LogIn(Credentials body, WebContext ctx, HttpContext http)
    {
        if (body.UserId is not { Length: > 0 } userId || body.Password is not { Length: > 0 } password) return Error(400, "the user id and the password are required");
        if (!Rules.IsValidUserId(userId)) return Error(400, "invalid user id (1-64 characters of A-Z a-z 0-9 _ -)");
        if (password.Length > MaxPasswordLength) return Error(400, $"the password has more than {MaxPasswordLength} characters");
        var address = http.Connection.RemoteIpAddress;
        if (!ctx.Throttle.TryBegin(userId, address, out var wait))
        {
            var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return Error(StatusCodes.Status429TooManyRequests, $"too many log-in attempts for this user id or from this address; retry after {seconds} s");
        }
        var user = await ctx.Users.VerifyAsync(userId, password);
        if (user is null) return Error(401, "wrong user id or password");
        ctx.Throttle.Succeeded(userId, address);
        await SignIn(http, user.UserId, user.Admin);
        return Results.Json(new { userId = user.UserId, admin = user.Admin });
    }

    private static Task SignIn(HttpContext http, string userId, bool admin)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, userId) };
        if (admin) claims.Add(new Claim(ClaimTypes.Role, AdminRole));
        return http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
            new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme)));
    }

    // ----- account -----

    private static ITradeGateway GatewayFor(ClaimsPrincipal p, WebContext ctx) => p.IsInRole(AdminRole) ? ctx.AdminGateway : ctx.Gateway;

    /// <summary>DISPLAY_SUMMARY: the summary's JSON, or null when the account does not exist yet (no ADD).</summary>
    private static async Task<(TradeReply Reply, bool Missing)> FetchSummary(string user, ITradeGateway gateway, CancellationToken ct)
    {
        var reply = await gateway.Execute(new TradeRequest(TxNumberGenerator.Shared.Next(), CommandKind.DisplaySummary, user), ct);
        return (reply, IsUnknownUser(reply));
    }

    private static async Task<IResult> Summary(string user, ClaimsPrincipal principal, WebContext ctx, HttpContext http)
    {
        if (!Owns(principal, user)) return NotYours();
        var (reply, missing) = await FetchSummary(user, GatewayFor(principal, ctx), http.RequestAborted);
        if (missing) return Error(404, reply.Error!);
        return reply.Ok ? Results.Content(reply.Body!, "application/json") : Error(502, reply.Error!);
    }

    /// <summary>
    /// Server-sent events: the account at once and after every change to it (whatever made it: TCP, web, an expiry, a
    /// trigger), and every quote. The account is read by <see cref="LiveFeed.AccountWatcher"/> without an audited
    /// DISPLAY_SUMMARY; a POST makes no extra round trip for the page.
    /// </summary>
    private static async Task Events(string user, ClaimsPrincipal principal, WebContext ctx, HttpContext http, IHostApplicationLifetime lifetime)
    {
        if (!Owns(principal, user))
        {
            await NotYours().ExecuteAsync(http);
            return;
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        var ct = cts.Token;
        var (id, reader) = ctx.Feed.Subscribe(user);
        try
        {
            http.Response.Headers.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            http.Response.Headers["X-Accel-Buffering"] = "no";
            await http.Response.WriteAsync(": connected\n\n", ct);
            await http.Response.Body.FlushAsync(ct);
            foreach (var q in ctx.Feed.LatestQuotes) await Write(new LiveEvent("quote", WebJson.Quote(q, ctx.NowMs)));
            await http.Response.Body.FlushAsync(ct);
            await foreach (var e in reader.ReadAllAsync(ct))
            {
                await Write(e);
                await http.Response.Body.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException)
        {
            // the page went away or the node stops
        }
        finally
        {
            ctx.Feed.Unsubscribe(id);
        }

        Task Write(LiveEvent e) => http.Response.WriteAsync($"event: {e.Name}\ndata: {e.Data}\n\n", ct);
    }

    private static readonly HashSet<CommandKind> WebCommands =
    [
        CommandKind.Add, CommandKind.Quote, CommandKind.Buy, CommandKind.CommitBuy, CommandKind.CancelBuy, CommandKind.Sell,
        CommandKind.CommitSell, CommandKind.CancelSell, CommandKind.SetBuyAmount, CommandKind.SetBuyTrigger, CommandKind.CancelSetBuy,
        CommandKind.SetSellAmount, CommandKind.SetSellTrigger, CommandKind.CancelSetSell,
    ];

    /// <summary>POST /api/accounts/{user}/{command}: every user command but DUMPLOG and DISPLAY_SUMMARY (GETs).</summary>
    private static async Task<IResult> Command(string user, string command, CommandArgs? body, ClaimsPrincipal principal, WebContext ctx, HttpContext http)
    {
        if (!Owns(principal, user)) return NotYours();
        if (!CommandNames.TryParse(command.Replace('-', '_'), out var kind) || !WebCommands.Contains(kind))
            return Error(404, $"unknown command '{command}'");
        body ??= new CommandArgs();
        var gateway = GatewayFor(principal, ctx);
        var tx = TxNumberGenerator.Shared.Next();
        var shape = LineParser.ShapeOf(kind);
        string? symbol = null;
        var amount = 0m;
        string? invalid = null;
        if (shape.Contains("symbol"))
        {
            symbol = body.Symbol?.Trim();
            if (!Rules.IsValidSymbol(symbol)) invalid = $"invalid symbol '{symbol}' (1-3 letters A-Z)";
        }
        if (invalid is null && (shape.Contains("amount") || shape.Contains("price")) && !Rules.TryParseAmount((body.Amount ?? "").Trim(), out amount, out invalid))
        {
            // invalid holds the rules' message
        }
        if (invalid is not null)
        {
            // Refused before any account, like a bad TCP line: audited as an errorEvent.
            await gateway.RecordRejected(tx, null, kind.Name(), user, invalid);
            return Results.Json(new { ok = false, txNum = tx, command = kind.Name(), error = invalid }, statusCode: 400);
        }

        var reply = await gateway.Execute(new TradeRequest(tx, kind, user, symbol, amount), http.RequestAborted);
        if (!reply.Ok) return Results.Json(new { ok = false, txNum = tx, command = kind.Name(), reason = reply.Reason.ToString(), error = reply.Error }, statusCode: 422);
        return Results.Json(new { ok = true, txNum = tx, command = kind.Name(), result = Result(reply) });
    }

    /// <summary>The QUOTE / BUY / SELL result as fields, from the reply's typed quote and shares.</summary>
    private static object? Result(TradeReply reply) => reply.Quote is not { } q ? null : reply.Kind switch
    {
        CommandKind.Quote => new { price = q.Price, symbol = q.Symbol, quoteTimeMs = q.QuoteTimeMs },
        CommandKind.Buy or CommandKind.Sell => new { shares = reply.Shares, symbol = q.Symbol, price = q.Price, amount = reply.Shares * q.Price, quoteTimeMs = q.QuoteTimeMs },
        _ => null,
    };

    // ----- DUMPLOG -----

    private static Task<IResult> UserDumpLog(string user, ClaimsPrincipal principal, WebContext ctx, HttpContext http) =>
        Owns(principal, user) ? DumpLog(user, GatewayFor(principal, ctx), ctx, http) : Task.FromResult(NotYours());

    private static Task<IResult> AdminDumpLog(WebContext ctx, HttpContext http) => DumpLog(null, ctx.AdminGateway, ctx, http);

    /// <summary>
    /// DUMPLOG into <c>web/&lt;name&gt;</c> under the Auditor's dump directory, then that file as a download, streamed
    /// from the Auditor singleton in chunks (<see cref="DumpDownload"/>) whichever node it runs on: this node may not
    /// have the file. The name is unique (a random part), so two downloads never share a file, even from two nodes.
    /// </summary>
    private static async Task<IResult> DumpLog(string? user, ITradeGateway gateway, WebContext ctx, HttpContext http)
    {
        var tx = TxNumberGenerator.Shared.Next();
        var unique = Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        var name = $"{user ?? "system"}-{tx.ToString(CultureInfo.InvariantCulture)}-{unique}.xml";
        var reply = await gateway.Execute(new TradeRequest(tx, CommandKind.DumpLog, user, FileName: $"web/{name}"), http.RequestAborted);
        if (!reply.Ok) return Error(user is not null && IsUnknownUser(reply) ? 404 : 422, reply.Error!);
        var read = new ReadDumpChunk($"web/{name}", user, 0, DumpDownloads.MaxChunkBytes);
        var first = await DumpDownload.ReadChunkAsync(ctx.Auditor, read, DumpReadResendAfter, ctx.Options.RequestTimeout, http.RequestAborted);
        if (!first.Ok) return Error(StatusCodes.Status503ServiceUnavailable, $"the dump was written but could not be read from the auditor: {first.Error}");
        return new DumpDownloadResult(ctx, read, first, name);
    }

    private static readonly TimeSpan DumpReadResendAfter = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The download: headers with the dump's length, the first chunk, then one chunk after another as the client
    /// takes them. A failure after the headers went out aborts the connection, so a client never takes a cut dump
    /// for a whole one (it also has the Content-Length to check).
    /// </summary>
    private sealed class DumpDownloadResult(WebContext ctx, ReadDumpChunk read, DumpChunk first, string name) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.ContentType = "application/xml";
            http.Response.ContentLength = first.TotalLength;
            http.Response.Headers.ContentDisposition = new Microsoft.Net.Http.Headers.ContentDispositionHeaderValue("attachment") { FileName = name }.ToString();
            var ct = http.RequestAborted;
            try
            {
                await http.Response.Body.WriteAsync(first.Data, ct);
                var error = await DumpDownload.CopyRestAsync(ctx.Auditor, read, first, http.Response.Body, DumpReadResendAfter, ctx.Options.RequestTimeout, ct);
                if (error is null) return;
                ctx.System.Log.Warning("dump download {0} cut after the headers: {1}", name, error);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // the client went away
            }
            http.Abort();
        }
    }

    // ----- admin -----

    private static async Task<IResult> IssueClaimCode(ClaimCodeRequest body, WebContext ctx)
    {
        var userId = body.UserId?.Trim() ?? "";
        if (!Rules.IsValidUserId(userId)) return Error(400, "invalid user id (1-64 characters of A-Z a-z 0-9 _ -)");
        if (await ctx.Users.FindAsync(userId) is not null) return Error(409, "this account already has a web login");
        var code = await ctx.Users.IssueClaimCodeAsync(userId);
        return Results.Json(new { userId, code, expiresInHours = WebUserStore.ClaimCodeLifetime.TotalHours });
    }

    private static async Task<IResult> ClusterView(WebContext ctx)
    {
        var view = DayTrading.Cluster.ClusterView.Members(Akka.Cluster.Cluster.Get(ctx.System));
        var members = view.Members.Select(m => new { address = m.Address, status = m.Status, roles = m.Roles, reachable = m.Reachable, leader = m.Leader }).ToArray();
        object shards;
        try
        {
            var report = await DayTrading.Cluster.ClusterView.ShardsAsync(ctx.AccountRegion, AccountsSetup.TypeName, TimeSpan.FromSeconds(5));
            shards = report.Regions.Select(r => new
            {
                address = r.Address,
                shards = r.Shards.Count,
                entities = r.Shards.Sum(s => s.Entities),
                failed = r.FailedShards.Count,
            }).ToArray();
        }
        catch (Exception ex)
        {
            shards = new { error = ex.Message };
        }
        return Results.Json(new { self = view.Self, leader = view.Leader, members, shardRegions = shards });
    }
}
