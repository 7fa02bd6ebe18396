using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Trac.Hosting.FastCgi;

namespace Trac.Hosting.Tests.FastCgi;

/// <summary>The FastCGI record layer against byte streams: exact bytes, split arrivals, padding, the largest records, floods.</summary>
public sealed class FastCgiRecordTests
{
    [Fact]
    public void BeginRequest_IsTheSpecificationsSixteenBytes()
    {
        var writer = new ArrayBufferWriter<byte>();

        FastCgiRecordWriter.WriteBeginRequest(writer, requestId: 258, keepConnection: true);

        Assert.Equal(new byte[] { 1, 1, 1, 2, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0 }, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void EndOfStreamAndAbort_AreEmptyRecords()
    {
        var writer = new ArrayBufferWriter<byte>();

        FastCgiRecordWriter.WriteEndOfStream(writer, FastCgiRecordType.Stdin, 1);
        FastCgiRecordWriter.WriteAbortRequest(writer, 1);

        Assert.Equal(new byte[] { 1, 5, 0, 1, 0, 0, 0, 0, 1, 2, 0, 1, 0, 0, 0, 0 }, writer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 7)]
    [InlineData(8, 0)]
    [InlineData(13, 3)]
    [InlineData(65535, 1)]
    public void Padding_RoundsTheRecordUpToEightBytes(int contentLength, int padding)
    {
        var header = FastCgiRecordHeader.For(FastCgiRecordType.Stdout, 1, contentLength);

        Assert.Equal(padding, header.PaddingLength);
        Assert.Equal(0, header.RecordLength % 8);
    }

    [Fact]
    public void ContentLongerThanARecord_IsRefused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => FastCgiRecordHeader.For(FastCgiRecordType.Stdout, 1, 65536));

        Assert.Contains("65535", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Records_ArrivingOneByteAtATime_AreReadWhole_PaddingSkipped_UpToTheLargestRecord()
    {
        var largest = Enumerable.Range(0, FastCgiRecordHeader.MaxContentLength).Select(i => (byte)(i * 7)).ToArray();
        var stream = new ArrayBufferWriter<byte>();
        WriteRecord(stream, FastCgiRecordType.Stdout, 1, "Status: 200 OK\r\n\r\nhello"u8);
        WriteRecord(stream, FastCgiRecordType.Stdout, 1, largest);
        WriteRecord(stream, FastCgiRecordType.Stderr, 1, "warning"u8);
        WriteRecord(stream, FastCgiRecordType.Stdout, 1, []);
        WriteRecord(stream, FastCgiRecordType.EndRequest, 1, [0, 0, 0, 3, 0, 0, 0, 0]);
        var pipe = new Pipe();
        var sending = Task.Run(async () =>
        {
            // One flush per byte: every record is split at every possible place on its way.
            foreach (var b in stream.WrittenMemory.ToArray())
            {
                await pipe.Writer.WriteAsync(new[] { b });
            }

            await pipe.Writer.CompleteAsync();
        });

        var records = new List<(FastCgiRecordType Type, ushort Id, byte[] Content)>();
        while (true)
        {
            var result = await pipe.Reader.ReadAsync();
            var buffer = result.Buffer;
            while (FastCgiRecordReader.TryRead(ref buffer, out var header, out var content))
            {
                records.Add((header.Type, header.RequestId, content.ToArray()));
            }

            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                Assert.True(buffer.IsEmpty);
                break;
            }
        }

        await sending;
        Assert.Equal(
            [FastCgiRecordType.Stdout, FastCgiRecordType.Stdout, FastCgiRecordType.Stderr, FastCgiRecordType.Stdout, FastCgiRecordType.EndRequest],
            records.Select(r => r.Type));
        Assert.All(records, r => Assert.Equal(1, r.Id));
        Assert.Equal("Status: 200 OK\r\n\r\nhello", Encoding.ASCII.GetString(records[0].Content));
        Assert.Equal(largest, records[1].Content);
        Assert.Equal("warning", Encoding.ASCII.GetString(records[2].Content));
        Assert.Empty(records[3].Content);
        Assert.Equal((3, FastCgiProtocolStatus.RequestComplete), FastCgiRecordReader.ReadEndRequest(new ReadOnlySequence<byte>(records[4].Content)));
    }

    [Fact]
    public void IncompleteRecord_IsLeftForMoreBytes()
    {
        var stream = new ArrayBufferWriter<byte>();
        WriteRecord(stream, FastCgiRecordType.Stdout, 1, "hello"u8);
        var partial = new ReadOnlySequence<byte>(stream.WrittenMemory[..^1]);

        var read = FastCgiRecordReader.TryRead(ref partial, out _, out _);

        Assert.False(read);
        Assert.Equal(stream.WrittenCount - 1, partial.Length);
    }

    [Theory]
    [InlineData(new byte[] { 2, 6, 0, 1, 0, 0, 0, 0 }, "version 2")]
    [InlineData(new byte[] { 1, 0, 0, 1, 0, 0, 0, 0 }, "unknown type 0")]
    [InlineData(new byte[] { 1, 12, 0, 1, 0, 0, 0, 0 }, "unknown type 12")]
    [InlineData(new byte[] { 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31 }, "version 72")]
    public void Garbage_IsAProtocolError(byte[] bytes, string expected)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);

