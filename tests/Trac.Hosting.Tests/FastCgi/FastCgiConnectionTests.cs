using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Trac.Hosting.FastCgi;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.FastCgi;

/// <summary>
/// The connection's side of the protocol over a real Unix socket, against a peer written here to misbehave on
/// purpose (Trac's own server is in <see cref="TracFastCgiInteropTests"/>).
/// </summary>
public sealed class FastCgiConnectionTests : IDisposable
{
    private readonly TracTestDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task ClientThatGoesAway_SendsAbortRequest_ForItsRequest()
    {
        await using var peer = Peer.Listen(Path.Combine(_directory.Path, "a.sock"));
        await using var connection = await FastCgiConnection.ConnectAsync(peer.EndPoint, CancellationToken.None);
        using var leaving = new CancellationTokenSource();
        var running = connection.ExecuteAsync(Parameters(), null, _ => ValueTask.CompletedTask, new FastCgiErrorOutput(1024), true, leaving.Token);
        var received = await peer.ReadUntilAsync(FastCgiRecordType.Stdin, emptyRecord: true);

        leaving.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        var abort = await peer.ReadUntilAsync(FastCgiRecordType.AbortRequest, emptyRecord: true);
        Assert.Equal(received[^1].RequestId, abort[^1].RequestId);
    }

