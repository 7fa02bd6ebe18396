using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Trac.Hosting.FastCgi;

/// <summary>
/// The name-value pairs of <c>FCGI_PARAMS</c> and <c>FCGI_GET_VALUES</c> (section 3.4): each length in one byte
/// below 128, else in four bytes with the high bit set, then the name's and the value's bytes. Names and values are
/// written as UTF-8, so a request path's bytes reach the application as the client sent them (Trac reads them back
/// as ISO-8859-1, as WSGI asks, and decodes UTF-8 from there).
/// </summary>
internal static class FastCgiNameValuePairs
{
    /// <summary>The longest name or value a pair can carry.</summary>
    public const int MaxLength = int.MaxValue;

    /// <summary>Appends one pair to <paramref name="writer"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, string name, string value)
    {
        var nameLength = Encoding.UTF8.GetByteCount(name);
        var valueLength = Encoding.UTF8.GetByteCount(value);
        var span = writer.GetSpan(LengthOfLength(nameLength) + LengthOfLength(valueLength) + nameLength + valueLength);
        var written = WriteLength(span, nameLength);
        written += WriteLength(span[written..], valueLength);
        written += Encoding.UTF8.GetBytes(name, span[written..]);
        written += Encoding.UTF8.GetBytes(value, span[written..]);
        writer.Advance(written);
    }

    /// <summary>Reads the next pair, or returns <see langword="false"/> at the end of <paramref name="reader"/>.</summary>
    /// <exception cref="FastCgiProtocolException">The bytes end inside a pair.</exception>
    public static bool TryRead(ref SequenceReader<byte> reader, out string name, out string value)
    {
        name = value = string.Empty;
        if (reader.End)
        {
            return false;
        }

        var nameLength = ReadLength(ref reader);
        var valueLength = ReadLength(ref reader);
        if (reader.Remaining < (long)nameLength + valueLength)
        {
            throw new FastCgiProtocolException("A FastCGI name-value pair is longer than the bytes that carry it.");
        }

        name = Encoding.UTF8.GetString(reader.UnreadSequence.Slice(0, nameLength));
        reader.Advance(nameLength);
        value = Encoding.UTF8.GetString(reader.UnreadSequence.Slice(0, valueLength));
        reader.Advance(valueLength);
        return true;
    }

    private static int LengthOfLength(int length) => length < 128 ? 1 : 4;

    private static int WriteLength(Span<byte> destination, int length)
    {
        if (length < 128)
        {
            destination[0] = (byte)length;
            return 1;
        }

        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)length | 0x80000000u);
        return 4;
    }

    private static int ReadLength(ref SequenceReader<byte> reader)
    {
        if (!reader.TryPeek(out var first))
        {
            throw new FastCgiProtocolException("A FastCGI name-value pair ends inside its lengths.");
        }

        if (first < 128)
        {
            reader.Advance(1);
            return first;
        }

        if (!reader.TryReadBigEndian(out int length))
        {
            throw new FastCgiProtocolException("A FastCGI name-value pair ends inside its lengths.");
        }

        return length & 0x7fffffff;
    }
}
