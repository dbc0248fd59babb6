using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace DayTrading.Tests.Web;

/// <summary>One node and one headless Chromium (the Debian package, not Playwright's download) per test class.</summary>
public sealed class BrowserNode : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public WebNode Node { get; } = new();
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

    public async Task<(IBrowserContext Context, IPage Page)> NewPage(bool fakeClock = false)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Node.BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        context.SetDefaultTimeout(15_000);
        if (fakeClock) await context.Clock.InstallAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        return (context, page);
    }
}

/// <summary>The browser UI end to end, driven by Playwright.</summary>
public sealed class WebUiTests(BrowserNode b) : IClassFixture<BrowserNode>
{
    // The suite runs many nodes side by side on 2 cores: give the page time to load before an expectation fails.
    static WebUiTests() => SetDefaultExpectTimeout(20_000);

    private static string NewUser() => "p" + Guid.NewGuid().ToString("N")[..10];

    private static async Task SignUp(IPage page, string user)
    {
        await page.FillAsync("#signup-user", user);
        await page.FillAsync("#signup-password", "password-123");
        await page.ClickAsync("#signup-submit");
        await Expect(page.Locator("#account")).ToBeVisibleAsync();
        await Expect(page.Locator("#who")).ToHaveTextAsync(user);
    }

    private static async Task Trade(IPage page, string command, string? symbol, string amount)
    {
        await page.SelectOptionAsync("#trade-command", command);
        if (symbol is not null) await page.FillAsync("#trade-symbol", symbol);
        await page.FillAsync("#trade-amount", amount);
        await page.ClickAsync("#trade-submit");
    }

    private static async Task<decimal> Quote(IPage page, string symbol)
    {
        await page.FillAsync("#quote-symbol", symbol);
        await page.ClickAsync("#quote-submit");
        await Expect(page.Locator("#quote-result")).ToHaveTextAsync(new Regex($"^{symbol}: [0-9,]+\\.\\d\\d$"));
        var text = await page.Locator("#quote-result").TextContentAsync();
        return decimal.Parse(text![(symbol.Length + 2)..].Replace(",", ""), CultureInfo.InvariantCulture);
    }

