using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;
using static DayTrading.Tests.Web.TraderPage;
using static Microsoft.Playwright.Assertions;

namespace DayTrading.Tests.Web;

/// <summary>One node and one headless Chromium (the Debian package, not Playwright's download) per test class.</summary>
public class BrowserNode : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public BrowserNode() : this(autoTx: false) { }

    protected BrowserNode(bool autoTx) => Node = new WebNode(autoTx);

    public WebNode Node { get; }
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        await Node.InitializeAsync();
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        Playwright?.Dispose();
        await Node.DisposeAsync();
    }

    public async Task<(IBrowserContext Context, IPage Page)> NewPage(bool fakeClock = false, int width = 1280, int height = 900)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Node.BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = width, Height = height }, IsMobile = width < 500, HasTouch = width < 500,
        });
        context.SetDefaultTimeout(15_000);
        if (fakeClock) await context.Clock.InstallAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        return (context, page);
    }
}

/// <summary>The same with the AutoTxManager running: armed triggers fire.</summary>
public sealed class BrowserNodeWithTriggers() : BrowserNode(autoTx: true);

/// <summary>What the pages have in common: signing up, the ticket, quotes, money as the page shows it.</summary>
internal static class TraderPage
{
    public static string NewUser() => "p" + Guid.NewGuid().ToString("N")[..10];

    public static async Task SignUp(IPage page, string user)
    {
        await page.FillAsync("#signup-user", user);
        await page.FillAsync("#signup-password", "password-123");
        await page.ClickAsync("#signup-submit");
        await Expect(page.Locator("#who")).ToHaveTextAsync(user);
        await Expect(page.Locator("#ticket")).ToBeVisibleAsync();
    }

    public static async Task AddFunds(IPage page, string amount, string cashAfter)
    {
        await page.FillAsync("#add-amount", amount);
        await page.ClickAsync("#add-submit");
        await Expect(page.Locator("#cash")).ToHaveTextAsync(cashAfter);
        await Expect(page.Locator("#add-amount")).ToHaveValueAsync(""); // cleared: no double submit by a second click
    }

    /// <summary>The ticket's symbol, a fresh quote of it, and its price as the preview shows it.</summary>
    public static async Task<decimal> TicketQuote(IPage page, string symbol)
    {
        await page.FillAsync("#ticket-symbol", symbol);
        var preview = page.Locator("#ticket-preview");
        // The page's QUOTE answered, then its quote event: the preview shows that price.
        var answer = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#ticket-quote"), r => r.Url.EndsWith("/quote", StringComparison.Ordinal));
        var price = (await answer.JsonAsync())!.Value.GetProperty("result").GetProperty("price").GetDecimal();
        await Expect(preview.Locator(".quote-price")).ToHaveTextAsync(Money(price));
        await Expect(preview.Locator(".quote-price")).ToHaveTextAsync(new Regex(@"^\$[0-9,]+\.\d\d$"));
        await Expect(preview.Locator(".age")).ToHaveTextAsync(new Regex(@"^\d+ s old$"));
        return price;
    }

    /// <summary>A market order through the ticket: preview, review, confirm, place.</summary>
    public static async Task PlaceMarket(IPage page, string side, string symbol, string dollars)
    {
        await page.ClickAsync($"#ticket-{side}");
        await page.CheckAsync("#ticket-market");
        await page.FillAsync("#ticket-symbol", symbol);
        await page.FillAsync("#ticket-dollars", dollars);
        await page.ClickAsync("#ticket-review");
        await Expect(page.Locator("#ticket-confirm-text")).ToContainTextAsync("60 s");
        await page.ClickAsync("#ticket-place");
    }

    public static decimal ParseMoney(string? text) =>
        decimal.Parse(text!.Replace("$", "").Replace(",", "").Replace("+", ""), NumberStyles.Number, CultureInfo.InvariantCulture);

