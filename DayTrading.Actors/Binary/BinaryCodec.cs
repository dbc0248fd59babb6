using System.Buffers.Binary;
using System.Text;

namespace DayTrading.Binary;

/// <summary>
/// A growable byte buffer with the primitive encodings the wire and the journal use: varints, length-prefixed
/// UTF-8 strings (null distinct from empty), and decimals as a scaled varint (16 raw bytes only when they must).
/// One writer per thread is reused, so encoding an event allocates only the final array.
/// </summary>
internal sealed class BinaryWriterBuffer
{
    [ThreadStatic] private static BinaryWriterBuffer? _cached;

    private byte[] _buffer = new byte[512];
    private int _length;

    public static BinaryWriterBuffer Rent()
    {
        var w = _cached ?? new BinaryWriterBuffer();
        _cached = null;
        w._length = 0;
        return w;
    }

    public byte[] ToArrayAndReturn()
    {
        var result = _buffer.AsSpan(0, _length).ToArray();
        if (_buffer.Length <= 64 * 1024) _cached = this;
        return result;
    }

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }

    public void Byte(byte b) => Reserve(1)[0] = b;

    public void Bool(bool b) => Byte(b ? (byte)1 : (byte)0);

    public void VarULong(ulong v)
    {
        while (v >= 0x80)
        {
            Byte((byte)(v | 0x80));
            v >>= 7;
        }
        Byte((byte)v);
    }

    public void VarLong(long v) => VarULong((ulong)((v << 1) ^ (v >> 63)));

    public void VarInt(int v) => VarLong(v);

    public void String(string? s)
    {
        if (s is null)
        {
            VarULong(0);
            return;
        }
        var count = Encoding.UTF8.GetByteCount(s);
        VarULong((ulong)count + 1);
        Encoding.UTF8.GetBytes(s, Reserve(count));
    }

    /// <summary>Text already in UTF-8, encoded exactly as <see cref="String(string?)"/> encodes the same text.</summary>
    public void Utf8String(ReadOnlySpan<byte> utf8)
    {
        VarULong((ulong)utf8.Length + 1);
        utf8.CopyTo(Reserve(utf8.Length));
    }

    /// <summary>Length-prefixed raw bytes.</summary>
    public void Bytes(ReadOnlySpan<byte> bytes)
    {
        VarULong((ulong)bytes.Length);
        bytes.CopyTo(Reserve(bytes.Length));
    }

    public void Decimal(decimal d)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(d, bits);
        var scale = (byte)((bits[3] >> 16) & 0xFF);
        var negative = bits[3] < 0;
        if (bits[2] == 0 && bits[1] >= 0)
        {
            // Mantissa fits in 63 bits: 1 byte of scale and sign, then a varint.
            Byte((byte)(scale | (negative ? 0x80 : 0)));
            VarULong(((ulong)(uint)bits[1] << 32) | (uint)bits[0]);
        }
        else
        {
            Byte(0x7F);
            var raw = Reserve(16);
            for (var i = 0; i < 4; i++) BinaryPrimitives.WriteInt32LittleEndian(raw[(i * 4)..], bits[i]);
        }
    }

    public void NullableDecimal(decimal? d)
    {
        Bool(d.HasValue);
        if (d.HasValue) Decimal(d.Value);
    }
}

internal ref struct BinaryReaderSpan
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public BinaryReaderSpan(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public bool AtEnd => _pos >= _data.Length;

    public byte Byte() => _data[_pos++];

    public bool Bool() => Byte() != 0;

    public ulong VarULong()
    {
        ulong result = 0;
        var shift = 0;
        while (true)
        {
            var b = _data[_pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
            shift += 7;
            if (shift > 63) throw new FormatException("varint too long");
        }
    }

    public long VarLong()
    {
        var raw = VarULong();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    public int VarInt() => checked((int)VarLong());

    public string? String()
    {
        var len = VarULong();
        if (len == 0) return null;
        var count = checked((int)(len - 1));
        var s = Encoding.UTF8.GetString(_data.Slice(_pos, count));
        _pos += count;
        return s;
    }

    public string RequiredString() => String() ?? throw new FormatException("unexpected null string");

    /// <summary>A <see cref="String()"/> field's UTF-8 bytes, not decoded.</summary>
    public byte[]? Utf8String()
    {
        var len = VarULong();
        if (len == 0) return null;
        var count = checked((int)(len - 1));
        var bytes = _data.Slice(_pos, count).ToArray();
        _pos += count;
        return bytes;
    }

    public byte[] Bytes()
    {
        var count = checked((int)VarULong());
        var bytes = _data.Slice(_pos, count).ToArray();
        _pos += count;
        return bytes;
    }

    public decimal Decimal()
    {
        var head = Byte();
        if (head == 0x7F)
        {
            Span<int> bits = stackalloc int[4];
            for (var i = 0; i < 4; i++) bits[i] = BinaryPrimitives.ReadInt32LittleEndian(_data.Slice(_pos + i * 4, 4));
            _pos += 16;
            return new decimal(bits);
        }
        var mantissa = VarULong();
        return new decimal((int)(uint)mantissa, (int)(uint)(mantissa >> 32), 0, (head & 0x80) != 0, (byte)(head & 0x7F));
    }

    public decimal? NullableDecimal() => Bool() ? Decimal() : null;
}