    private static string Money(decimal d) => d.ToString("0.00", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Sign_up_add_funds_buy_and_commit_shows_the_holding_and_the_history()
    {
        var (context, page) = await b.NewPage();
        await using var _ = context;
        await SignUp(page, NewUser());
        await Expect(page.Locator("#no-account")).ToBeVisibleAsync();

        await Trade(page, "add", null, "5000");
        await Expect(page.Locator("#trade-message")).ToContainTextAsync("ADD done");
        await Expect(page.Locator("#cash")).ToHaveTextAsync("5,000.00");

        var price = await Quote(page, "ABC");
        await Trade(page, "buy", "ABC", Money(price * 3 + 1));
        await Expect(page.Locator("#trade-message")).ToContainTextAsync("BUY done");
        var pending = page.Locator("#pending-buys tbody tr[data-symbol=ABC]");
        await Expect(pending).ToHaveCountAsync(1);
        await Expect(pending.Locator(".countdown")).ToHaveTextAsync(new Regex(@"^\d+ s$"));
        await Expect(page.Locator("#reserved")).Not.ToHaveTextAsync("0.00");

        await pending.Locator("button.commit").ClickAsync();
        await Expect(page.Locator("#trade-message")).ToContainTextAsync("COMMIT_BUY done");
        var holding = page.Locator("#holdings tbody tr[data-symbol=ABC]");
        await Expect(holding).ToHaveCountAsync(1);
        await Expect(holding.Locator("td").Nth(1)).ToHaveTextAsync("3");
        await Expect(holding.Locator("td").Nth(4)).ToHaveTextAsync((price * 3).ToString("#,##0.00", CultureInfo.InvariantCulture));
        await Expect(page.Locator("#reserved")).ToHaveTextAsync("0.00");
        await Expect(page.Locator("#cash")).ToHaveTextAsync((5000 - price * 3).ToString("#,##0.00", CultureInfo.InvariantCulture));
        await Expect(page.Locator("#pending-buys tbody")).ToContainTextAsync("none");
        await Expect(page.Locator("#history tbody")).ToContainTextAsync("BUY");
    }

    [Fact]
    public async Task A_refused_trade_shows_its_reason_and_a_bad_form_is_not_sent()
    {
        var (context, page) = await b.NewPage();
        await using var _ = context;
        await SignUp(page, NewUser());
        await Trade(page, "add", null, "100.00");
        await Expect(page.Locator("#cash")).ToHaveTextAsync("100.00");

        await Trade(page, "buy", "ABC", "5000.00");
        await Expect(page.Locator("#trade-message")).ToHaveTextAsync(new Regex("^BUY refused: .*insufficient", RegexOptions.IgnoreCase));
        await Expect(page.Locator("#trade-message")).ToHaveClassAsync("error");

        var requests = 0;
        page.Request += (_, r) => { if (r.Url.Contains("/api/accounts/", StringComparison.Ordinal) && r.Method == "POST") requests++; };
        await Trade(page, "buy", "abc", "10.00");
        await Expect(page.Locator("#trade-message")).ToContainTextAsync("Symbol: 1-3 capital letters");
        await Trade(page, "add", null, "-5");
        await Expect(page.Locator("#trade-message")).ToContainTextAsync("Amount:");
        await Trade(page, "add", null, "1.234");
        await Expect(page.Locator("#trade-message")).ToContainTextAsync("Amount:");
        Assert.Equal(0, requests);
        await Expect(page.Locator("#cash")).ToHaveTextAsync("100.00");
    }

    [Fact]
    public async Task A_pending_buy_counts_down_expires_and_the_reservation_returns()
    {
        var (context, page) = await b.NewPage(fakeClock: true);
        await using var _ = context;
        await SignUp(page, NewUser());
        await Trade(page, "add", null, "5000.00");
        await Expect(page.Locator("#cash")).ToHaveTextAsync("5,000.00");
        var price = await Quote(page, "EXP");
        await Trade(page, "buy", "EXP", Money(price * 2));
        var pending = page.Locator("#pending-buys tbody tr[data-symbol=EXP]");
        await Expect(pending.Locator(".countdown")).ToHaveTextAsync(new Regex(@"^\d+ s$"));
        await Expect(page.Locator("#reserved")).ToHaveTextAsync((price * 2).ToString("#,##0.00", CultureInfo.InvariantCulture));
        await Expect(page.Locator("#cash")).ToHaveTextAsync((5000 - price * 2).ToString("#,##0.00", CultureInfo.InvariantCulture));

        // 61 s pass for the node (its TimeProvider) and for the page (Playwright's clock): the countdown runs out,
        // the page asks for the account, and the node expires the buy before answering.
        b.Node.Clock.Advance(TimeSpan.FromSeconds(61));
        await context.Clock.FastForwardAsync("01:01");
        await Expect(page.Locator("#pending-buys tbody")).ToContainTextAsync("none");
        await Expect(page.Locator("#reserved")).ToHaveTextAsync("0.00");
        await Expect(page.Locator("#cash")).ToHaveTextAsync("5,000.00");
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
        await Expect(page.Locator("#nav-admin")).ToBeHiddenAsync();
        await page.GotoAsync($"/#/account/{owner}");
        await page.ReloadAsync();
        await Expect(page.Locator("#view-error")).ToContainTextAsync("Refused");
        await Expect(page.Locator("#account")).ToBeHiddenAsync();
        await page.GotoAsync("/#/admin");
        await page.ReloadAsync();
        await Expect(page.Locator("#view-error")).ToContainTextAsync("Refused: the admin view is for administrators (403)");
        await Expect(page.Locator("#admin")).ToBeHiddenAsync();

        // The administrator gets the view.
        var (c3, admin) = await b.NewPage();
        await using var _3 = c3;
        await admin.FillAsync("#login-user", "admin");
        await admin.FillAsync("#login-password", WebNode.AdminPassword);
        await admin.ClickAsync("#login-submit");
        // The login routes to the account view on its own; clicking Admin before that lands would be overridden by it.
        await Expect(admin.Locator("#account")).ToBeVisibleAsync();
        await admin.ClickAsync("#nav-admin");
        await Expect(admin.Locator("#admin")).ToBeVisibleAsync();
        await Expect(admin.Locator("#members tbody")).ToContainTextAsync("Up");
        await Expect(admin.Locator("#shards tbody tr")).Not.ToHaveCountAsync(0);
    }

    /// <summary>
    /// A populated account page as an image: docs/account-page.png when DAYTRADING_SCREENSHOT=1 (how the one in
    /// the repository was made), otherwise a temp file, so a test run leaves the working tree clean.
    /// </summary>
    [Fact]
    public async Task Account_page_screenshot()
    {
        var (context, page) = await b.NewPage();
        await using var _ = context;
        await SignUp(page, "trader_" + Guid.NewGuid().ToString("N")[..4]);
        await Trade(page, "add", null, "25000.00");
        await Expect(page.Locator("#cash")).ToHaveTextAsync("25,000.00");
        decimal price = 0;
        for (var i = 0; i < 4; i++)
        {
            price = await Quote(page, "ABC");
            b.Node.Clock.Advance(TimeSpan.FromSeconds(61)); // a fresh quote each round: points on the chart
        }
        price = await Quote(page, "ABC");
        await Trade(page, "buy", "ABC", Money(price * 20 + 1));
        await page.Locator("#pending-buys button.commit").ClickAsync();
        await Expect(page.Locator("#holdings tbody tr[data-symbol=ABC]")).ToHaveCountAsync(1);
        await Quote(page, "XYZ");
        await Trade(page, "buy", "XYZ", "2000.00");
        await Expect(page.Locator("#pending-buys tbody tr[data-symbol=XYZ]")).ToHaveCountAsync(1);
        await Trade(page, "set-buy-amount", "DEF", "1500.00");
        await Trade(page, "set-buy-trigger", "DEF", "120.00");
        await Expect(page.Locator("#triggers tbody")).ToContainTextAsync("DEF");
        await Quote(page, "ABC");

        var path = Environment.GetEnvironmentVariable("DAYTRADING_SCREENSHOT") == "1"
            ? Path.Combine(RepoRoot(), "docs", "account-page.png")
            : Path.Combine(Path.GetTempPath(), $"daytrading-account-page-{Guid.NewGuid():N}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        Assert.True(new FileInfo(path).Length > 10_000);
        if (!path.Contains("docs", StringComparison.Ordinal)) File.Delete(path);
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DayTrading.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("DayTrading.sln not found above the test binaries");
    }
}
