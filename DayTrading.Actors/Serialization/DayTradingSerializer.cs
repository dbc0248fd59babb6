using DayTrading.Binary;
using Akka.Actor;
using System.Runtime.Serialization;
using Akka.Serialization;
using DayTrading.Accounts;
using DayTrading.Audit;
using DayTrading.Cluster.Downing;
using DayTrading.Quotes;

namespace DayTrading.Serialization;

/// <summary>
/// The explicit binary serializer for every persisted event and every message that crosses nodes.
/// <para>
/// Manifests are versioned contracts: a persisted manifest (events, snapshots) is never changed once shipped; a new
/// shape gets a new manifest and the old one keeps being read. Change tags inside an event are contracts too.
/// </para>
/// </summary>
public sealed class DayTradingSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 580;

    // Persisted (never change meaning):
    internal const string CommandHandledV1 = "CH1"; // read only: before refusal reasons
    internal const string CommandHandledV2 = "CH2";
    internal const string ReservationsExpiredV1 = "RE1";
    internal const string TriggerExecutedV1 = "TE1";
    internal const string AccountSnapshotV1 = "AS1";
    internal const string AccountSnapshotV2 = "AS2"; // read only: holdings without their cost
    internal const string AccountSnapshotV3 = "AS3";
    internal const string QuoteFetchedV1 = "QF1";
    internal const string RequestRejectedV1 = "RR1";
    internal const string AdminDumpRequestedV1 = "AD1";
    internal const string DumpFailedV1 = "DF1";
    internal const string QuoteManagerSnapshotV1 = "QS1";
    internal const string AuditRecorderSnapshotV1 = "ARS1"; // read only: keys without fingerprints
    internal const string AuditRecorderSnapshotV2 = "ARS2";
    // Remote messages (both ends run the same build during a rolling upgrade window of one version):
    internal const string TradeRequestM = "TQ";
    internal const string TradeReplyM = "TP"; // read only: before typed replies
    internal const string TradeReplyV2M = "TP2";
    internal const string GatewayRequestM = "GRQ";
    internal const string GatewayReplyM = "GRP"; // read only: before typed replies
    internal const string GatewayReplyV2M = "GRP2";
    internal const string QuoteM = "Q";
    internal const string GetQuoteM = "GQ";
    internal const string QuoteResultM = "QR";
    internal const string ExecuteTriggerM = "XT";
    internal const string TriggerOutcomeM = "XO";
    internal const string GetQuoteStatsM = "GQS";
    internal const string QuoteStatsM = "QST";
    internal const string GetValidQuotesM = "GVQ";
    internal const string ValidQuotesM = "VQ";
    internal const string WriteDumpM = "WD"; // read only: before dumps had an id
    internal const string WriteDumpV2M = "WD2";
    internal const string DumpResultM = "DR";
    internal const string ReadDumpChunkM = "RDC";
    internal const string DumpChunkM = "DCK";
    internal const string AccountChangedM = "AC";
    internal const string GetAccountSummaryM = "GAS";
    internal const string AccountSummaryReplyM = "ASR";
    internal const string WakeAccountM = "WK";
    internal const string DowningGossipM = "DG";

    public override int Identifier => Id;

    /// <summary>The types this serializer is bound to (for the Akka.Hosting serializer registration).</summary>
    public static readonly Type[] BoundTypes =
    [
        typeof(AccountEvent), typeof(AccountSnapshot), typeof(TradeRequest), typeof(TradeReply), typeof(GatewayRequest), typeof(GatewayReply), typeof(Quote),
        typeof(GetQuote), typeof(QuoteResult), typeof(ExecuteTrigger), typeof(TriggerOutcome),
        typeof(QuoteFetched), typeof(RequestRejected), typeof(AdminDumpRequested), typeof(DumpFailed), typeof(QuoteManagerSnapshot), typeof(AuditRecorderSnapshot),
        typeof(GetQuoteStats), typeof(QuoteStats), typeof(GetValidQuotes), typeof(ValidQuotes),
        typeof(WriteDump), typeof(DumpResult), typeof(ReadDumpChunk), typeof(DumpChunk), typeof(AccountChanged), typeof(GetAccountSummary), typeof(AccountSummaryReply),
        typeof(WakeAccount), typeof(DowningGossip),
    ];

    public override string Manifest(object o) => o switch
    {
        CommandHandled => CommandHandledV2,
        ReservationsExpired => ReservationsExpiredV1,
        TriggerExecuted => TriggerExecutedV1,
        AccountSnapshot s => s.Version switch { 1 => AccountSnapshotV1, 2 => AccountSnapshotV2, _ => AccountSnapshotV3 },
        QuoteFetched => QuoteFetchedV1,
        RequestRejected => RequestRejectedV1,
        AdminDumpRequested => AdminDumpRequestedV1,
        DumpFailed => DumpFailedV1,
        QuoteManagerSnapshot => QuoteManagerSnapshotV1,
        AuditRecorderSnapshot ars => ars.Version == 1 ? AuditRecorderSnapshotV1 : AuditRecorderSnapshotV2,
        GetQuoteStats => GetQuoteStatsM,
        QuoteStats => QuoteStatsM,
        GetValidQuotes => GetValidQuotesM,
        ValidQuotes => ValidQuotesM,
        WriteDump => WriteDumpV2M,
        DumpResult => DumpResultM,
        ReadDumpChunk => ReadDumpChunkM,
        DumpChunk => DumpChunkM,
        AccountChanged => AccountChangedM,
        GetAccountSummary => GetAccountSummaryM,
        AccountSummaryReply => AccountSummaryReplyM,
        WakeAccount => WakeAccountM,
        DowningGossip => DowningGossipM,
        TradeRequest => TradeRequestM,
        TradeReply => TradeReplyV2M,
        GatewayRequest => GatewayRequestM,
        GatewayReply => GatewayReplyV2M,
        Quote => QuoteM,
        GetQuote => GetQuoteM,
        QuoteResult => QuoteResultM,
        ExecuteTrigger => ExecuteTriggerM,
        TriggerOutcome => TriggerOutcomeM,
        _ => throw new ArgumentException($"{nameof(DayTradingSerializer)} cannot serialize {o.GetType()}"),
    };

    public override byte[] ToBinary(object obj)
    {
        var w = BinaryWriterBuffer.Rent();
        switch (obj)
        {
            case CommandHandled c:
                w.VarLong(c.TimestampMs);
                w.String(c.Server);
                w.VarLong(c.TxNum);
                w.String(c.RunId);
                w.Byte((byte)c.Kind);
                w.String(c.Symbol);
                w.Decimal(c.Amount);
                w.String(c.FileName);
                w.String(c.Error);
                QuoteUsedEncoding.Write(w, c.Quote);
                WriteChanges(w, c.Changes);
                w.Byte((byte)c.Reason);
                break;
            case ReservationsExpired x:
                w.VarLong(x.TimestampMs);
                w.String(x.Server);
                WriteChanges(w, x.Changes);
                break;
            case TriggerExecuted t:
                w.VarLong(t.TimestampMs);
                w.String(t.Server);
                w.VarLong(t.TxNum);
                QuoteUsedEncoding.Write(w, t.Quote);
                WriteChange(w, t.Change);
                break;
            case AccountSnapshot s:
                return s.Bytes;
            case AuditRecorderSnapshot ars:
                return ars.Bytes;
            case QuoteFetched f:
                w.VarLong(f.TimestampMs);
                w.String(f.Server);
                w.VarLong(f.TxNum);
                WriteQuote(w, f.Quote);
                break;
            case RequestRejected x:
                w.VarLong(x.TimestampMs);
                w.String(x.Server);
                w.VarLong(x.TxNum);
                w.String(x.RunId);
                w.String(x.Command);
                w.String(x.UserId);
                w.String(x.Symbol);
                w.NullableDecimal(x.Funds);
                w.String(x.FileName);
                w.String(x.Reason);
                break;
            case AdminDumpRequested a:
                w.VarLong(a.TimestampMs);
                w.String(a.Server);
                w.VarLong(a.TxNum);
                w.String(a.RunId);
                w.String(a.FileName);
                w.String(a.Error);
                break;
            case DumpFailed f:
                w.VarLong(f.TimestampMs);
                w.String(f.Server);
                w.VarLong(f.TxNum);
                w.String(f.RunId);
                w.String(f.UserId);
                w.String(f.FileName);
                w.String(f.Error);
                break;
            case QuoteManagerSnapshot qs:
                w.VarLong(qs.Hits);
                WriteQuotes(w, qs.Latest);
                break;
            case GetQuoteStats:
            case GetValidQuotes:
                break;
            case QuoteStats st:
                w.VarLong(st.Hits);
                w.Decimal(st.Cost);
                w.VarInt(st.CachedSymbols);
                w.VarLong(st.Requests);
                break;
            case ValidQuotes vq:
                WriteQuotes(w, vq.Quotes);
                break;
            case WriteDump wd:
                w.String(wd.FileName);
                w.String(wd.UserId);
                w.String(wd.DumpId);
                break;
            case DumpResult dr:
                w.Bool(dr.Ok);
                w.String(dr.Text);
                break;
            case ReadDumpChunk rc:
                w.String(rc.FileName);
                w.String(rc.UserId);
                w.VarLong(rc.Offset);
                w.VarInt(rc.MaxBytes);
                w.VarLong(rc.ExpectedLength);
                w.VarLong(rc.ExpectedWriteTicks);
                w.VarLong(rc.ExpectedGeneration);
                break;
            case DumpChunk dc:
                w.Bool(dc.Ok);
                w.String(dc.Error);
                w.VarLong(dc.Offset);
                w.Bytes(dc.Data);
                w.VarLong(dc.TotalLength);
                w.VarLong(dc.WriteTicks);
                w.VarLong(dc.Generation);
                break;
            case AccountChanged ac:
                w.String(ac.UserId);
                break;
            case GetAccountSummary gs:
                w.String(gs.UserId);
                break;
            case AccountSummaryReply sr:
                w.String(sr.UserId);
                w.Bool(sr.Exists);
                w.String(sr.Json);
                break;
            case WakeAccount wa:
                w.String(wa.UserId);
                break;
            case DowningGossip dg:
                WriteDowningGossip(w, dg);
                break;
            case TradeRequest r:
                WriteRequest(w, r);
                break;
            case TradeReply p:
                WriteReply(w, p);
                break;
            case GatewayRequest g:
                w.VarLong(g.CorrelationId);
                WriteRequest(w, g.Request);
                break;
            case GatewayReply g:
                w.VarLong(g.CorrelationId);
                WriteReply(w, g.Reply);
                break;
            case Quote q:
                WriteQuote(w, q);
                break;
            case GetQuote g:
                w.String(g.Symbol);
                w.String(g.UserId);
                w.VarLong(g.TxNum);
                break;
            case QuoteResult qr:
                w.Bool(qr.Quote is not null);
                if (qr.Quote is not null) WriteQuote(w, qr.Quote);
                w.String(qr.Error);
                break;
            case ExecuteTrigger e:
                w.String(e.UserId);
                w.Byte((byte)e.Side);
                w.String(e.Symbol);
                w.VarLong(e.Version);
                WriteQuote(w, e.Quote);
                break;
            case TriggerOutcome o:
                w.String(o.UserId);
                w.Byte((byte)o.Side);
                w.String(o.Symbol);
                w.Bool(o.Executed);
                w.String(o.Reason);
                break;
            default:
                throw new ArgumentException($"{nameof(DayTradingSerializer)} cannot serialize {obj.GetType()}");
        }
        return w.ToArrayAndReturn();
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        var r = new BinaryReaderSpan(bytes);
        switch (manifest)
        {
            case CommandHandledV1:
            {
                var c = new CommandHandled(r.VarLong(), r.RequiredString(), r.VarLong(), r.String(), (CommandKind)r.Byte(),
                    r.String(), r.Decimal(), r.String(), r.String(), QuoteUsedEncoding.Read(ref r), ReadChanges(ref r));
                return c.Ok ? c : c with { Reason = LegacyRefusals.FromText(c.Error) };
            }
            case CommandHandledV2:
                return new CommandHandled(r.VarLong(), r.RequiredString(), r.VarLong(), r.String(), (CommandKind)r.Byte(),
                    r.String(), r.Decimal(), r.String(), r.String(), QuoteUsedEncoding.Read(ref r), ReadChanges(ref r), ReadReason(ref r));
            case ReservationsExpiredV1:
                return new ReservationsExpired(r.VarLong(), r.RequiredString(), ReadChanges(ref r));
            case TriggerExecutedV1:
                return new TriggerExecuted(r.VarLong(), r.RequiredString(), r.VarLong(), QuoteUsedEncoding.Read(ref r)!, ReadChange(ref r));
            case AccountSnapshotV1:
                return new AccountSnapshot(bytes, 1);
            case AccountSnapshotV2:
                return new AccountSnapshot(bytes, 2);
            case AccountSnapshotV3:
                return new AccountSnapshot(bytes, 3);
            case AuditRecorderSnapshotV1:
                return new AuditRecorderSnapshot(bytes, 1);
            case AuditRecorderSnapshotV2:
                return new AuditRecorderSnapshot(bytes, 2);
            case QuoteFetchedV1:
                return new QuoteFetched(r.VarLong(), r.RequiredString(), r.VarLong(), ReadQuote(ref r));
            case RequestRejectedV1:
                return new RequestRejected(r.VarLong(), r.RequiredString(), r.VarLong(), r.String(), r.String(), r.String(), r.String(),
                    r.NullableDecimal(), r.String(), r.RequiredString());
            case AdminDumpRequestedV1:
                return new AdminDumpRequested(r.VarLong(), r.RequiredString(), r.VarLong(), r.String(), r.RequiredString(), r.String());
            case DumpFailedV1:
                return new DumpFailed(r.VarLong(), r.RequiredString(), r.VarLong(), r.String(), r.String(), r.RequiredString(), r.RequiredString());
            case QuoteManagerSnapshotV1:
                return new QuoteManagerSnapshot(r.VarLong(), ReadQuotes(ref r));
            case GetQuoteStatsM:
                return GetQuoteStats.Instance;
            case GetValidQuotesM:
                return GetValidQuotes.Instance;
            case QuoteStatsM:
                return new QuoteStats(r.VarLong(), r.Decimal(), r.VarInt(), r.VarLong());
            case ValidQuotesM:
                return new ValidQuotes(ReadQuotes(ref r));
            case WriteDumpM:
                return new WriteDump(r.RequiredString(), r.String());
            case WriteDumpV2M:
                return new WriteDump(r.RequiredString(), r.String(), r.String());
            case DumpResultM:
                return new DumpResult(r.Bool(), r.RequiredString());
            case ReadDumpChunkM:
                return new ReadDumpChunk(r.RequiredString(), r.String(), r.VarLong(), r.VarInt(), r.VarLong(), r.VarLong(), r.VarLong());
            case DumpChunkM:
                return new DumpChunk(r.Bool(), r.String(), r.VarLong(), r.Bytes(), r.VarLong(), r.VarLong(), r.VarLong());
            case AccountChangedM:
                return new AccountChanged(r.RequiredString());
            case GetAccountSummaryM:
                return new GetAccountSummary(r.RequiredString());
            case AccountSummaryReplyM:
                return new AccountSummaryReply(r.RequiredString(), r.Bool(), r.String());
            case WakeAccountM:
                return new WakeAccount(r.RequiredString());
            case DowningGossipM:
                return ReadDowningGossip(ref r);
            case TradeRequestM:
                return ReadRequest(ref r);
            case TradeReplyM:
                return ReadReplyV1(ref r);
            case TradeReplyV2M:
                return ReadReply(ref r);
            case GatewayRequestM:
                return new GatewayRequest(r.VarLong(), ReadRequest(ref r));
            case GatewayReplyM:
                return new GatewayReply(r.VarLong(), ReadReplyV1(ref r));
            case GatewayReplyV2M:
                return new GatewayReply(r.VarLong(), ReadReply(ref r));
            case QuoteM:
                return ReadQuote(ref r);
            case GetQuoteM:
                return new GetQuote(r.RequiredString(), r.RequiredString(), r.VarLong());
            case QuoteResultM:
            {
                var q = r.Bool() ? ReadQuote(ref r) : null;
                return new QuoteResult(q, r.String());
            }
            case ExecuteTriggerM:
                return new ExecuteTrigger(r.RequiredString(), (TradeSide)r.Byte(), r.RequiredString(), r.VarLong(), ReadQuote(ref r));
            case TriggerOutcomeM:
                return new TriggerOutcome(r.RequiredString(), (TradeSide)r.Byte(), r.RequiredString(), r.Bool(), r.String());
            default:
                throw new SerializationException($"{nameof(DayTradingSerializer)} does not know manifest '{manifest}'");
        }
    }

    // TP2 / GRP2: TP's fields, then the reason, the quote used and the shares.
    private static void WriteReply(BinaryWriterBuffer w, TradeReply p)
    {
        w.VarLong(p.TxNum);
        w.Byte((byte)p.Kind);
        w.Bool(p.Ok);
        w.String(p.Error);
        // A UTF-8 body goes as it is: the same encoding as a string field (length + 1, then the bytes).
        if (p.Utf8Body is { } utf8) w.Utf8String(utf8);
        else w.String(p.Body);
        w.Byte((byte)p.Reason);
        QuoteUsedEncoding.Write(w, p.Quote);
        w.VarInt(p.Shares);
    }

    private static TradeReply ReadReply(ref BinaryReaderSpan r)
    {
        var (tx, kind, ok, error) = (r.VarLong(), (CommandKind)r.Byte(), r.Bool(), r.String());
        // A summary stays UTF-8 on this side too (the edge copies it); other bodies are short and read as text.
        if (ok && kind == CommandKind.DisplaySummary && r.Utf8String() is { } utf8)
        {
            r.Byte();
            QuoteUsedEncoding.Read(ref r);
            r.VarInt();
            return TradeReply.Success(tx, kind, utf8);
        }
        var body = ok && kind == CommandKind.DisplaySummary ? null : r.String();
        return new TradeReply(tx, kind, ok, error, body, ReadReason(ref r), QuoteUsedEncoding.Read(ref r), r.VarInt());
    }

    // TP / GRP, from a node of an earlier version: no reason (read from the text) and no quote fields.
    private static TradeReply ReadReplyV1(ref BinaryReaderSpan r)
    {
        var (tx, kind, ok, error) = (r.VarLong(), (CommandKind)r.Byte(), r.Bool(), r.String());
        if (!ok || kind != CommandKind.DisplaySummary) return new TradeReply(tx, kind, ok, error, r.String(), ok ? RefusalReason.None : LegacyRefusals.FromText(error));
        return r.Utf8String() is { } utf8 ? TradeReply.Success(tx, kind, utf8) : new TradeReply(tx, kind, ok, error);
    }

    private static RefusalReason ReadReason(ref BinaryReaderSpan r)
    {
        var b = r.Byte();
        return Enum.IsDefined((RefusalReason)b) ? (RefusalReason)b : RefusalReason.NotDone;
    }

    internal static void WriteRequest(BinaryWriterBuffer w, TradeRequest r)
    {
        w.VarLong(r.TxNum);
        w.Byte((byte)r.Kind);
        w.String(r.UserId);
        w.String(r.Symbol);
        w.Decimal(r.Amount);
        w.String(r.FileName);
        w.String(r.RunId);
    }

    internal static TradeRequest ReadRequest(ref BinaryReaderSpan r) =>
        new(r.VarLong(), (CommandKind)r.Byte(), r.String(), r.String(), r.Decimal(), r.String(), r.String());

    private static void WriteDowningGossip(BinaryWriterBuffer w, DowningGossip g)
    {
        w.String(g.From);
        w.VarInt(g.Reports.Count);
        foreach (var report in g.Reports)
        {
            w.String(report.Observer);
            w.VarLong(report.Version);
            w.VarInt(report.Subjects.Count);
            foreach (var s in report.Subjects)
            {
                w.String(s.Subject);
                w.Bool(s.Unreachable);
                w.VarInt(s.Strikes);
            }
        }
    }

    private static DowningGossip ReadDowningGossip(ref BinaryReaderSpan r)
    {
        var from = r.RequiredString();
        var reports = new ObserverReport[r.VarInt()];
        for (var i = 0; i < reports.Length; i++)
        {
            var observer = r.RequiredString();
            var version = r.VarLong();
            var subjects = new SubjectReport[r.VarInt()];
            for (var j = 0; j < subjects.Length; j++) subjects[j] = new SubjectReport(r.RequiredString(), r.Bool(), r.VarInt());
            reports[i] = new ObserverReport(observer, version, subjects);
        }
        return new DowningGossip(from, reports);
    }

    internal static void WriteQuote(BinaryWriterBuffer w, Quote q)
    {
        w.String(q.Symbol);
        w.Decimal(q.Price);
        w.String(q.UserId);
        w.VarLong(q.TimestampMs);
        w.String(q.CryptoKey);
    }

    internal static Quote ReadQuote(ref BinaryReaderSpan r) =>
        new(r.RequiredString(), r.Decimal(), r.RequiredString(), r.VarLong(), r.RequiredString());

    private static void WriteQuotes(BinaryWriterBuffer w, IReadOnlyList<Quote> quotes)
    {
        w.VarInt(quotes.Count);
        foreach (var q in quotes) WriteQuote(w, q);
    }

    private static Quote[] ReadQuotes(ref BinaryReaderSpan r)
    {
        var result = new Quote[r.VarInt()];
        for (var i = 0; i < result.Length; i++) result[i] = ReadQuote(ref r);
        return result;
    }

    private static void WriteChanges(BinaryWriterBuffer w, AccountChange[] changes)
    {
        w.VarInt(changes.Length);
        foreach (var c in changes) WriteChange(w, c);
    }

    private static AccountChange[] ReadChanges(ref BinaryReaderSpan r)
    {
        var n = r.VarInt();
        if (n == 0) return [];
        var result = new AccountChange[n];
        for (var i = 0; i < n; i++) result[i] = ReadChange(ref r);
        return result;
    }

    // Change tags are part of the persisted contract.
    private const byte TagCashAdded = 1, TagBuyReserved = 2, TagBuyCommitted = 3, TagBuyReleased = 4, TagSellReserved = 5,
        TagSellCommitted = 6, TagSellReleased = 7, TagBuyAmountSet = 8, TagBuyTriggerSet = 9, TagBuyTriggerCancelled = 10,
        TagBuyTriggerFired = 11, TagSellAmountSet = 12, TagSellTriggerSet = 13, TagSellTriggerCancelled = 14, TagSellTriggerFired = 15;

    private static void WriteChange(BinaryWriterBuffer w, AccountChange change)
    {
        switch (change)
        {
            case CashAdded a: w.Byte(TagCashAdded); w.Decimal(a.Amount); break;
            case BuyReserved b:
                w.Byte(TagBuyReserved); w.VarLong(b.OrderId); w.String(b.Symbol); w.VarInt(b.Shares); w.Decimal(b.Price); w.VarLong(b.IssuedMs); w.VarLong(b.ExpiresMs);
                break;
            case BuyCommitted b: w.Byte(TagBuyCommitted); w.VarLong(b.OrderId); w.String(b.Symbol); w.VarInt(b.Shares); w.Decimal(b.Cost); break;
            case BuyReleased b: w.Byte(TagBuyReleased); w.VarLong(b.OrderId); w.String(b.Symbol); w.Decimal(b.Cost); w.Byte((byte)b.Reason); w.VarLong(b.TxNum); break;
            case SellReserved s:
                w.Byte(TagSellReserved); w.VarLong(s.OrderId); w.String(s.Symbol); w.VarInt(s.Shares); w.Decimal(s.Price); w.VarLong(s.IssuedMs); w.VarLong(s.ExpiresMs);
                break;
            case SellCommitted s: w.Byte(TagSellCommitted); w.VarLong(s.OrderId); w.String(s.Symbol); w.VarInt(s.Shares); w.Decimal(s.Proceeds); break;
            case SellReleased s: w.Byte(TagSellReleased); w.VarLong(s.OrderId); w.String(s.Symbol); w.VarInt(s.Shares); w.Byte((byte)s.Reason); w.VarLong(s.TxNum); break;
            case BuyAmountSet b: w.Byte(TagBuyAmountSet); w.String(b.Symbol); w.Decimal(b.Reserve); w.Decimal(b.CashMoved); break;
            case BuyTriggerSet b: w.Byte(TagBuyTriggerSet); w.String(b.Symbol); w.Decimal(b.Price); break;
            case BuyTriggerCancelled b: w.Byte(TagBuyTriggerCancelled); w.String(b.Symbol); w.Decimal(b.Refund); break;
            case BuyTriggerFired b: w.Byte(TagBuyTriggerFired); w.String(b.Symbol); w.Decimal(b.Price); w.VarInt(b.Shares); w.Decimal(b.Cost); w.Decimal(b.Refund); break;
            case SellAmountSet s: w.Byte(TagSellAmountSet); w.String(s.Symbol); w.Decimal(s.Amount); w.VarInt(s.ReservedShares); break;
            case SellTriggerSet s: w.Byte(TagSellTriggerSet); w.String(s.Symbol); w.Decimal(s.Price); w.VarInt(s.ReservedShares); break;
            case SellTriggerCancelled s: w.Byte(TagSellTriggerCancelled); w.String(s.Symbol); w.VarInt(s.ReturnedShares); break;
            case SellTriggerFired s: w.Byte(TagSellTriggerFired); w.String(s.Symbol); w.Decimal(s.Price); w.VarInt(s.Shares); w.Decimal(s.Proceeds); break;
            default: throw new ArgumentException($"unknown account change {change.GetType()}");
        }
    }

    private static AccountChange ReadChange(ref BinaryReaderSpan r)
    {
        var tag = r.Byte();
        return tag switch
        {
            TagCashAdded => new CashAdded(r.Decimal()),
            TagBuyReserved => new BuyReserved(r.VarLong(), r.RequiredString(), r.VarInt(), r.Decimal(), r.VarLong(), r.VarLong()),
            TagBuyCommitted => new BuyCommitted(r.VarLong(), r.RequiredString(), r.VarInt(), r.Decimal()),
            TagBuyReleased => new BuyReleased(r.VarLong(), r.RequiredString(), r.Decimal(), (ReleaseReason)r.Byte(), r.VarLong()),
            TagSellReserved => new SellReserved(r.VarLong(), r.RequiredString(), r.VarInt(), r.Decimal(), r.VarLong(), r.VarLong()),
            TagSellCommitted => new SellCommitted(r.VarLong(), r.RequiredString(), r.VarInt(), r.Decimal()),
            TagSellReleased => new SellReleased(r.VarLong(), r.RequiredString(), r.VarInt(), (ReleaseReason)r.Byte(), r.VarLong()),
            TagBuyAmountSet => new BuyAmountSet(r.RequiredString(), r.Decimal(), r.Decimal()),
            TagBuyTriggerSet => new BuyTriggerSet(r.RequiredString(), r.Decimal()),
            TagBuyTriggerCancelled => new BuyTriggerCancelled(r.RequiredString(), r.Decimal()),
            TagBuyTriggerFired => new BuyTriggerFired(r.RequiredString(), r.Decimal(), r.VarInt(), r.Decimal(), r.Decimal()),
            TagSellAmountSet => new SellAmountSet(r.RequiredString(), r.Decimal(), r.VarInt()),
            TagSellTriggerSet => new SellTriggerSet(r.RequiredString(), r.Decimal(), r.VarInt()),
            TagSellTriggerCancelled => new SellTriggerCancelled(r.RequiredString(), r.VarInt()),
            TagSellTriggerFired => new SellTriggerFired(r.RequiredString(), r.Decimal(), r.VarInt(), r.Decimal()),
            _ => throw new SerializationException($"unknown account change tag {tag}"),
        };
    }
}
