using System.Globalization;
using System.Text;
using System.Xml;

namespace DayTrading.Audit;

/// <summary>
/// Writes audit entries as the course's XML log (<c>&lt;?xml version="1.0"?&gt;&lt;log&gt;…&lt;/log&gt;</c>), one entry at a
/// time, streaming to a stream (a file): memory holds one bounded chunk, however long the log.
/// An <see cref="XmlWriter"/> encodes entries synchronously into that chunk (at most <see cref="ChunkBytes"/> plus one
/// entry), and the chunk goes to the stream with an asynchronous write whenever it is full or
/// <see cref="FlushEvery"/> entries have been written: awaiting each of the ~8 elements of an entry would cost several
/// times more than the encoding itself, and the file I/O, the only part that can block, stays asynchronous.
/// Elements inside an entry follow the schema's declaration order (xsd:all allows any; this order is stable).
/// Text that XML 1.0 cannot carry (control characters, lone surrogates) is replaced by U+FFFD.
/// </summary>
public sealed class AuditXmlWriter : IAsyncDisposable
{
    /// <summary>Entries between two writes of the chunk to the stream, at most.</summary>
    public const int FlushEvery = 2_000;

    /// <summary>The chunk is written to the stream once it holds this many bytes.</summary>
    public const int ChunkBytes = 256 * 1024;

    private static readonly XmlWriterSettings Settings = new()
    {
        Async = false,
        Indent = true,
        IndentChars = "\t",
        NewLineChars = "\n",
        Encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
        OmitXmlDeclaration = true,
        CloseOutput = false,
        CheckCharacters = true,
    };

    // The course examples' declaration, without the encoding XmlWriter would add (UTF-8 is XML's default).
    private static readonly byte[] Declaration = "<?xml version=\"1.0\"?>\n"u8.ToArray();

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly MemoryStream _chunk = new(ChunkBytes + 16 * 1024);
    private readonly XmlWriter _xml;
    private int _sinceFlush;
    private bool _started;
    private bool _completed;

    public AuditXmlWriter(Stream stream, bool ownsStream = false)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _chunk.Write(Declaration);
        _xml = XmlWriter.Create(_chunk, Settings);
    }

    /// <summary>Opens (creating or truncating) a file for writing with an asynchronous, buffered stream.</summary>
    public static AuditXmlWriter Create(string path) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan),
            ownsStream: true);

    public long EntriesWritten { get; private set; }

    /// <summary>Writes the declaration and <c>&lt;log&gt;</c> (done by the first entry otherwise).</summary>
    public Task WriteStartAsync()
    {
        if (!_started)
        {
            _started = true;
            _xml.WriteStartElement("log");
        }
        return Task.CompletedTask;
    }

    public ValueTask WriteEntryAsync(AuditEntry e, CancellationToken ct = default)
    {
        if (_completed) throw new InvalidOperationException("the log is complete");
        if (!_started) WriteStartAsync();
        var x = _xml;
        x.WriteStartElement(ElementName(e.Kind));
        Element("timestamp", e.TimestampMs.ToString(CultureInfo.InvariantCulture));
        Element("server", e.Server);
        Element("transactionNum", e.TxNum.ToString(CultureInfo.InvariantCulture));
        switch (e.Kind)
        {
            case AuditEntryKind.QuoteServer:
                Element("price", FormatFunds(e.Price ?? 0m));
                Element("stockSymbol", e.Symbol ?? "");
                Element("username", e.Username ?? "");
                Element("quoteServerTime", e.QuoteServerTime.ToString(CultureInfo.InvariantCulture));
                Element("cryptokey", e.CryptoKey ?? "");
                break;
            case AuditEntryKind.AccountTransaction:
                Element("action", e.Action ?? "");
                Element("username", e.Username ?? "");
                Element("funds", FormatFunds(e.Funds ?? 0m));
                break;
            default:
                Element("command", e.Command ?? AuditProjection.UnknownCommandFallback);
                if (e.Username is not null) Element("username", e.Username);
                if (e.Symbol is not null) Element("stockSymbol", e.Symbol);
                if (e.FileName is not null) Element("filename", e.FileName);
                if (e.Funds is { } funds) Element("funds", FormatFunds(funds));
                if (e.Kind == AuditEntryKind.ErrorEvent && e.ErrorMessage is not null) Element("errorMessage", e.ErrorMessage);
                break;
        }
        x.WriteEndElement();
        EntriesWritten++;
        if (++_sinceFlush < FlushEvery && _chunk.Length < ChunkBytes) return ValueTask.CompletedTask;
        return new ValueTask(FlushChunkAsync(ct));

        void Element(string name, string value) => x.WriteElementString(name, XmlSafe(value));
    }

    /// <summary>Sends what the XmlWriter has encoded so far to the stream.</summary>
    private async Task FlushChunkAsync(CancellationToken ct)
    {
        _sinceFlush = 0;
        _xml.Flush();
        if (_chunk.Length == 0) return;
        await _stream.WriteAsync(_chunk.GetBuffer().AsMemory(0, (int)_chunk.Length), ct).ConfigureAwait(false);
        _chunk.SetLength(0);
    }

    /// <summary>Closes <c>&lt;/log&gt;</c> and flushes everything to the stream (and a file to disk).</summary>
    public async Task CompleteAsync(CancellationToken ct = default)
    {
        if (_completed) return;
        if (!_started) await WriteStartAsync().ConfigureAwait(false);
        _xml.WriteEndElement();
        _xml.WriteRaw("\n");
        await FlushChunkAsync(ct).ConfigureAwait(false);
        await _stream.FlushAsync(ct).ConfigureAwait(false);
        if (_stream is FileStream fs) fs.Flush(flushToDisk: true);
        _completed = true;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _xml.Dispose();
        }
        catch (Exception) when (!_completed)
        {
            // Disposing an unfinished document (a failed or cancelled dump): its file is thrown away anyway.
        }
        finally
        {
            if (_ownsStream) await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    public static string ElementName(AuditEntryKind kind) => kind switch
    {
        AuditEntryKind.UserCommand => "userCommand",
        AuditEntryKind.QuoteServer => "quoteServer",
        AuditEntryKind.AccountTransaction => "accountTransaction",
        AuditEntryKind.SystemEvent => "systemEvent",
        AuditEntryKind.ErrorEvent => "errorEvent",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>
    /// Money in the log: exactly two decimals, invariant culture (<c>1234.50</c>). An amount with more decimals (only
    /// a refused request can carry one, e.g. <c>12.345</c>) is written in full rather than rounded into a lie.
    /// </summary>
    public static string FormatFunds(decimal amount) =>
        decimal.Round(amount, 2) == amount
            ? amount.ToString("0.00", CultureInfo.InvariantCulture)
            : amount.ToString(CultureInfo.InvariantCulture);

    /// <summary>The text with every character XML 1.0 cannot carry replaced by U+FFFD (the same string when all are fine).</summary>
    public static string XmlSafe(string s)
    {
        var i = 0;
        for (; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsSurrogate(c) || !XmlConvert.IsXmlChar(c)) break;
        }
        if (i == s.Length) return s;

        var sb = new StringBuilder(s.Length);
        sb.Append(s, 0, i);
        for (; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                sb.Append(c).Append(s[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(c) || !XmlConvert.IsXmlChar(c)) sb.Append('\uFFFD');
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
