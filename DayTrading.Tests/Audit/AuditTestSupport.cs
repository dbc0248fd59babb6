using System.Runtime.CompilerServices;
using System.Xml;
using System.Xml.Linq;
using System.Xml.Schema;
using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Persistence;
using DayTrading.Quotes;
using DayTrading.Tests.Support;

namespace DayTrading.Tests.Audit;

/// <summary>The course schema, compiled with only its semester-bound timestamp window widened (SPEC §5).</summary>
internal static class AuditSchema
{
    private const string Xsd = "http://www.w3.org/2001/XMLSchema";

    /// <summary>logfile.xsd as shipped (timestamps must fall in the 2017 semester).</summary>
    public static XmlSchemaSet Strict() => Compile(XDocument.Load(SharedData.PathOf("logfile.xsd")));

    /// <summary>logfile.xsd with <c>unixTimeLimits</c> widened to [0, 10^14); every other rule unchanged.</summary>
    public static XmlSchemaSet Relaxed()
    {
        var doc = XDocument.Load(SharedData.PathOf("logfile.xsd"));
        XNamespace xs = Xsd;
        var restriction = doc.Root!.Elements(xs + "simpleType").Single(e => (string?)e.Attribute("name") == "unixTimeLimits")
            .Element(xs + "restriction")!;
        restriction.Element(xs + "minInclusive")!.SetAttributeValue("value", "0");
        restriction.Element(xs + "maxInclusive")!.SetAttributeValue("value", "99999999999999");
        return Compile(doc);
    }

    private static XmlSchemaSet Compile(XDocument doc)
    {
        var set = new XmlSchemaSet();
        using (var reader = doc.CreateReader()) set.Add(null, reader);
        set.Compile();
        return set;
    }

    /// <summary>Validates a file, streaming; returns the problems (at most 20) and the number of entries per element name.</summary>
    public static (List<string> Errors, Dictionary<string, long> Counts) Validate(string path, XmlSchemaSet schemas)
    {
        var errors = new List<string>();
        var counts = new Dictionary<string, long>();
        var settings = new XmlReaderSettings
        {
            ValidationType = ValidationType.Schema,
            Schemas = schemas,
            ValidationFlags = XmlSchemaValidationFlags.ReportValidationWarnings | XmlSchemaValidationFlags.ProcessIdentityConstraints,
            DtdProcessing = DtdProcessing.Prohibit,
        };
        settings.ValidationEventHandler += (_, e) =>
        {
            if (errors.Count < 20) errors.Add($"{e.Severity} line {e.Exception?.LineNumber}: {e.Message}");
        };
        using var reader = XmlReader.Create(path, settings);
        while (reader.Read())
        {
            if (reader is { NodeType: XmlNodeType.Element, Depth: 1 })
                counts[reader.LocalName] = counts.GetValueOrDefault(reader.LocalName) + 1;
        }
        return (errors, counts);
    }
}

/// <summary>An event log held as a function of the ordering, produced page by page on demand (nothing retained).</summary>
internal sealed class FakeEventLogReader(long total, Func<long, EventLogEntry> eventAt, Action<int>? onPage = null) : IEventLogReader
{
    public int Pages { get; private set; }

    public Task<IReadOnlyList<EventLogEntry>> ReadPageAsync(long afterOrdering, int pageSize = 1000, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var n = (int)Math.Max(0, Math.Min(pageSize, total - afterOrdering));
        var page = new EventLogEntry[n];
        for (var i = 0; i < n; i++) page[i] = eventAt(afterOrdering + i + 1);
        onPage?.Invoke(++Pages);
        return Task.FromResult<IReadOnlyList<EventLogEntry>>(page);
    }

    public async IAsyncEnumerable<EventLogEntry> ReadAllAsync(long afterOrdering = 0, int pageSize = 1000, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var offset = afterOrdering;
        while (true)
        {
            var page = await ReadPageAsync(offset, pageSize, ct);
            foreach (var e in page) yield return e;
            if (page.Count < pageSize) yield break;
            offset = page[^1].Ordering;
        }
    }

