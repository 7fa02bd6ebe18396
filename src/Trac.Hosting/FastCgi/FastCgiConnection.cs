using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Trac.Hosting.FastCgi;

/// <summary>
/// One connection to a FastCGI application (a Unix domain socket or loopback TCP), running one request at a time:
/// the request's parameters and body go out as records, the body streamed in chunks as it is read; the application's
/// output is handed on as it arrives, its error output kept up to a limit, until its <c>FCGI_END_REQUEST</c>.
/// </summary>
internal sealed class FastCgiConnection : IAsyncDisposable
{
    // A whole record (8 + 65,535 + 255 bytes) must fit in what the reader buffers before it hands the record on.
    private static readonly StreamPipeReaderOptions s_readerOptions = new(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024);

    private readonly NetworkStream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private ushort _lastRequestId;

    private FastCgiConnection(Socket socket)
    {
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = PipeReader.Create(_stream, s_readerOptions);
        _writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));
    }

    /// <summary>Connects to an application listening on <paramref name="endPoint"/>.</summary>
    public static async Task<FastCgiConnection> ConnectAsync(EndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = endPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken);
            return new FastCgiConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Gets whether the application closed this idle connection (its end of the socket is closed and nothing is left
    /// to read): checked before a kept connection is used again, so that a request is not sent into a closed socket.
    /// </summary>
    public bool IsClosedByPeer
    {
        get
        {
            try
            {
                var socket = _stream.Socket;
                return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// Runs one request: sends its parameters and its body, and hands each piece of the application's output to
    /// <paramref name="output"/> as it arrives. Returns how the application ended the request.
    /// </summary>
    /// <param name="parameters">The CGI variables.</param>
    /// <param name="body">The request body, read in chunks and sent as it is read; <see langword="null"/> for none.</param>
    /// <param name="output">Receives the application's output (CGI headers, then the body); the piece is valid only during the call.</param>
    /// <param name="errors">Keeps what the application writes to its error output.</param>
    /// <param name="keepConnection">Asks the application to keep the connection open for the next request.</param>
    /// <param name="cancellationToken">Stops sending and waiting; the connection cannot be used afterwards.</param>
    /// <exception cref="FastCgiProtocolException">The application broke the protocol, or closed the connection before it ended the request.</exception>
    public async Task<(int ApplicationStatus, FastCgiProtocolStatus ProtocolStatus)> ExecuteAsync(
        IEnumerable<KeyValuePair<string, string>> parameters, Stream? body, Func<ReadOnlySequence<byte>, ValueTask> output,
        FastCgiErrorOutput errors, bool keepConnection, CancellationToken cancellationToken)
    {
        var requestId = _lastRequestId = (ushort)((_lastRequestId % ushort.MaxValue) + 1);
        try
        {
            return await RunAsync(requestId, parameters, body, output, errors, keepConnection, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away: the application may stop working on the request.
            await AbortAsync(requestId);
            throw;
        }
    }

    private async Task<(int ApplicationStatus, FastCgiProtocolStatus ProtocolStatus)> RunAsync(
        ushort requestId, IEnumerable<KeyValuePair<string, string>> parameters, Stream? body, Func<ReadOnlySequence<byte>, ValueTask> output,
        FastCgiErrorOutput errors, bool keepConnection, CancellationToken cancellationToken)
    {
        FastCgiRecordWriter.WriteBeginRequest(_writer, requestId, keepConnection);
        FastCgiRecordWriter.WriteParams(_writer, requestId, parameters);
        if (body is not null)
        {
            var chunk = ArrayPool<byte>.Shared.Rent(FastCgiRecordWriter.StreamChunkLength);
            try
            {
                int read;
                while ((read = await body.ReadAsync(chunk.AsMemory(0, FastCgiRecordWriter.StreamChunkLength), cancellationToken)) > 0)
                {
                    FastCgiRecordWriter.WriteStream(_writer, FastCgiRecordType.Stdin, requestId, chunk.AsSpan(0, read));
                    await _writer.FlushAsync(cancellationToken);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
        }

        FastCgiRecordWriter.WriteEndOfStream(_writer, FastCgiRecordType.Stdin, requestId);
        await _writer.FlushAsync(cancellationToken);

        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            try
            {
                while (FastCgiRecordReader.TryRead(ref buffer, out var header, out var content))
                {
                    if (header.RequestId != requestId)
                    {
                        throw new FastCgiProtocolException($"The application answered for request {header.RequestId} while request {requestId} ran.");
                    }

                    switch (header.Type)
                    {
                        case FastCgiRecordType.Stdout when !content.IsEmpty:
                            await output(content);
                            break;
                        case FastCgiRecordType.Stderr:
                            errors.Append(content);
                            break;
                        case FastCgiRecordType.EndRequest:
                            return FastCgiRecordReader.ReadEndRequest(content);
                        case FastCgiRecordType.Stdout:
                            break;
                        default:
                            throw new FastCgiProtocolException($"The application sent an {header.Type} record in answer to a request.");
                    }
                }

                if (result.IsCompleted)
                {
                    throw new FastCgiProtocolException("The application closed the connection before it ended the request.");
                }
            }
            finally
            {
                _reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
    }

    /// <summary>Tells the application the client went away (<c>FCGI_ABORT_REQUEST</c>), as far as the connection still takes it.</summary>
    private async Task AbortAsync(ushort requestId)
    {
        try
        {
            FastCgiRecordWriter.WriteAbortRequest(_writer, requestId);
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _writer.FlushAsync(bounded.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection is given up either way.
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The socket first: nothing left in the writer is worth sending once the connection is given up, and a peer
        // that is alive but reads nothing must not hold the flush (and the request) forever. Completing the writer
        // and the reader then only releases their buffers.
        await _stream.DisposeAsync();
        try
        {
            await _writer.CompleteAsync();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
        }

        await _reader.CompleteAsync();
    }
}
