using System.Globalization;
using System.Text;
using System.Xml;

namespace DayTrading.Audit;

/// <summary>
/// Writes audit entries as the course's XML log (<c>&lt;?xml version="1.0"?&gt;&lt;log&gt;…&lt;/log&gt;</c>), one entry at a
/// time, straight to a stream: nothing but the writer's buffer is held in memory, however long the log.
/// Elements inside an entry follow the schema's declaration order (xsd:all allows any; this order is stable).
/// Text that XML 1.0 cannot carry (control characters, lone surrogates) is replaced by U+FFFD.
/// </summary>
public sealed class AuditXmlWriter : IAsyncDisposable
{
    /// <summary>Entries between two flushes of the writer's buffer to the stream.</summary>
    public const int FlushEvery = 2_000;

    private static readonly XmlWriterSettings Settings = new()
    {
        Async = true,
        Indent = true,
        IndentChars = "\t",
        NewLineChars = "\n",
        Encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
        OmitXmlDeclaration = true,
        CloseOutput = false,
        CheckCharacters = true,
    };

    private static readonly byte[] Declaration = "<?xml version=\"1.0\"?>\n"u8.ToArray();

    private XmlWriter _xml = null!;
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private int _sinceFlush;
    private bool _started;
    private bool _completed;

    public AuditXmlWriter(Stream stream, bool ownsStream = false)
    {
        _stream = stream;
        _ownsStream = ownsStream;
    }

    /// <summary>Opens (creating or truncating) a file for writing with an asynchronous, buffered stream.</summary>
    public static AuditXmlWriter Create(string path) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan),
            ownsStream: true);

    public long EntriesWritten { get; private set; }

    public async Task WriteStartAsync()
    {
        if (_started) return;
        _started = true;
        // The course examples' declaration, without the encoding XmlWriter would add (UTF-8 is XML's default).
        await _stream.WriteAsync(Declaration).ConfigureAwait(false);
        _xml = XmlWriter.Create(_stream, Settings);
        await _xml.WriteStartElementAsync(null, "log", null).ConfigureAwait(false);
    }

    public async Task WriteEntryAsync(AuditEntry e, CancellationToken ct = default)
    {
        if (!_started) await WriteStartAsync().ConfigureAwait(false);
        var x = _xml;
        await x.WriteStartElementAsync(null, ElementName(e.Kind), null).ConfigureAwait(false);
        await Element("timestamp", e.TimestampMs.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        await Element("server", e.Server).ConfigureAwait(false);
        await Element("transactionNum", e.TxNum.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        switch (e.Kind)
        {
            case AuditEntryKind.QuoteServer:
                await Element("price", FormatFunds(e.Price ?? 0m)).ConfigureAwait(false);
                await Element("stockSymbol", e.Symbol ?? "").ConfigureAwait(false);
                await Element("username", e.Username ?? "").ConfigureAwait(false);
                await Element("quoteServerTime", e.QuoteServerTime.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
                await Element("cryptokey", e.CryptoKey ?? "").ConfigureAwait(false);
                break;
            case AuditEntryKind.AccountTransaction:
                await Element("action", e.Action ?? "").ConfigureAwait(false);
                await Element("username", e.Username ?? "").ConfigureAwait(false);
                await Element("funds", FormatFunds(e.Funds ?? 0m)).ConfigureAwait(false);
                break;
            default:
                await Element("command", e.Command ?? AuditProjection.UnknownCommandFallback).ConfigureAwait(false);
                if (e.Username is not null) await Element("username", e.Username).ConfigureAwait(false);
                if (e.Symbol is not null) await Element("stockSymbol", e.Symbol).ConfigureAwait(false);
                if (e.FileName is not null) await Element("filename", e.FileName).ConfigureAwait(false);
                if (e.Funds is { } funds) await Element("funds", FormatFunds(funds)).ConfigureAwait(false);
                if (e.Kind == AuditEntryKind.ErrorEvent && e.ErrorMessage is not null)
                    await Element("errorMessage", e.ErrorMessage).ConfigureAwait(false);
                break;
        }
        await x.WriteEndElementAsync().ConfigureAwait(false);
        EntriesWritten++;
        if (++_sinceFlush >= FlushEvery)
        {
            _sinceFlush = 0;
            ct.ThrowIfCancellationRequested();
            await _xml.FlushAsync().ConfigureAwait(false);
        }

        Task Element(string name, string value) => x.WriteElementStringAsync(null, name, null, XmlSafe(value));
    }

    /// <summary>Closes <c>&lt;/log&gt;</c> and flushes everything to the stream (and the file to disk).</summary>
    public async Task CompleteAsync(CancellationToken ct = default)
    {
        if (_completed) return;
        if (!_started) await WriteStartAsync().ConfigureAwait(false);
        await _xml.WriteEndElementAsync().ConfigureAwait(false);
        await _xml.WriteRawAsync("\n").ConfigureAwait(false);
        await _xml.FlushAsync().ConfigureAwait(false);
        await _stream.FlushAsync(ct).ConfigureAwait(false);
        if (_stream is FileStream fs) fs.Flush(flushToDisk: true);
        _completed = true;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_started) await _xml.DisposeAsync().ConfigureAwait(false);
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
