using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace DayTrading.Host;

/// <summary>
/// Marks a <see cref="NodeOptions"/> property as a node setting: <paramref name="name"/> is its command-line option;
/// its environment variable is derived from it (<c>--tcp-port</c> → <c>DAYTRADING_TCP_PORT</c>). A
/// <see cref="TimeSpan"/> setting is given in seconds (its name ends in <c>-seconds</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class NodeOptionAttribute(string name, string description) : Attribute
{
    public string Name { get; } = name;
    public string Description { get; } = description;

    /// <summary>The default as the README says it, where the initializer's value alone would not say it (null: that value).</summary>
    public string? Default { get; init; }

    /// <summary>Read from the environment (or appsettings.json) only: no command-line option.</summary>
    public bool EnvironmentOnly { get; init; }
}

/// <summary>One node setting as <see cref="NodeOptionsBinding"/> sees it.</summary>
public sealed record NodeOptionInfo(PropertyInfo Property, NodeOptionAttribute Option)
{
    public string Name => Option.Name;

    public string EnvironmentVariable => "DAYTRADING_" + Option.Name.TrimStart('-').Replace('-', '_').ToUpperInvariant();

    /// <summary>The key under <see cref="NodeOptionsBinding.Section"/> (appsettings.json: the property's name).</summary>
    public string Key => NodeOptionsBinding.Section + ":" + Property.Name;

    public Type ValueType => Nullable.GetUnderlyingType(Property.PropertyType) ?? Property.PropertyType;

    public bool IsFlag => ValueType == typeof(bool);

    /// <summary>The default as a user writes it on the command line (null: none).</summary>
    public string? DefaultText => Property.GetValue(new NodeOptions()) switch
    {
        null => null,
        TimeSpan t => ((long)t.TotalSeconds).ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IEnumerable e and not string => string.Join(',', e.Cast<object>()) is { Length: > 0 } list ? list : null,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        var v => v.ToString() is { Length: > 0 } text ? text : null,
    };
}

/// <summary>
/// Binds <see cref="NodeOptions"/> from <see cref="IConfiguration"/>: an optional appsettings.json (section
/// <c>DayTrading</c>, keys the property names), the DAYTRADING_* environment over it, the command line over both.
/// </summary>
public static class NodeOptionsBinding
{
    public const string Section = "DayTrading";

    /// <summary>Every node setting, in the order <see cref="NodeOptions"/> declares them.</summary>
    public static readonly IReadOnlyList<NodeOptionInfo> All = typeof(NodeOptions).GetProperties()
        .Where(p => p.GetCustomAttribute<NodeOptionAttribute>() is not null)
        .OrderBy(p => p.MetadataToken)
        .Select(p => new NodeOptionInfo(p, p.GetCustomAttribute<NodeOptionAttribute>()!))
        .ToArray();

    /// <summary>
    /// The configuration of a node: <paramref name="settingsFile"/> if it exists, then <paramref name="environment"/>'s
    /// DAYTRADING_* variables, then <paramref name="commandLine"/> (option name → text as given).
    /// </summary>
    public static IConfiguration Configuration(IReadOnlyDictionary<string, string?> commandLine, IDictionary environment, string? settingsFile)
    {
        var fromEnvironment = new Dictionary<string, string?>();
        var fromCommandLine = new Dictionary<string, string?>();
        foreach (var o in All)
        {
            if (environment[o.EnvironmentVariable] is string env && env.Length > 0) Put(fromEnvironment, o, env);
            if (!o.Option.EnvironmentOnly && commandLine.TryGetValue(o.Name, out var given) && given is not null) Put(fromCommandLine, o, given);
        }
        var builder = new ConfigurationBuilder();
        if (settingsFile is not null) builder.AddJsonFile(Path.GetFullPath(settingsFile), optional: true, reloadOnChange: false);
        return builder.AddInMemoryCollection(fromEnvironment).AddInMemoryCollection(fromCommandLine).Build();
    }

    /// <summary>The options <paramref name="configuration"/> gives, or the first setting it gives that is not a value of its kind.</summary>
    public static (NodeOptions? Options, string? Error) Bind(IConfiguration configuration)
    {
        foreach (var o in All)
        {
            if (o.ValueType == typeof(string) || o.ValueType == typeof(IReadOnlyList<string>)) continue;
            if (configuration[o.Key] is { } text && !Parses(o.ValueType, text))
                return (null, $"{o.Name} ({o.EnvironmentVariable}) must be {Kind(o.ValueType)}, not '{text}'");
        }
        var options = configuration.GetSection(Section).Get<NodeOptions>() ?? new NodeOptions();
        return (options, null);
    }

    /// <summary>The README's configuration table (README.md says it is generated; a test keeps them equal).</summary>
    public static string MarkdownTable()
    {
        var sb = new StringBuilder();
        sb.Append("| option | environment | default | what it is for |\n|---|---|---|---|\n");
        foreach (var o in All)
        {
            var option = o.Option.EnvironmentOnly ? "—" : $"`{o.Name}`";
            var fallback = o.Option.Default ?? (o.DefaultText is { } d ? $"`{d}`" : "none");
            sb.Append(CultureInfo.InvariantCulture, $"| {option} | `{o.EnvironmentVariable}` | {fallback} | {o.Option.Description} |\n");
        }
        return sb.ToString();
    }

    // Text as a user gives it → text the configuration binder reads: seconds become a TimeSpan, a comma list an array.
    private static void Put(Dictionary<string, string?> into, NodeOptionInfo o, string text)
    {
        if (o.ValueType == typeof(IReadOnlyList<string>))
        {
            var items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            for (var i = 0; i < items.Length; i++) into[$"{o.Key}:{i}"] = items[i];
            return;
        }
        if (o.ValueType == typeof(TimeSpan))
        {
            into[o.Key] = int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
                ? TimeSpan.FromSeconds(seconds).ToString("c", CultureInfo.InvariantCulture)
                : text; // refused by Bind with the option's name
            return;
        }
        into[o.Key] = text;
    }

    private static bool Parses(Type type, string text) =>
        type == typeof(int) ? int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
        : type == typeof(long) ? long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
        : type == typeof(bool) ? bool.TryParse(text, out _)
        : type == typeof(TimeSpan) ? TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out _)
        : true;

    private static string Kind(Type type) =>
        type == typeof(bool) ? "true or false" : type == typeof(TimeSpan) ? "a whole number of seconds" : "a whole number";
}
