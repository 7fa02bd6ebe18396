using System.Buffers;
using System.Buffers.Binary;

namespace Trac.Hosting.FastCgi;

/// <summary>
/// Writes the records the web server's side sends: <c>FCGI_BEGIN_REQUEST</c>, the <c>FCGI_PARAMS</c> stream,
/// <c>FCGI_STDIN</c> content in records of at most <see cref="StreamChunkLength"/> bytes, the empty record that ends
/// a stream, and <c>FCGI_ABORT_REQUEST</c>. Every record is padded to a multiple of eight bytes.
/// </summary>
internal static class FastCgiRecordWriter
{
    /// <summary>The responder role: the application answers requests (section 6.2).</summary>
    public const ushort ResponderRole = 1;

    /// <summary>The content length of each stream record but the last: a multiple of eight, so it needs no padding.</summary>
    public const int StreamChunkLength = 32 * 1024;

    private const byte KeepConnectionFlag = 1;

    /// <summary>Begins a request in the responder role; <paramref name="keepConnection"/> keeps the connection open after it.</summary>
    public static void WriteBeginRequest(IBufferWriter<byte> writer, ushort requestId, bool keepConnection)
    {
        Span<byte> body = stackalloc byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(body, ResponderRole);
        body[2] = keepConnection ? KeepConnectionFlag : (byte)0;
        body[3..].Clear();
        WriteRecord(writer, FastCgiRecordType.BeginRequest, requestId, body);
    }

    /// <summary>Writes the whole <c>FCGI_PARAMS</c> stream of a request, its closing empty record included.</summary>
    public static void WriteParams(IBufferWriter<byte> writer, ushort requestId, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var encoded = new ArrayBufferWriter<byte>(1024);
        foreach (var (name, value) in parameters)
        {
            FastCgiNameValuePairs.Write(encoded, name, value);
        }

        // A pair may straddle two records: the application reads the stream, not the records.
        WriteStream(writer, FastCgiRecordType.Params, requestId, encoded.WrittenSpan);
        WriteEndOfStream(writer, FastCgiRecordType.Params, requestId);
    }

    /// <summary>Writes stream content (<c>FCGI_STDIN</c>, <c>FCGI_PARAMS</c>) in as many records as it takes; nothing for empty content.</summary>
    public static void WriteStream(IBufferWriter<byte> writer, FastCgiRecordType type, ushort requestId, ReadOnlySpan<byte> content)
    {
        while (!content.IsEmpty)
        {
            var chunk = content[..Math.Min(content.Length, StreamChunkLength)];
            WriteRecord(writer, type, requestId, chunk);
            content = content[chunk.Length..];
        }
    }

    /// <summary>Writes the empty record that ends a stream.</summary>
    public static void WriteEndOfStream(IBufferWriter<byte> writer, FastCgiRecordType type, ushort requestId) =>
        WriteRecord(writer, type, requestId, []);

    /// <summary>Asks the application to abandon a request (the client went away).</summary>
    public static void WriteAbortRequest(IBufferWriter<byte> writer, ushort requestId) =>
        WriteRecord(writer, FastCgiRecordType.AbortRequest, requestId, []);

    /// <summary>Writes one record: header, content, and zeros up to a multiple of eight bytes.</summary>
    private static void WriteRecord(IBufferWriter<byte> writer, FastCgiRecordType type, ushort requestId, ReadOnlySpan<byte> content)
    {
        var header = FastCgiRecordHeader.For(type, requestId, content.Length);
        var span = writer.GetSpan(header.RecordLength);
        header.Write(span);
        content.CopyTo(span[FastCgiRecordHeader.Length..]);
        span.Slice(FastCgiRecordHeader.Length + content.Length, header.PaddingLength).Clear();
        writer.Advance(header.RecordLength);
    }
}