    /// <summary>Money as the page writes it: $1,234.56; signed: +$1.20 / -$1.20 / $0.00.</summary>
    public static string Money(decimal d) => (d < 0 ? "-$" : "$") + Math.Abs(d).ToString("#,##0.00", CultureInfo.InvariantCulture);

    public static string Signed(decimal d) => d > 0 ? "+" + Money(d) : Money(d);

    public static string Plain(decimal d) => d.ToString("0.00", CultureInfo.InvariantCulture);

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DayTrading.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("DayTrading.sln not found above the test binaries");
    }

    /// <summary>docs/NAME when DAYTRADING_SCREENSHOT=1 (how the ones in the repository are made), else a temp file.</summary>
    public static async Task Screenshot(IPage page, string name)
    {
        var keep = Environment.GetEnvironmentVariable("DAYTRADING_SCREENSHOT") == "1";
        var path = keep ? Path.Combine(RepoRoot(), "docs", name) : Path.Combine(Path.GetTempPath(), $"daytrading-{Guid.NewGuid():N}-{name}");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        Assert.True(new FileInfo(path).Length > 10_000, $"{name}: the screenshot is nearly empty");
        if (!keep) File.Delete(path);
    }
}

/// <summary>The browser UI end to end, driven by Playwright.</summary>
public sealed class WebUiTests(BrowserNode b, ITestOutputHelper output) : IClassFixture<BrowserNode>
{
    // The suite runs many nodes side by side on 2 cores: give the page time to load before an expectation fails.
    static WebUiTests() => SetDefaultExpectTimeout(20_000);

    [Fact]
    public async Task Sign_up_add_funds_buy_with_preview_confirm_commit_then_equity_and_pnl_follow_the_price()
    {
        var (context, page) = await b.NewPage();
        await using var _ = context;
        await SignUp(page, NewUser());
        await Expect(page.Locator("#no-account")).ToBeVisibleAsync();
        await AddFunds(page, "5000", "$5,000.00");

        await page.FillAsync("#ticket-symbol", "pnl");
        await Expect(page.Locator("#ticket-symbol")).ToHaveValueAsync("PNL");
        var price = await TicketQuote(page, "PNL");
        await page.FillAsync("#ticket-dollars", Plain(price * 3 + 1));
        await Expect(page.Locator("#ticket-estimate")).ToHaveTextAsync($"≈ 3 shares for {Money(price * 3)}");
        await page.ClickAsync("#ticket-review");
        await Expect(page.Locator("#ticket-confirm-text")).ToContainTextAsync($"Buy about 3 PNL for {Money(price * 3)}");
        await page.ClickAsync("#ticket-place");
        await Expect(page.Locator("#ticket-message")).ToContainTextAsync($"Buy of 3 PNL at {Money(price)} reserved");
        await Expect(page.Locator("#ticket-dollars")).ToHaveValueAsync("");

        var pending = page.Locator("#pending-buys tbody tr[data-symbol=PNL]");
        await Expect(pending.Locator(".countdown")).ToHaveTextAsync(new Regex(@"^\d+ s$"));
        await Expect(page.Locator("#reserved")).ToHaveTextAsync(Money(price * 3));
        await pending.Locator("button.commit").ClickAsync();
        await Expect(page.Locator("#pending-message")).ToHaveTextAsync("COMMIT_BUY done");

        var holding = page.Locator("#holdings tbody tr[data-symbol=PNL]");
        await Expect(holding.Locator(".shares")).ToHaveTextAsync("3");
        await Expect(holding.Locator(".avg-cost")).ToHaveTextAsync(Money(price));
        await Expect(holding.Locator(".value")).ToHaveTextAsync(Money(price * 3));
        await Expect(page.Locator("#reserved")).ToHaveTextAsync("$0.00");
        await Expect(page.Locator("#cash")).ToHaveTextAsync(Money(5000 - price * 3));
        await Expect(page.Locator("#equity")).ToHaveTextAsync("$5,000.00");
        await Expect(page.Locator("#pnl")).ToHaveTextAsync(new Regex(@"^\$0\.00( |$)"));
        await Expect(page.Locator("#history tbody")).ToContainTextAsync("Bought");

        // (A symbol no other test of this node uses: the day change counts from the first quote the page saw.)
        // A minute later the quote is another: the holding's value, the P&L and the equity move with it.
        b.Node.Clock.Advance(TimeSpan.FromSeconds(61));
        await page.Locator("#watchlist tr[data-symbol=PNL]").GetByRole(AriaRole.Button, new() { Name = "quote PNL" }).ClickAsync();
        await Expect(page.Locator("#watchlist tr[data-symbol=PNL] .price")).Not.ToHaveTextAsync(Money(price));
        var now = ParseMoney(await page.Locator("#watchlist tr[data-symbol=PNL] .price").TextContentAsync());
        await Expect(holding.Locator(".value")).ToHaveTextAsync(Money(now * 3));
        await Expect(holding.Locator(".pnl")).ToContainTextAsync(Signed((now - price) * 3));
        await Expect(page.Locator("#pnl")).ToContainTextAsync(Signed((now - price) * 3));
        await Expect(page.Locator("#equity")).ToHaveTextAsync(Money(5000 + (now - price) * 3));
        await Expect(page.Locator("#day-change")).ToHaveTextAsync(Signed((now - price) * 3));
        // The chart has both quotes on its time axis.
        await Expect(page.Locator(".chart-box")).ToHaveAttributeAsync("data-points", "2");
    }

