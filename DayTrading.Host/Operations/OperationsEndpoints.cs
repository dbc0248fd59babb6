using System.Text.Json;
using DayTrading.Persistence;
using DayTrading.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace DayTrading.Host.Operations;

/// <summary>
/// The operator's endpoints on the node's web port, served from the moment the port listens (before the node is Up):
/// <c>/healthz</c> (the process answers), <c>/ready</c> (the node's ready checks, 200 or 503) and <c>/metrics</c>
/// (OpenTelemetry's Prometheus exporter; optionally OTLP as well). See docs/OPERATIONS.md.
/// </summary>
public sealed class OperationsEndpoints(NodeHealth health, NodeOptions options)
{
    public const string LivenessPath = "/healthz";
    public const string ReadinessPath = "/ready";
    public const string MetricsPath = "/metrics";

    /// <summary>Paths the web front end serves while the node is not yet Up (everything else answers 503).</summary>
    public static bool IsOperationsPath(PathString path) =>
        path.Equals(LivenessPath, StringComparison.Ordinal) || path.Equals(ReadinessPath, StringComparison.Ordinal) || path.Equals(MetricsPath, StringComparison.Ordinal);

    private static readonly (string, string)[] RuntimeRenames =
    [
        ("dotnet.assembly.count", "dotnet.assemblies"), ("dotnet.process.cpu.count", "dotnet.process.cpus"),
        ("dotnet.thread_pool.thread.count", "dotnet.thread_pool.threads"), ("dotnet.timer.count", "dotnet.timers"),
    ];

    public void AddTo(IServiceCollection services)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("daytrading", serviceInstanceId: options.NodeName))
            .WithMetrics(m =>
            {
                m.AddMeter(NodeMetrics.MeterName, JournalInstruments.MeterName).AddRuntimeInstrumentation().AddPrometheusExporter();
                // The runtime's ".count" gauges would end in "_count", which Prometheus keeps for histograms and
                // summaries (promtool check metrics flags them): exposed under plural names instead.
                foreach (var (runtimeName, exposedName) in RuntimeRenames) m.AddView(runtimeName, exposedName);
                if (options.OtlpEndpoint is { } otlp) m.AddOtlpExporter(o => o.Endpoint = new Uri(otlp));
            });
    }

    public void MapTo(WebApplication app)
    {
        app.MapGet(LivenessPath, () => Results.Text("alive\n"));
        app.MapGet(ReadinessPath, Ready);
        app.MapPrometheusScrapingEndpoint(MetricsPath);
    }

    private IResult Ready()
    {
        var report = health.Latest;
        var ready = report is { Status: HealthStatus.Healthy } && !health.Stopping;
        var body = new
        {
            status = ready ? "ready" : "not ready",
            node = options.NodeName,
            checks = (report?.Entries ?? new Dictionary<string, HealthReportEntry>())
                .ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
            reason = health.Stopping ? "the node is shutting down" : report is null ? "the node is starting: no check has run yet" : null,
        };
        return Results.Json(body, JsonOptions, statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