    [Fact]
    public async Task ApplicationThatClosesBeforeEndingTheRequest_IsAProtocolError()
    {
        await using var peer = Peer.Listen(Path.Combine(_directory.Path, "b.sock"));
        await using var connection = await FastCgiConnection.ConnectAsync(peer.EndPoint, CancellationToken.None);
        var running = connection.ExecuteAsync(Parameters(), null, _ => ValueTask.CompletedTask, new FastCgiErrorOutput(1024), true, CancellationToken.None);
        await peer.ReadUntilAsync(FastCgiRecordType.Stdin, emptyRecord: true);

        await peer.SendAsync(FastCgiRecordType.Stdout, 1, "Status: 200 OK\r\n\r\npartial"u8.ToArray());
        await peer.CloseAsync();

        var error = await Assert.ThrowsAsync<FastCgiProtocolException>(() => running);
        Assert.Contains("closed the connection before it ended the request", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnswerForAnotherRequest_IsAProtocolError()
    {
        await using var peer = Peer.Listen(Path.Combine(_directory.Path, "c.sock"));
        await using var connection = await FastCgiConnection.ConnectAsync(peer.EndPoint, CancellationToken.None);
        var running = connection.ExecuteAsync(Parameters(), null, _ => ValueTask.CompletedTask, new FastCgiErrorOutput(1024), true, CancellationToken.None);
        await peer.ReadUntilAsync(FastCgiRecordType.Stdin, emptyRecord: true);

        await peer.SendAsync(FastCgiRecordType.Stdout, 9, "Status: 200 OK\r\n\r\n"u8.ToArray());

        var error = await Assert.ThrowsAsync<FastCgiProtocolException>(() => running);
        Assert.Contains("request 9 while request 1 ran", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Body_IsStreamedAsStdinRecords_AndTheErrorOutputKept()
    {
        await using var peer = Peer.Listen(Path.Combine(_directory.Path, "d.sock"));
        await using var connection = await FastCgiConnection.ConnectAsync(peer.EndPoint, CancellationToken.None);
        var body = new byte[100_000];
        Random.Shared.NextBytes(body);
        var errors = new FastCgiErrorOutput(1024);
        var output = new List<byte>();
        var running = connection.ExecuteAsync(
            Parameters(), new MemoryStream(body), piece => { output.AddRange(piece.ToArray()); return ValueTask.CompletedTask; }, errors, true, CancellationToken.None);

        var received = await peer.ReadUntilAsync(FastCgiRecordType.Stdin, emptyRecord: true);
        await peer.SendAsync(FastCgiRecordType.Stderr, 1, "oops"u8.ToArray());
        await peer.SendAsync(FastCgiRecordType.Stdout, 1, "Status: 201 Created\r\n\r\nok"u8.ToArray());
        await peer.SendAsync(FastCgiRecordType.EndRequest, 1, [0, 0, 0, 0, 0, 0, 0, 0]);

        Assert.Equal((0, FastCgiProtocolStatus.RequestComplete), await running);
        Assert.Equal(body, received.Where(r => r.Type == FastCgiRecordType.Stdin).SelectMany(r => r.Content).ToArray());
        Assert.All(received.Where(r => r.Type == FastCgiRecordType.Stdin), r => Assert.InRange(r.Content.Length, 0, FastCgiRecordWriter.StreamChunkLength));
        Assert.Equal("Status: 201 Created\r\n\r\nok", System.Text.Encoding.ASCII.GetString(output.ToArray()));
        Assert.Equal("oops", errors.ToString());
    }

    [Fact]
    public async Task AnIdleConnectionTheApplicationClosed_IsSeenClosed_AnOpenOneIsNot()
    {
        await using var peer = Peer.Listen(Path.Combine(_directory.Path, "e.sock"));
        await using var connection = await FastCgiConnection.ConnectAsync(peer.EndPoint, CancellationToken.None);
        var running = connection.ExecuteAsync(Parameters(), null, _ => ValueTask.CompletedTask, new FastCgiErrorOutput(1024), true, CancellationToken.None);
        await peer.ReadUntilAsync(FastCgiRecordType.Stdin, emptyRecord: true);
        await peer.SendAsync(FastCgiRecordType.Stdout, 1, "Status: 200 OK\r\n\r\n"u8.ToArray());
        await peer.SendAsync(FastCgiRecordType.EndRequest, 1, [0, 0, 0, 0, 0, 0, 0, 0]);
        await running;

        var whileOpen = connection.IsClosedByPeer;
        await peer.CloseAsync();

        Assert.False(whileOpen);
        Assert.True(connection.IsClosedByPeer);
    }

    private static Dictionary<string, string> Parameters() => new() { ["REQUEST_METHOD"] = "POST", ["PATH_INFO"] = "/" };

    /// <summary>The application's side of one connection, on a real Unix socket.</summary>
    private sealed class Peer : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly Task<Socket> _accepted;
        private PipeReader? _reader;
        private NetworkStream? _stream;

        private Peer(Socket listener, UnixDomainSocketEndPoint endPoint)
        {
            _listener = listener;
            EndPoint = endPoint;
            _accepted = listener.AcceptAsync();
        }

        public UnixDomainSocketEndPoint EndPoint { get; }

        public static Peer Listen(string path)
        {
            var endPoint = new UnixDomainSocketEndPoint(path);
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(endPoint);
            listener.Listen(1);
            return new Peer(listener, endPoint);
        }

        /// <summary>Reads records until one of <paramref name="type"/> (the empty one that ends a stream, if asked) arrives.</summary>
        public async Task<List<(FastCgiRecordType Type, ushort RequestId, byte[] Content)>> ReadUntilAsync(FastCgiRecordType type, bool emptyRecord)
        {
            var reader = await ReaderAsync();
            var records = new List<(FastCgiRecordType, ushort, byte[])>();
            while (true)
            {
                var result = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                var buffer = result.Buffer;
                var done = false;
                while (!done && FastCgiRecordReader.TryRead(ref buffer, out var header, out var content))
                {
                    records.Add((header.Type, header.RequestId, content.ToArray()));
                    done = header.Type == type && (!emptyRecord || header.ContentLength == 0);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (done)
                {
                    return records;
                }

                Assert.False(result.IsCompleted, $"The connection closed before a {type} record.");
            }
        }

        public async Task SendAsync(FastCgiRecordType type, ushort requestId, byte[] content)
        {
            await ReaderAsync();
            var writer = new ArrayBufferWriter<byte>();
            var header = FastCgiRecordHeader.For(type, requestId, content.Length);
            header.Write(writer.GetSpan(FastCgiRecordHeader.Length));
            writer.Advance(FastCgiRecordHeader.Length);
            writer.Write(content);
            writer.Write(new byte[header.PaddingLength]);
            await _stream!.WriteAsync(writer.WrittenMemory);
        }

        public async Task CloseAsync()
        {
            await ReaderAsync();
            _stream!.Socket.Shutdown(SocketShutdown.Both);
            await _stream.DisposeAsync();
        }

        public async ValueTask DisposeAsync()
        {
            if (_stream is not null)
            {
                await _stream.DisposeAsync();
            }

            _listener.Dispose();
        }

        private async Task<PipeReader> ReaderAsync()
        {
            if (_reader is null)
            {
                _stream = new NetworkStream(await _accepted.WaitAsync(TimeSpan.FromSeconds(30)), ownsSocket: true);
                _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));
            }

            return _reader;
        }
    }
}
