using System.Buffers;
using System.Buffers.Binary;

namespace Trac.Hosting.FastCgi;

/// <summary>
/// The eight bytes in front of every FastCGI record (section 3.3): version 1, the type, the request id, how many
/// content bytes follow, and how many padding bytes after them.
/// </summary>
internal readonly record struct FastCgiRecordHeader(FastCgiRecordType Type, ushort RequestId, ushort ContentLength, byte PaddingLength)
{
    /// <summary>The length of a header.</summary>
    public const int Length = 8;

    /// <summary>The only protocol version there is.</summary>
    public const byte Version = 1;

    /// <summary>The most content one record carries.</summary>
    public const int MaxContentLength = ushort.MaxValue;

    /// <summary>Gets how many bytes the whole record takes: header, content and padding.</summary>
    public int RecordLength => Length + ContentLength + PaddingLength;

    /// <summary>Returns a header whose padding rounds the record up to a multiple of eight bytes, as the specification recommends.</summary>
    public static FastCgiRecordHeader For(FastCgiRecordType type, ushort requestId, int contentLength)
    {
        if ((uint)contentLength > MaxContentLength)
        {
            throw new ArgumentOutOfRangeException(nameof(contentLength), contentLength, $"A FastCGI record carries at most {MaxContentLength} bytes.");
        }

        return new FastCgiRecordHeader(type, requestId, (ushort)contentLength, (byte)((8 - (contentLength % 8)) % 8));
    }

    /// <summary>Writes the header into the first <see cref="Length"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        destination[0] = Version;
        destination[1] = (byte)Type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], RequestId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], ContentLength);
        destination[6] = PaddingLength;
        destination[7] = 0;
    }

    /// <summary>Reads a header from the start of <paramref name="buffer"/>, or returns <see langword="false"/> when fewer than eight bytes are there.</summary>
    /// <exception cref="FastCgiProtocolException">The bytes are not a FastCGI 1.0 header.</exception>
    public static bool TryRead(in ReadOnlySequence<byte> buffer, out FastCgiRecordHeader header)
    {
        if (buffer.Length < Length)
        {
            header = default;
            return false;
        }

        Span<byte> bytes = stackalloc byte[Length];
        buffer.Slice(0, Length).CopyTo(bytes);
        if (bytes[0] != Version)
        {
            throw new FastCgiProtocolException($"The application answered with a record of FastCGI version {bytes[0]}; only version 1 exists.");
        }

        var type = (FastCgiRecordType)bytes[1];
        if (type is < FastCgiRecordType.BeginRequest or > FastCgiRecordType.UnknownType)
        {
            throw new FastCgiProtocolException($"The application answered with a record of unknown type {bytes[1]}.");
        }

        header = new FastCgiRecordHeader(type, BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]), BinaryPrimitives.ReadUInt16BigEndian(bytes[4..]), bytes[6]);
        return true;
    }
}