    public static FakeEventLogReader Of(IReadOnlyList<(string Pid, object Event)> events) =>
        new(events.Count, o => Entry(o, events[(int)o - 1].Pid, events[(int)o - 1].Event));

    public static EventLogEntry Entry(long ordering, string pid, object payload) =>
        new(ordering, pid, ordering, DateTimeOffset.FromUnixTimeMilliseconds(SyntheticLog.T0), payload, "", false);

    public void Dispose()
    {
    }
}

/// <summary>Synthetic journal events: every entry kind, all sixteen commands, and a large repeating pattern.</summary>
internal static class SyntheticLog
{
    public const long T0 = 1_764_072_000_000; // 2025-11-25
    public const string Server = "node1";

    public static CommandHandled Cmd(long tx, CommandKind kind, string? sym = null, decimal amount = 0, string? file = null,
        string? error = null, params AccountChange[] changes) =>
        new(T0 + tx, Server, tx, null, kind, sym, amount, file, error, null, changes);

    public static QuoteFetched Quote(long tx, string user, string sym, decimal price) =>
        new(T0 + tx, Server, tx, new Quote(sym, price, user, T0 + tx - 5, "Xk" + sym + "="));

    /// <summary>A small log holding every entry kind, every command (success and error), and the awkward cases.</summary>
    public static List<(string Pid, object Event)> EveryKind()
    {
        const string a = "account-alice";
        var list = new List<(string, object)>();
        long tx = 0;
        foreach (var kind in Enum.GetValues<CommandKind>())
        {
            var sym = kind is CommandKind.Add or CommandKind.CommitBuy or CommandKind.CancelBuy or CommandKind.CommitSell
                or CommandKind.CancelSell or CommandKind.DumpLog or CommandKind.DisplaySummary ? null : "ABC";
            var amount = AuditProjection.HasFunds(kind) ? 100.5m : 0m;
            var file = kind == CommandKind.DumpLog ? "./aliceLOG" : null;
            AccountChange[] changes = kind switch
            {
                CommandKind.Add => [new CashAdded(100.5m)],
                CommandKind.CommitBuy => [new BuyCommitted(1, "ABC", 3, 30.30m)],
                CommandKind.CommitSell => [new SellCommitted(2, "ABC", 2, 20.20m)],
                CommandKind.Buy => [new BuyReserved(1, "ABC", 3, 10.10m, T0, T0 + 60_000)],
                CommandKind.CancelBuy => [new BuyReleased(1, "ABC", 30.30m, ReleaseReason.Cancelled, 3)],
                _ => [],
            };
            list.Add((a, Cmd(++tx, kind, sym, amount, file, null, changes)));
            list.Add((a, Cmd(++tx, kind, sym, amount, file, $"{kind.Name()} failed on purpose")));
        }
        list.Add((a, Cmd(++tx, CommandKind.Buy, "ABCD", 12.345m, error: "'ABCD' is not a stock symbol; 12.345 has three decimals")));
        list.Add((a, Cmd(++tx, CommandKind.Add, amount: -5m, error: "bad \u0001 control char and \ud800 lone surrogate <&>")));
        list.Add((a, new ReservationsExpired(T0 + 500, Server,
            [new BuyReleased(7, "ABC", 50.25m, ReleaseReason.Expired, 3), new SellReleased(8, "XY", 4, ReleaseReason.Expired, 6)])));
        var q = new QuoteUsed("ABC", 9.99m, T0, "key");
        list.Add((a, new TriggerExecuted(T0 + 600, Server, 21, q, new BuyTriggerFired("ABC", 9.99m, 10, 99.90m, 0.60m))));
        list.Add((a, new TriggerExecuted(T0 + 700, Server, 27, q, new SellTriggerFired("ABC", 11m, 5, 55.00m))));
        list.Add(("quote-manager", Quote(4, "alice", "ABC", 10.10m)));
        list.Add(("quote-manager", Quote(0, "alice", "XYZ", 1.01m))); // a trigger refresh: TxNum 0
        list.Add(("audit-node1", new RequestRejected(T0 + 800, Server, 90, null, "BUY", "bob", "AB", 12.345m, null, "'12.345' has more than two decimals")));
        list.Add(("audit-node1", new RequestRejected(T0 + 801, Server, 91, null, "FOO", "bob", null, null, null, "unknown command")));
        list.Add(("audit-node1", new RequestRejected(T0 + 802, Server, 0, null, null, null, "TOOLONG", null, null, "line is not valid UTF-8")));
        list.Add(("audit-node1", new AdminDumpRequested(T0 + 900, Server, 92, null, "./testLOG", null)));
        list.Add(("audit-node1", new AdminDumpRequested(T0 + 901, Server, 93, null, "../escape", "file name contains '..'")));
        list.Add(("/system/sharding/accountCoordinator", "some other journal payload"));
        return list;
    }

