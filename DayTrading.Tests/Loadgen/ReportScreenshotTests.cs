using DayTrading.Loadgen.Cli;
using DayTrading.Loadgen.Generation;
using DayTrading.Tests.Support;
using DayTrading.Tests.Web;
using Microsoft.Playwright;
using Xunit;

namespace DayTrading.Tests.Loadgen;

/// <summary>
/// The HTML report of a fake-edge run rendered in headless Chromium (the Debian package, like the web UI's tests):
/// docs/load-report.png when DAYTRADING_SCREENSHOT=1 (how the one in the repository is made), else a temp file.
/// </summary>
public sealed class ReportScreenshotTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_HTML_report_renders_with_its_verdict_cards_and_charts()
    {
        // 10 users of the course mix for about 6 s: some answers refused the way the course workload's are (nothing
        // pending), a few failed (no quote), the DUMPLOG slow, so every part of the report has something to show.
        await using var edge = new FakeEdgeServer
        {
            Delay = TimeSpan.FromMilliseconds(8),
            DelayFor = line => line.Contains("DUMPLOG") ? TimeSpan.FromMilliseconds(900) : null,
            ErrorFor = line => line.Contains("COMMIT_SELL") ? "no pending sell to commit"
                : line.Contains("CANCEL_BUY") ? "no pending buy to cancel"
                : long.Parse(line[1..line.IndexOf(']')]) % 97 == 0 ? "quote server did not answer for ABC within 500 ms"
                : null,
        };
        using var dir = new TempDirectory();
        var workload = Path.Combine(dir.Path, "w.txt");
        WorkloadGenerator.WriteFile(workload, new GeneratorOptions(10, 6_000, 4));
        var reports = Path.Combine(dir.Path, "reports");
        var output = new StringWriter();
        var exit = await LoadgenCli.BuildRoot(output).Parse(["replay", workload, "--target", edge.Endpoint, "--run-id", "lg-example", "--report-dir", reports,
            "--no-live", "--threshold", "p99<5s", "--threshold", "BUY:p99<2s", "--max-error-rate", "0.02",
            "--node-options", "DayTrading.Host --tcp-port 4440 --quote-latency fixed:5"]).InvokeAsync(cancellationToken: Ct);
        // Limits far above the fake's few ms: the picture shows a PASS however busy the machine is.
        Assert.True(exit == ExitCodes.Ok, output.ToString());

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = BrowserNode.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        await page.GotoAsync(new Uri(Path.Combine(reports, "report.html")).AbsoluteUri);
        Assert.StartsWith("PASS", await page.Locator("#verdict").InnerTextAsync());
        Assert.Equal(10, await page.Locator(".card").CountAsync());
        foreach (var id in new[] { "chart-throughput", "chart-latency-over-time", "chart-errors-over-time", "chart-in-flight", "chart-latency-distribution", "chart-dumplog" })
            Assert.True(await page.Locator($"#{id} svg").IsVisibleAsync(), $"{id} is not drawn");
        await TraderPage.Screenshot(page, "load-report.png");
    }
}