        var error = Assert.Throws<FastCgiProtocolException>(() => FastCgiRecordReader.TryRead(ref buffer, out _, out _));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShortEndRequest_IsAProtocolError()
    {
        var error = Assert.Throws<FastCgiProtocolException>(() => FastCgiRecordReader.ReadEndRequest(new ReadOnlySequence<byte>(new byte[5])));

        Assert.Contains("5 bytes", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(70000)]
    public void NameValuePairs_UseOneOrFourByteLengths_AndReadBack(int valueLength)
    {
        var value = new string('v', valueLength);
        var writer = new ArrayBufferWriter<byte>();

        FastCgiNameValuePairs.Write(writer, "PATH_INFO", value);
        FastCgiNameValuePairs.Write(writer, "SCRIPT_NAME", "/alpha");

        var bytes = writer.WrittenSpan;
        Assert.Equal(9, bytes[0]);
        Assert.Equal(valueLength >= 128, (bytes[1] & 0x80) == 0x80);
        Assert.Equal((valueLength < 128 ? 2 : 5) + "PATH_INFO".Length + valueLength + 2 + "SCRIPT_NAME/alpha".Length, writer.WrittenCount);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(writer.WrittenMemory));
        Assert.True(FastCgiNameValuePairs.TryRead(ref reader, out var name, out var read));
        Assert.Equal(("PATH_INFO", value), (name, read));
        Assert.True(FastCgiNameValuePairs.TryRead(ref reader, out name, out read));
        Assert.Equal(("SCRIPT_NAME", "/alpha"), (name, read));
        Assert.False(FastCgiNameValuePairs.TryRead(ref reader, out _, out _));
    }

