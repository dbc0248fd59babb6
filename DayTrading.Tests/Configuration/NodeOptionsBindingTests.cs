using System.Collections;
using DayTrading.Host;
using DayTrading.Tests.Support;
using Xunit;

namespace DayTrading.Tests.Configuration;

/// <summary>
/// Each node setting is stated once (on <see cref="NodeOptions"/>): the command line, the DAYTRADING_* environment and
/// appsettings.json all bind to it, in that order of precedence, and the README's table is the one it generates.
/// </summary>
public sealed class NodeOptionsBindingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dt-options-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Dictionary<string, string?> NoCommandLine = [];

    private static NodeOptions Bind(IReadOnlyDictionary<string, string?> commandLine, IDictionary environment, string? settingsFile = null)
    {
        var (options, error) = NodeOptionsBinding.Bind(NodeOptionsBinding.Configuration(commandLine, environment, settingsFile));
        Assert.Null(error);
        return options!;
    }

    [Fact]
    public void Nothing_given_binds_the_declared_defaults()
    {
        var bound = Bind(NoCommandLine, new Hashtable(), Path.Combine(_dir, "missing.json"));
        var defaults = new NodeOptions();
        foreach (var o in NodeOptionsBinding.All)
        {
            var value = o.Property.GetValue(bound);
            var expected = o.Property.GetValue(defaults);
            if (expected is IEnumerable list and not string) Assert.Equal(list.Cast<object>(), ((IEnumerable)value!).Cast<object>());
            else Assert.Equal(expected, value);
        }
    }

    [Fact]
    public void The_command_line_wins_over_the_environment_which_wins_over_the_settings_file()
    {
        var file = Path.Combine(_dir, "appsettings.json");
        File.WriteAllText(file, """
            { "DayTrading": { "TcpPort": 5000, "NodeName": "from-file", "Shards": 7, "RequestTimeout": "00:00:12", "WebEnabled": false } }
            """);
        var environment = new Hashtable { ["DAYTRADING_TCP_PORT"] = "5001", ["DAYTRADING_NODE_NAME"] = "from-env", ["DAYTRADING_SEED_NODES"] = "a:1, b:2" };
        var commandLine = new Dictionary<string, string?> { ["--tcp-port"] = "5002", ["--trigger-refresh-seconds"] = "5", ["--tcp-admin"] = "false" };

        var options = Bind(commandLine, environment, file);

        Assert.Equal(5002, options.TcpPort);                              // command line over environment over file
        Assert.Equal("from-env", options.NodeName);                        // environment over file
        Assert.Equal(7, options.Shards);                                   // file over default
        Assert.Equal(TimeSpan.FromSeconds(12), options.RequestTimeout);    // a duration in the file
        Assert.False(options.WebEnabled);
        Assert.Equal(TimeSpan.FromSeconds(5), options.TriggerRefresh);     // seconds on the command line
        Assert.Equal(["a:1", "b:2"], options.SeedNodes);                   // a comma list
        Assert.False(options.TcpAdmin);
        Assert.Equal(new NodeOptions().WebPort, options.WebPort);          // untouched: the default
    }

    [Fact]
    public void The_admin_secret_comes_from_the_environment_only()
    {
        var options = Bind(new Dictionary<string, string?> { ["--admin-secret"] = "ignored" }, new Hashtable { ["DAYTRADING_ADMIN_SECRET"] = "s3cret-s3cret-s3cret" });
        Assert.Equal("s3cret-s3cret-s3cret", options.AdminSecret);
        Assert.DoesNotContain(NodeOptionsBinding.All, o => o.Name == "--admin-secret" && !o.Option.EnvironmentOnly);
    }

    [Theory]
    [InlineData("--tcp-port", "many", "--tcp-port (DAYTRADING_TCP_PORT) must be a whole number, not 'many'")]
    [InlineData("--request-timeout-seconds", "soon", "--request-timeout-seconds (DAYTRADING_REQUEST_TIMEOUT_SECONDS) must be a whole number of seconds, not 'soon'")]
    [InlineData("--audit", "maybe", "--audit (DAYTRADING_AUDIT) must be true or false, not 'maybe'")]
    public void A_value_that_is_not_of_its_kind_is_refused_naming_the_option(string option, string value, string error)
    {
        var environment = new Hashtable { [NodeOptionsBinding.All.Single(o => o.Name == option).EnvironmentVariable] = value };
        var (options, refused) = NodeOptionsBinding.Bind(NodeOptionsBinding.Configuration(NoCommandLine, environment, null));
        Assert.Null(options);
        Assert.Equal(error, refused);
    }

    [Fact]
    public void Every_setting_has_its_own_option_and_environment_variable_and_durations_say_their_unit()
    {
        Assert.Equal(NodeOptionsBinding.All.Count, NodeOptionsBinding.All.Select(o => o.Name).Distinct().Count());
        Assert.Equal(NodeOptionsBinding.All.Count, NodeOptionsBinding.All.Select(o => o.EnvironmentVariable).Distinct().Count());
        Assert.All(NodeOptionsBinding.All.Where(o => o.ValueType == typeof(TimeSpan)), o => Assert.EndsWith("-seconds", o.Name));
        // Every settable property of NodeOptions is a declared setting: nothing is configured behind the table's back.
        Assert.All(typeof(NodeOptions).GetProperties().Where(p => p.SetMethod is not null),
            p => Assert.Contains(NodeOptionsBinding.All, o => o.Property == p));
    }

    [Fact]
    public void The_README_table_is_the_generated_one()
    {
        var root = SharedData.RepoRoot;
        if (root is null) Assert.Skip("README.md not found: DayTrading.sln is not above the test binaries");
        var readme = File.ReadAllText(Path.Combine(root!, "README.md")).ReplaceLineEndings("\n");
        const string begin = "<!-- options:begin -->\n", end = "<!-- options:end -->";
        var from = readme.IndexOf(begin, StringComparison.Ordinal);
        var to = readme.IndexOf(end, StringComparison.Ordinal);
        Assert.True(from >= 0 && to > from, "README.md lacks the options:begin / options:end markers");
        Assert.Equal(NodeOptionsBinding.MarkdownTable(), readme[(from + begin.Length)..to]);
    }

    [Theory]
    [InlineData("config", "", "", "--discovery config needs --discovery-endpoints host:port,… (every node's management endpoint)")]
    [InlineData("config", "127.0.0.1:8558,127.0.0.1:8559", "127.0.0.1:4441", "--discovery config forms the cluster without --seed-nodes: give one or the other")]
    [InlineData("config", "127.0.0.1:x", "", "--discovery-endpoints takes host:port pairs, not '127.0.0.1:x'")]
    [InlineData("kubernetes-api", "", "127.0.0.1:4441", "--discovery kubernetes-api forms the cluster without --seed-nodes: give one or the other")]
    [InlineData("dns", "", "", "--discovery must be seed-nodes, config or kubernetes-api, not 'dns'")]
    public void Discovery_settings_that_cannot_form_a_cluster_are_refused_with_the_reason(string discovery, string endpoints, string seeds, string error)
    {
        var options = new NodeOptions
        {
            Journal = "postgresql", ConnectionString = "Host=localhost", Discovery = discovery,
            DiscoveryEndpoints = endpoints.Length == 0 ? [] : endpoints.Split(','), SeedNodes = seeds.Length == 0 ? [] : seeds.Split(','),
        };
        Assert.Equal(error, options.Validate());
    }

    [Fact]
    public void Bootstrap_waits_for_every_listed_endpoint_or_the_number_given()
    {
        var config = new NodeOptions { Journal = "postgresql", ConnectionString = "Host=localhost", Discovery = "config", DiscoveryEndpoints = ["a:1", "b:1", "c:1", "d:1"] };
        Assert.Null(config.Validate());
        Assert.Equal(4, config.EffectiveRequiredContactPoints);
        Assert.Equal(2, (config with { DiscoveryRequiredContactPoints = 2 }).EffectiveRequiredContactPoints);
        var kubernetes = new NodeOptions { Journal = "postgresql", ConnectionString = "Host=localhost", Discovery = "kubernetes-api" };
        Assert.Null(kubernetes.Validate());
        Assert.Equal(3, kubernetes.EffectiveRequiredContactPoints);
        Assert.Equal("--discovery-required-contact-points must be between 1 and 1000", (kubernetes with { DiscoveryRequiredContactPoints = 0 }).Validate());
    }

    [Fact]
    public void The_Redis_journal_needs_its_server_and_its_options_need_the_Redis_journal()
    {
        Assert.Equal("--journal redis needs --redis host:port", new NodeOptions { Journal = "redis" }.Validate());
        Assert.Equal("--redis and --redis-unsafe go with --journal redis", new NodeOptions { Redis = "127.0.0.1:6390" }.Validate());
        Assert.Equal("--redis and --redis-unsafe go with --journal redis", new NodeOptions { RedisUnsafe = true }.Validate());
        var redis = new NodeOptions { Journal = "redis", Redis = "127.0.0.1:6390" };
        Assert.Null(redis.Validate());
        Assert.Equal("127.0.0.1:6390", redis.EffectiveConnectionString());
    }
}
