using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http;
using Trac.Hosting.Common;
using Trac.Hosting.Environments;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.FastCgi;

namespace Trac.Hosting.Workers;

/// <summary>
/// A worker application that is a FastCGI process: started (and asked for its project's front page) while the old
/// worker serves, given requests over kept connections on its private Unix socket, watched (its exit is the worker's
/// <see cref="IWorkerApplication.Exited"/>; its resident memory its <see cref="IWorkerApplication.MemoryBytes"/>), and
/// stopped with <c>SIGTERM</c>, then killed after the grace period.
/// </summary>
internal sealed partial class FastCgiProcessApplication(FastCgiProcessSettings settings, TracWorkerContext worker) : IWorkerApplication
{
    private static readonly byte[] s_badGateway = "Bad Gateway: the Trac process did not answer this request properly; the server log says why."u8.ToArray();

    private readonly CancellationTokenSource _exited = new();
    private readonly ConcurrentBag<FastCgiConnection> _idle = [];
    private Process? _process;
    private string? _directory;
    private UnixDomainSocketEndPoint? _endPoint;

    public CancellationToken Exited => _exited.Token;

    public long? MemoryBytes
    {
        get
        {
            if (_process is not { HasExited: false } process)
            {
                return null;
            }

            process.Refresh();
            return process.WorkingSet64;
        }
    }

    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("FastCGI worker processes listen on Unix sockets; on Windows a loopback TCP address is needed.");
        }

        _directory = Path.Combine(settings.SocketRoot, $"w{Environment.ProcessId}-{Guid.NewGuid():N}"[..24]);
        Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var socket = Path.Combine(_directory, "fcgi.sock");
        _endPoint = new UnixDomainSocketEndPoint(socket);
        var start = new ProcessStartInfo(settings.Command) { UseShellExecute = false, RedirectStandardInput = true };
        foreach (var argument in settings.Arguments)
        {
            start.ArgumentList.Add(argument.Replace(FastCgiProcessSettings.SocketPlaceholder, socket, StringComparison.Ordinal));
        }

        foreach (var (name, value) in settings.Environment)
        {
            start.Environment[name] = value;
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"'{settings.Command}' could not be started.");
        _process.EnableRaisingEvents = true;
        _process.Exited += (_, _) => _exited.Cancel();
        if (_process.HasExited)
        {
            _exited.Cancel();
        }

        // Listening is the process's first sign of life; then it opens its environment on the first request.
        var connection = await ConnectWhenListeningAsync(cancellationToken);
        var head = new CgiResponseReader();
        var (status, _) = await connection.ExecuteAsync(
            WarmUpVariables(), body: null, piece => { head.Feed(piece); return ValueTask.CompletedTask; },
            new FastCgiErrorOutput(4096), keepConnection: true, cancellationToken);
        if (head.Head is not { StatusCode: < 500 })
        {
            await connection.DisposeAsync();
            throw new InvalidOperationException(
                $"The Trac process of '{worker.Environment?.Name}' answered its warm-up request with {head.Head?.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no response"} (exit status {status}).");
        }

        _idle.Add(connection);
    }

    public async Task DispatchAsync(HttpContext context)
    {
        var connection = _idle.TryTake(out var kept) ? kept : await FastCgiConnection.ConnectAsync(_endPoint!, context.RequestAborted);
        var reader = new CgiResponseReader();
        var response = context.Response;
        try
        {
            var body = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) ? null : context.Request.Body;
            await connection.ExecuteAsync(
                CgiVariables.For(context, worker.Environment?.Path, context.GetRemoteUser(), context.User.Identity?.AuthenticationType),
                body,
                async piece =>
                {
                    var wasComplete = reader.Head is not null;
                    var rest = reader.Feed(piece);
                    if (!wasComplete && reader.Head is { } head)
                    {
                        head.ApplyTo(response);
                    }

                    foreach (var segment in rest)
                    {
                        await response.Body.WriteAsync(segment, context.RequestAborted);
                    }
                },
                new FastCgiErrorOutput(64 * 1024), keepConnection: true, context.RequestAborted);
            if (reader.Head is null)
            {
                throw new FastCgiProtocolException("The application ended the request without a CGI header section.");
            }

            _idle.Add(connection);
        }
        catch (Exception e) when (e is FastCgiProtocolException or IOException or SocketException && !context.RequestAborted.IsCancellationRequested)
        {
            await connection.DisposeAsync();
            if (!response.HasStarted)
            {
                response.Headers.Clear();
                await TracResponses.WriteAsync(context, StatusCodes.Status502BadGateway, "text/plain; charset=utf-8", s_badGateway);
                return;
            }

            context.Abort();
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        while (_idle.TryTake(out var connection))
        {
            await connection.DisposeAsync();
        }

        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                if (!OperatingSystem.IsWindows())
                {
                    _ = Kill(process.Id, 15);
                }

                using var grace = new CancellationTokenSource(settings.StopGrace);
                try
                {
                    await process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }
            }

            process.Dispose();
        }

        if (_directory is not null && Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        _exited.Dispose();
    }

    private async Task<FastCgiConnection> ConnectWhenListeningAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_exited.IsCancellationRequested)
            {
                throw new InvalidOperationException($"'{settings.Command}' exited with {_process!.ExitCode} before it listened on its socket.");
            }

            try
            {
                return await FastCgiConnection.ConnectAsync(_endPoint!, cancellationToken);
            }
            catch (SocketException)
            {
                // Not listening yet: look again shortly (the start timeout bounds the wait).
                await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
            }
        }
    }

    /// <summary>The variables of the warm-up request: an anonymous <c>GET</c> of the project's front page from loopback.</summary>
    private List<KeyValuePair<string, string>> WarmUpVariables()
    {
        var request = new DefaultHttpContext();
        request.Request.Method = HttpMethods.Get;
        request.Request.Protocol = "HTTP/1.1";
        request.Request.PathBase = worker.Environment is { } environment ? "/" + environment.Name : PathString.Empty;
        request.Request.Path = "/";
        request.Request.Host = new HostString("localhost");
        request.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        return CgiVariables.For(request, worker.Environment?.Path, remoteUser: null, authenticationType: null);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Makes a <see cref="FastCgiProcessApplication"/> per worker.</summary>
    internal sealed class Factory(FastCgiProcessSettings settings) : IWorkerApplicationFactory
    {
        public IWorkerApplication Create(IServiceProvider services, TracWorkerContext context) => new FastCgiProcessApplication(settings, context);
    }
}