    [Fact]
    public void NonAsciiValues_TravelAsTheirUtf8Bytes()
    {
        var writer = new ArrayBufferWriter<byte>();

        FastCgiNameValuePairs.Write(writer, "PATH_INFO", "/wiki/Zürich");

        byte[] expected = [9, 13, .. "PATH_INFO"u8, .. "/wiki/Z"u8, 0xC3, 0xBC, .. "rich"u8];
        Assert.Equal(expected, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void PairCutShort_IsAProtocolError()
    {
        var writer = new ArrayBufferWriter<byte>();
        FastCgiNameValuePairs.Write(writer, "HTTP_HOST", "example.org");
        var cut = new ReadOnlySequence<byte>(writer.WrittenMemory[..^3]);

        var error = Assert.Throws<FastCgiProtocolException>(() =>
        {
            var reader = new SequenceReader<byte>(cut);
            FastCgiNameValuePairs.TryRead(ref reader, out _, out _);
        });

        Assert.Contains("longer than the bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Params_LongerThanARecord_StraddleRecords_AndEndWithAnEmptyOne()
    {
        var parameters = new Dictionary<string, string> { ["HTTP_COOKIE"] = new string('c', 40000), ["REQUEST_METHOD"] = "GET" };
        var writer = new ArrayBufferWriter<byte>();

        FastCgiRecordWriter.WriteParams(writer, 7, parameters);

        var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);
        var lengths = new List<int>();
        var stream = new ArrayBufferWriter<byte>();
        while (FastCgiRecordReader.TryRead(ref buffer, out var header, out var content))
        {
            Assert.Equal((FastCgiRecordType.Params, (ushort)7), (header.Type, header.RequestId));
            Assert.Equal(0, header.RecordLength % 8);
            lengths.Add(header.ContentLength);
            content.CopyTo(stream.GetSpan((int)content.Length));
            stream.Advance((int)content.Length);
        }

        Assert.True(buffer.IsEmpty);
        Assert.Equal([FastCgiRecordWriter.StreamChunkLength, stream.WrittenCount - FastCgiRecordWriter.StreamChunkLength, 0], lengths);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(stream.WrittenMemory));
        var decoded = new Dictionary<string, string>();
        while (FastCgiNameValuePairs.TryRead(ref reader, out var name, out var value))
        {
            decoded[name] = value;
        }

        Assert.Equal(parameters, decoded);
    }

    [Fact]
    public void StdinContent_IsSplitIntoRecordsOfAtMostTheChunkLength()
    {
        var body = new byte[(3 * FastCgiRecordWriter.StreamChunkLength) + 5];
        Random.Shared.NextBytes(body);
        var writer = new ArrayBufferWriter<byte>();

        FastCgiRecordWriter.WriteStream(writer, FastCgiRecordType.Stdin, 1, body);

        var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);
        var received = new List<byte>();
        var records = 0;
        while (FastCgiRecordReader.TryRead(ref buffer, out var header, out var content))
        {
            Assert.InRange(header.ContentLength, 1, FastCgiRecordWriter.StreamChunkLength);
            received.AddRange(content.ToArray());
            records++;
        }

        Assert.Equal(4, records);
        Assert.Equal(body, received);
    }

    [Fact]
    public void ErrorOutputFlood_KeepsOnlyTheLimit_AndSaysHowMuchWasDropped()
    {
        var output = new FastCgiErrorOutput(limit: 1024);
        var piece = new ReadOnlySequence<byte>(Enumerable.Repeat((byte)'e', 64 * 1024).ToArray());

        for (var i = 0; i < 160; i++)
        {
            output.Append(piece);
        }

        Assert.Equal((160L * 64 * 1024) - 1024, output.Dropped);
        Assert.StartsWith(new string('e', 1024) + "... (", output.ToString(), StringComparison.Ordinal);
        Assert.EndsWith($"({output.Dropped} more bytes dropped)", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ErrorOutput_UnderTheLimit_IsKeptWhole()
    {
        var output = new FastCgiErrorOutput(limit: 1024);
        Assert.True(output.IsEmpty);

        output.Append(new ReadOnlySequence<byte>("Traceback (most recent call last):\n"u8.ToArray()));

        Assert.False(output.IsEmpty);
        Assert.Equal("Traceback (most recent call last):\n", output.ToString());
    }

    private static void WriteRecord(ArrayBufferWriter<byte> writer, FastCgiRecordType type, ushort requestId, ReadOnlySpan<byte> content)
    {
        var header = FastCgiRecordHeader.For(type, requestId, content.Length);
        var span = writer.GetSpan(header.RecordLength);
        header.Write(span);
        content.CopyTo(span[FastCgiRecordHeader.Length..]);
        // Padding bytes are arbitrary on the wire: make them visible garbage the reader must skip.
        span.Slice(FastCgiRecordHeader.Length + content.Length, header.PaddingLength).Fill(0xEE);
        writer.Advance(header.RecordLength);
    }
}