    public const int Users = 100;
    public const int Cycle = 10;
    public const int AdminEveryCycles = 50;

    /// <summary>
    /// Event <paramref name="ordering"/> (1-based) of a large log built from a 10-event cycle for user <c>u{cycle % 100}</c>:
    /// ADD, QUOTE, quote hit, BUY, COMMIT_BUY, failed SELL, expiry (buy + sell), buy trigger fire, rejected unknown
    /// command, and an admin dump every 50th cycle (otherwise a payload that is not the audit's).
    /// Per cycle: 5 userCommand (+1 admin), 3 accountTransaction, 1 quoteServer, 3 systemEvent, 2 errorEvent.
    /// </summary>
    public static EventLogEntry Large(long ordering)
    {
        var i = ordering - 1;
        var cycle = i / Cycle;
        var user = "u" + (cycle % Users);
        var pid = AuditProjection.AccountPersistenceIdPrefix + user;
        var tx = i + 1;
        (string Pid, object Event) e = (i % Cycle) switch
        {
            0 => (pid, Cmd(tx, CommandKind.Add, amount: 1000m, changes: new CashAdded(1000m))),
            1 => (pid, Cmd(tx, CommandKind.Quote, "ABC")),
            2 => ("quote-manager", Quote(tx, user, "ABC", 12.34m)),
            3 => (pid, Cmd(tx, CommandKind.Buy, "ABC", 100m, changes: new BuyReserved(cycle, "ABC", 8, 12.34m, T0, T0 + 60_000))),
            4 => (pid, Cmd(tx, CommandKind.CommitBuy, changes: new BuyCommitted(cycle, "ABC", 8, 98.72m))),
            5 => (pid, Cmd(tx, CommandKind.Sell, "ABC", 5000m, error: "insufficient shares")),
            6 => (pid, new ReservationsExpired(T0 + tx, Server,
                [new BuyReleased(cycle, "DEF", 10m, ReleaseReason.Expired, tx - 3), new SellReleased(cycle, "ABC", 1, ReleaseReason.Expired, tx - 1)])),
            7 => (pid, new TriggerExecuted(T0 + tx, Server, tx - 2, new QuoteUsed("GH", 5m, T0, "k"), new BuyTriggerFired("GH", 5m, 3, 15m, 0.5m))),
            8 => ("audit-node1", new RequestRejected(T0 + tx, Server, tx, null, "BUYY", user, null, null, null, "unknown command")),
            _ => cycle % AdminEveryCycles == 0
                ? ("audit-node1", new AdminDumpRequested(T0 + tx, Server, tx, null, "adminLOG", null))
                : ("/system/sharding/x", (object)"not an audit event"),
        };
        return FakeEventLogReader.Entry(ordering, e.Pid, e.Event);
    }
}