    [Fact]
    public async Task A_refused_trade_shows_its_reason_and_a_bad_form_is_not_sent()
    {
        var (context, page) = await b.NewPage();
        await using var _ = context;
        await SignUp(page, NewUser());
        await AddFunds(page, "100.00", "$100.00");

        await TicketQuote(page, "ABC");
        await PlaceMarket(page, "buy", "ABC", "5000.00");
        await Expect(page.Locator("#ticket-message")).ToHaveTextAsync(new Regex("^BUY refused: .*insufficient", RegexOptions.IgnoreCase));
        await Expect(page.Locator("#ticket-message")).ToHaveClassAsync("error");

        var requests = 0;
        page.Request += (_, r) => { if (r.Url.Contains("/api/accounts/", StringComparison.Ordinal) && r.Method == "POST") requests++; };
        foreach (var bad in new[] { "-5", "1.234", "abc", "" })
        {
            await page.FillAsync("#ticket-dollars", bad);
            await page.ClickAsync("#ticket-review");
            await Expect(page.Locator("#ticket-message")).ToContainTextAsync("Amount:");
            await Expect(page.Locator("#ticket-place")).ToHaveCountAsync(0);
        }
        await page.FillAsync("#add-amount", "0");
        await page.ClickAsync("#add-submit");
        await Expect(page.Locator("#add-message")).ToContainTextAsync("Amount:");
        Assert.Equal(0, requests);
        await Expect(page.Locator("#cash")).ToHaveTextAsync("$100.00");
    }

    [Fact]
    public async Task An_expired_buy_shows_a_notice_and_the_reservation_returns()
    {
        var (context, page) = await b.NewPage(fakeClock: true);
        await using var _ = context;
        await SignUp(page, NewUser());
        await AddFunds(page, "5000.00", "$5,000.00");
        var price = await TicketQuote(page, "EXP");
        await PlaceMarket(page, "buy", "EXP", Plain(price * 2));
        var pending = page.Locator("#pending-buys tbody tr[data-symbol=EXP]");
        await Expect(pending.Locator(".countdown")).ToHaveTextAsync(new Regex(@"^\d+ s$"));
        await Expect(page.Locator("#reserved")).ToHaveTextAsync(Money(price * 2));

        // 61 s pass for the node (its TimeProvider) and for the page (Playwright's clock): the countdown runs out,
        // the page pokes the account, which expires the buy and tells the page over the live feed.
        b.Node.Clock.Advance(TimeSpan.FromSeconds(61));
        await context.Clock.FastForwardAsync("01:01");
        await Expect(page.Locator("#pending-buys tbody")).ToContainTextAsync("none");
        await Expect(page.Locator("#reserved")).ToHaveTextAsync("$0.00");
        await Expect(page.Locator("#cash")).ToHaveTextAsync("$5,000.00");
        await Expect(page.Locator("#notices li.expired")).ToContainTextAsync($"Your buy of 2 EXP expired uncommitted; {Money(price * 2)} returned to cash");
    }

