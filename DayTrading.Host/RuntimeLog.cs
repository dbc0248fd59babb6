using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;
using Microsoft.Extensions.Logging;

namespace DayTrading.Host;

/// <summary>
/// The runtime log (SPEC §5, separate from the audit log): one line per event with its level and the source that
/// emitted it (logger category: the class, or for Akka the actor path and class), to the console and to a file
/// rolling daily or at 50 MB under <c>&lt;data-dir&gt;/logs</c>. Akka's own logging is routed through it.
/// </summary>
public static class RuntimeLog
{
    private const string Template = "{Timestamp:yyyy-MM-dd HH:mm:ss.fff} {Level:u3} [{SourceContext}] {Message:lj}{NewLine}{Exception}";

    public static readonly string[] Levels = ["Verbose", "Debug", "Information", "Warning", "Error"];

    public static void Configure(HostApplicationBuilder builder, NodeOptions options)
    {
        var level = Enum.Parse<LogEventLevel>(options.LogLevel, ignoreCase: true);
        var file = Path.Combine(options.DataDirectory, "logs", $"{options.NodeName}-.log");
        // preserveStaticLogger: the node's log is its host's, not Serilog's process-wide Log.Logger (nodes in one
        // process, as in the tests, each keep their own file).
        builder.Services.AddSerilog(preserveStaticLogger: true, configureLogger: lc => lc
            .MinimumLevel.Is(level)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            // Every failing check, every second, while the node is not ready: NodeHealth logs the changes instead.
            .MinimumLevel.Override("Microsoft.Extensions.Diagnostics.HealthChecks", LogEventLevel.Fatal)
            .Enrich.FromLogContext()
            .WriteTo.Console(outputTemplate: Template, standardErrorFromLevel: LogEventLevel.Error)
            .WriteTo.File(file, outputTemplate: Template, rollingInterval: RollingInterval.Day, fileSizeLimitBytes: 50 * 1024 * 1024,
                rollOnFileSizeLimit: true, retainedFileCountLimit: 20, buffered: false));
    }

    public static Akka.Event.LogLevel AkkaLevel(string level) => Enum.Parse<LogEventLevel>(level, ignoreCase: true) switch
    {
        LogEventLevel.Verbose or LogEventLevel.Debug => Akka.Event.LogLevel.DebugLevel,
        LogEventLevel.Information => Akka.Event.LogLevel.InfoLevel,
        LogEventLevel.Warning => Akka.Event.LogLevel.WarningLevel,
        _ => Akka.Event.LogLevel.ErrorLevel,
    };
}

/// <summary>
/// Akka's logger: writes each Akka log event to the node's runtime log (its host's <see cref="ILoggerFactory"/>, which
/// Akka.Hosting hands the actor system) with the event's class as the category and the emitting actor's path, so a
/// line says exactly where it came from.
/// </summary>
public sealed class AkkaRuntimeLogger : Akka.Actor.ReceiveActor, Akka.Dispatch.IRequiresMessageQueue<Akka.Event.ILoggerMessageQueueSemantics>
{
    public AkkaRuntimeLogger()
    {
        var factory = Context.System.Settings.Setup.Get<Akka.Hosting.Logging.LoggerFactorySetup>() is { HasValue: true } setup
            ? setup.Value.LoggerFactory
            : Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
        Receive<Akka.Event.LogEvent>(e =>
        {
            var level = e.LogLevel() switch
            {
                Akka.Event.LogLevel.DebugLevel => LogLevel.Debug,
                Akka.Event.LogLevel.InfoLevel => LogLevel.Information,
                Akka.Event.LogLevel.WarningLevel => LogLevel.Warning,
                _ => LogLevel.Error,
            };
            var source = e.LogClass is null || e.LogClass == typeof(Akka.Event.DummyClassForStringSources) ? "Akka" : e.LogClass.FullName ?? "Akka";
            var logger = factory.CreateLogger(source);
            if (!logger.IsEnabled(level)) return;
            var cause = e is Akka.Event.Error err ? err.Cause : null;
#pragma warning disable CA2254 // the template is constant; the analyzer cannot see through the local
            logger.Log(level, cause, "{LogSource}: {Message}", e.LogSource, e.Message?.ToString());
#pragma warning restore CA2254
        });
        Receive<Akka.Event.InitializeLogger>(_ => Sender.Tell(new Akka.Event.LoggerInitialized(), Self));
    }
}
