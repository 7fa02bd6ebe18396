using System.Buffers;
using System.Buffers.Binary;

namespace Trac.Hosting.FastCgi;

/// <summary>
/// Reads the records an application sends from what has arrived so far: a record is taken only once all of it
/// (header, content and padding) is there, however the bytes were split on the way.
/// </summary>
internal static class FastCgiRecordReader
{
    /// <summary>
    /// Takes the next whole record off the front of <paramref name="buffer"/>, or returns <see langword="false"/> (and
    /// leaves the buffer as it is) when it has not all arrived yet.
    /// </summary>
    /// <exception cref="FastCgiProtocolException">The bytes are not a FastCGI 1.0 record.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out FastCgiRecordHeader header, out ReadOnlySequence<byte> content)
    {
        content = default;
        if (!FastCgiRecordHeader.TryRead(buffer, out header) || buffer.Length < header.RecordLength)
        {
            return false;
        }

        content = buffer.Slice(FastCgiRecordHeader.Length, header.ContentLength);
        buffer = buffer.Slice(header.RecordLength);
        return true;
    }

    /// <summary>Reads the body of an <c>FCGI_END_REQUEST</c> record: the application's status and how the request ended.</summary>
    /// <exception cref="FastCgiProtocolException">The body is shorter than eight bytes.</exception>
    public static (int ApplicationStatus, FastCgiProtocolStatus ProtocolStatus) ReadEndRequest(in ReadOnlySequence<byte> content)
    {
        if (content.Length < 8)
        {
            throw new FastCgiProtocolException($"The application's FCGI_END_REQUEST record has {content.Length} bytes; it must have 8.");
        }

        Span<byte> bytes = stackalloc byte[8];
        content.Slice(0, 8).CopyTo(bytes);
        return (BinaryPrimitives.ReadInt32BigEndian(bytes), (FastCgiProtocolStatus)bytes[4]);
    }
}