    [Fact]
    public async Task A_change_made_over_TCP_appears_live_with_a_notice()
    {
        var (context, page) = await b.NewPage();
        await using var _ = context;
        var user = NewUser();
        await SignUp(page, user);
        await AddFunds(page, "100.00", "$100.00");

        using var tcp = new TcpClient();
        var ct = TestContext.Current.CancellationToken;
        await tcp.ConnectAsync(b.Node.Edge, ct);
        using var stream = tcp.GetStream();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await stream.WriteAsync(Encoding.UTF8.GetBytes($"[1] ADD,{user},250.00\n"), ct);
        var answer = await reader.ReadLineAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.StartsWith("[1] OK", answer, StringComparison.Ordinal);

        await Expect(page.Locator("#cash")).ToHaveTextAsync("$350.00");
        await Expect(page.Locator("#toasts .toast.elsewhere")).ToContainTextAsync("From another channel");
        await Expect(page.Locator("#notices li.elsewhere")).ToContainTextAsync("$250.00 added");
        // The page's own ADD brought no notice.
        await Expect(page.Locator("#notices li.elsewhere")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task An_order_is_placed_and_committed_from_the_keyboard()
    {
        var (context, page) = await b.NewPage();
        await using var _ = context;
        await SignUp(page, NewUser());
        await AddFunds(page, "1000.00", "$1,000.00");
        await TicketQuote(page, "KEY");
        await page.FocusAsync("#ticket-dollars");
        await page.Keyboard.TypeAsync("100.00");
        await page.Keyboard.PressAsync("Enter"); // review: the confirm step takes the focus
        await Expect(page.Locator("#ticket-place")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#ticket-message")).ToContainTextAsync("reserved");
        var commit = page.Locator("#pending-buys tbody tr[data-symbol=KEY] button.commit");
        await commit.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#pending-message")).ToHaveTextAsync("COMMIT_BUY done");
        await Expect(page.Locator("#holdings tbody tr[data-symbol=KEY]")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task On_a_phone_nothing_scrolls_sideways()
    {
        var (context, page) = await b.NewPage(width: 390, height: 844);
        await using var _ = context;
        await SignUp(page, "phone_" + Guid.NewGuid().ToString("N")[..6]);
        await AddFunds(page, "25000.00", "$25,000.00");
        var price = await TicketQuote(page, "ABC");
        await PlaceMarket(page, "buy", "ABC", Plain(price * 12 + 1));
        await page.Locator("#pending-buys button.commit").ClickAsync();
        await Expect(page.Locator("#holdings tbody tr[data-symbol=ABC]")).ToHaveCountAsync(1);
        await TicketQuote(page, "XYZ");
        await PlaceMarket(page, "buy", "XYZ", "2000.00");
        await Expect(page.Locator("#pending-buys tbody tr[data-symbol=XYZ]")).ToHaveCountAsync(1);

        var widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth, document.body.scrollWidth]");
        Assert.True(widths[0] <= widths[1], $"the page scrolls sideways at 390 px: scrollWidth {widths[0]} > clientWidth {widths[1]}");
        Assert.True(widths[2] <= widths[1], $"the body is wider than the viewport: {widths[2]} > {widths[1]}");
        await Screenshot(page, "account-page-phone.png");
    }

    [Fact]
    public async Task Another_users_account_and_the_admin_view_are_refused()
    {
        var (c1, first) = await b.NewPage();
        await using var _1 = c1;
        var owner = NewUser();
        await SignUp(first, owner);

        var (c2, page) = await b.NewPage();
        await using var _2 = c2;
        await SignUp(page, NewUser());
        await Expect(page.Locator("#nav-admin")).ToHaveCountAsync(0);
        await page.GotoAsync($"/#/account/{owner}");
        await page.ReloadAsync();
        await Expect(page.Locator("#view-error")).ToContainTextAsync("Refused: you can reach only your own account");
        await Expect(page.Locator("#account")).ToHaveCountAsync(0);
        await page.GotoAsync("/#/admin");
        await page.ReloadAsync();
        await Expect(page.Locator("#view-error")).ToContainTextAsync("Refused: the admin view is for administrators (403)");
        await Expect(page.Locator("#admin")).ToHaveCountAsync(0);

        // The administrator gets the view.
        var (c3, admin) = await b.NewPage();
        await using var _3 = c3;
        await admin.FillAsync("#login-user", "admin");
        await admin.FillAsync("#login-password", WebNode.AdminPassword);
        await admin.ClickAsync("#login-submit");
        await Expect(admin.Locator("#account")).ToBeVisibleAsync();
        await admin.ClickAsync("#nav-admin");
        await Expect(admin.Locator("#admin")).ToBeVisibleAsync();
        await Expect(admin.Locator("#members tbody")).ToContainTextAsync("Up");
        await Expect(admin.Locator("#shards tbody tr")).Not.ToHaveCountAsync(0);
        // A claim code is for a trading account without a web login (one made over TCP): the owner has one.
        await admin.FillAsync("#claim-user", owner);
        await admin.ClickAsync("#claim-submit");
        await Expect(admin.Locator("#claim-result")).ToContainTextAsync("refused: this account already has a web login");
        var tcpOnly = NewUser();
        await admin.FillAsync("#claim-user", tcpOnly);
        await admin.ClickAsync("#claim-submit");
        await Expect(admin.Locator("#claim-result")).ToContainTextAsync($"code for {tcpOnly}: ");
    }

    /// <summary>
    /// A populated account page, desktop: docs/account-page.png when DAYTRADING_SCREENSHOT=1. Also the cold load: the
    /// first contentful paint of a fresh browser context (no cache), printed for the README.
    /// </summary>
    [Fact]
    public async Task Account_page_screenshot_and_cold_load()
    {
        var (context, page) = await b.NewPage();
        await using var _ = context;
        await Expect(page.Locator("#login-form")).ToBeVisibleAsync();
        var paint = await page.EvaluateAsync<double>("""
            () => new Promise(done => {
              new PerformanceObserver(list => { for (const e of list.getEntries()) if (e.name === 'first-contentful-paint') done(e.startTime); })
                .observe({ type: 'paint', buffered: true });
              setTimeout(() => done(-1), 5000);
            })
            """);
        var load = await page.EvaluateAsync<double>("() => performance.getEntriesByType('navigation')[0].duration");
        output.WriteLine($"cold load: first contentful paint {paint:0} ms, navigation {load:0} ms");
        Assert.True(paint > 0, "no first contentful paint recorded");

        await SignUp(page, "trader_" + Guid.NewGuid().ToString("N")[..4]);
        await AddFunds(page, "25000.00", "$25,000.00");
        decimal price = 0;
        for (var i = 0; i < 4; i++)
        {
            price = await TicketQuote(page, "ABC");
            b.Node.Clock.Advance(TimeSpan.FromSeconds(61)); // a fresh quote each round: points on the chart
        }
        price = await TicketQuote(page, "ABC");
        await PlaceMarket(page, "buy", "ABC", Plain(price * 20 + 1));
        await page.Locator("#pending-buys button.commit").ClickAsync();
        await Expect(page.Locator("#holdings tbody tr[data-symbol=ABC]")).ToHaveCountAsync(1);
        b.Node.Clock.Advance(TimeSpan.FromSeconds(61));
        await TicketQuote(page, "ABC");
        await TicketQuote(page, "XYZ");
        await PlaceMarket(page, "buy", "XYZ", "2000.00");
        await Expect(page.Locator("#pending-buys tbody tr[data-symbol=XYZ]")).ToHaveCountAsync(1);
        await page.CheckAsync("#ticket-limit");
        await page.FillAsync("#ticket-symbol", "DEF");
        await page.FillAsync("#ticket-dollars", "1500.00");
        await page.FillAsync("#ticket-limit-price", "120.00");
        await page.ClickAsync("#ticket-review");
        await page.ClickAsync("#ticket-place");
        await Expect(page.Locator("#triggers tbody tr[data-symbol=DEF]")).ToHaveCountAsync(1);
        await page.FillAsync("#ticket-symbol", "ABC");
        await Expect(page.Locator(".chart-box")).Not.ToHaveAttributeAsync("data-points", "0");
        await Screenshot(page, "account-page.png");
    }
}

/// <summary>Limit orders in the browser, on a node whose AutoTxManager fires them.</summary>
public sealed class WebUiTriggerTests(BrowserNodeWithTriggers b) : IClassFixture<BrowserNodeWithTriggers>
{
    static WebUiTriggerTests() => SetDefaultExpectTimeout(30_000);

    [Fact]
    public async Task A_limit_buy_is_armed_with_the_price_beside_it_fires_when_the_price_crosses_and_a_notice_appears()
    {
        var (context, page) = await b.NewPage();
        await using var _ = context;
        await SignUp(page, NewUser());
        await AddFunds(page, "10000.00", "$10,000.00");
        var price = await TicketQuote(page, "LIM");

        // First below every price the simulator gives (5.00 and up): armed, the current price beside it, no fill.
        await page.ClickAsync("#ticket-buy");
        await page.CheckAsync("#ticket-limit");
        await page.FillAsync("#ticket-dollars", "1000.00");
        await page.FillAsync("#ticket-limit-price", "1.00");
        await page.ClickAsync("#ticket-review");
        await Expect(page.Locator("#ticket-confirm-text")).ToContainTextAsync("Reserve $1,000.00 now and buy LIM when its price is at or below $1.00");
        await page.ClickAsync("#ticket-place");
        await Expect(page.Locator("#ticket-message")).ToContainTextAsync("Limit buy armed");
        var trigger = page.Locator("#triggers tbody tr[data-symbol=LIM][data-side=buy]");
        await Expect(trigger.Locator(".trigger-price")).ToHaveTextAsync("$1.00");
        await Expect(trigger.Locator(".current-price")).ToHaveTextAsync(Money(price));
        await Expect(page.Locator("#reserved")).ToHaveTextAsync("$1,000.00");

        // Then "at or below" a price above every simulated one: the next quote crosses it.
        await page.FillAsync("#ticket-dollars", "1000.00");
        await page.FillAsync("#ticket-limit-price", "1000.00");
        await page.ClickAsync("#ticket-review");
        await page.ClickAsync("#ticket-place");
        await Expect(page.Locator("#ticket-message")).ToContainTextAsync("Limit buy armed");
        var holding = page.Locator("#holdings tbody tr[data-symbol=LIM]");
        b.Node.Clock.Advance(TimeSpan.FromSeconds(61));
        await TicketQuote(page, "LIM");
        // (The notice list, not the toast: the toast goes after 10 s, and the fire may come before the quote above.)
        await Expect(page.Locator("#notices li.trigger")).ToContainTextAsync("Trigger fired — limit buy filled");
        await Expect(page.Locator("#notices li.trigger")).ToContainTextAsync("LIM at");
        await Expect(holding).ToHaveCountAsync(1);
        await Expect(page.Locator("#triggers tbody")).ToContainTextAsync("none");
        await Expect(page.Locator("#history tbody tr[data-kind=AUTOBUY]")).ToHaveCountAsync(1);
    }
}
