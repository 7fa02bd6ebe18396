using System.Buffers.Binary;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Trac.Hosting.FastCgi;

namespace Trac.Hosting.Benchmarks;

/// <summary>
/// A 50 MB request body sent to a FastCGI application over a kept Unix-socket connection: streamed as
/// <c>FCGI_STDIN</c> records as it is read, so what the upload allocates does not grow with its size. The peer (in
/// this process) reads into one buffer and answers a bare <c>200</c>.
/// </summary>
[MemoryDiagnoser]
public class FastCgiUploadBenchmarks
{
    private const long BodyLength = 50L * 1024 * 1024;

    private string _directory = null!;
    private Socket _listener = null!;
    private Task _peer = null!;
    private FastCgiConnection _connection = null!;
    private readonly List<KeyValuePair<string, string>> _parameters =
    [
        new("REQUEST_METHOD", "POST"), new("SCRIPT_NAME", "/alpha"), new("PATH_INFO", "/attachment/wiki/WikiStart/"),
        new("CONTENT_TYPE", "application/octet-stream"), new("CONTENT_LENGTH", BodyLength.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("trac-bench-fcgi-").FullName;
        var path = Path.Combine(_directory, "peer.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(1);
        _peer = Task.Run(ServeAsync);
        _connection = FastCgiConnection.ConnectAsync(new UnixDomainSocketEndPoint(path), CancellationToken.None).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _listener.Dispose();
        _ = _peer.Exception;
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Description = "50 MB body to FCGI_STDIN, streamed")]
    public async Task<int> Upload50MB()
    {
        var (status, _) = await _connection.ExecuteAsync(
            _parameters, new ZeroStream(BodyLength), static _ => ValueTask.CompletedTask, new FastCgiErrorOutput(1024), keepConnection: true,
            CancellationToken.None);
        return status;
    }

    /// <summary>A minimal responder: reads records (one buffer, no allocation per record), answers at the end of FCGI_STDIN.</summary>
    private async Task ServeAsync()
    {
        using var socket = await _listener.AcceptAsync();
        var header = new byte[8];
        var content = new byte[65536 + 255];
        byte[] answer =
        [
            1, 6, 0, 1, 0, 18, 6, 0, .. "Status: 200 OK\r\n\r\n"u8, 0, 0, 0, 0, 0, 0,
            1, 6, 0, 1, 0, 0, 0, 0,
            1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        while (true)
        {
            if (!await ReadExactlyAsync(socket, header))
            {
                return;
            }

            var requestId = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
            var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4)) + header[6];
            if (!await ReadExactlyAsync(socket, content.AsMemory(0, length)))
            {
                return;
            }

            if (header[1] == 5 && BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4)) == 0)
            {
                foreach (var record in (ReadOnlySpan<int>)[0, 32, 40])
                {
                    BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(record + 2), requestId);
                }
                await socket.SendAsync(answer);
            }
        }
    }

    private static async Task<bool> ReadExactlyAsync(Socket socket, Memory<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var read = await socket.ReceiveAsync(buffer);
            if (read == 0)
            {
                return false;
            }

            buffer = buffer[read..];
        }

        return true;
    }

    /// <summary>A body of zeros that is read, never held: reading it allocates nothing.</summary>
    private sealed class ZeroStream : Stream
    {
        private readonly long _length;
        private long _left;

        public ZeroStream(long length) => _left = _length = length;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => _length;

        public override long Position { get => _length - _left; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, _left);
            buffer[..n].Clear();
            _left -= n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
