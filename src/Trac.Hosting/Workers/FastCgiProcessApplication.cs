using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Common;
using Trac.Hosting.Environments;
using Trac.Hosting.FastCgi;
using Trac.Hosting.RemoteUser;

namespace Trac.Hosting.Workers;

/// <summary>
/// A worker application that is a FastCGI process: started (and asked for its project's front page) while the old
/// worker serves, given requests over kept connections on its private socket, watched (its exit is the worker's
/// <see cref="IWorkerApplication.Exited"/>; its resident memory its <see cref="IWorkerApplication.MemoryBytes"/>; what
/// it loads on its own its <see cref="IWorkerApplication.Outdated"/>), and stopped with <c>SIGTERM</c>, then killed
/// after the grace period. Its standard input stays open while it runs: a process that watches it (Trac's does) ends
/// with the host, however the host ends.
/// </summary>
internal sealed class FastCgiProcessApplication : IWorkerApplication
{
    private static readonly byte[] s_badGateway = "Bad Gateway: the worker process did not answer this request properly; the server log says why."u8.ToArray();

    private readonly FastCgiProcessSettings _settings;
    private readonly TracWorkerContext _worker;
    private readonly ILogger _logger;
    private readonly Func<string, IDisposable>? _watchPlugins;
    private readonly WorkerProcess _process;
    private readonly CancellationTokenSource _outdated = new();
    private bool _disposed;
    private readonly ConcurrentBag<FastCgiConnection> _idle = [];
    private readonly ConcurrentDictionary<string, IDisposable> _watchedEnvironments = new(StringComparer.Ordinal);

    /// <param name="settings">How to run the process.</param>
    /// <param name="worker">The worker the process serves.</param>
    /// <param name="logger">Where the process's output and its requests' error output go.</param>
    /// <param name="watchPlugins">Watches what the application loads on its own in an environment (Trac's plugins):
    /// given the environment's path and the callback to run on a change; <see langword="null"/> for nothing to watch.</param>
    public FastCgiProcessApplication(
        FastCgiProcessSettings settings, TracWorkerContext worker, ILogger logger, Func<string, Action, IDisposable>? watchPlugins = null)
    {
        _settings = settings;
        _worker = worker;
        _logger = logger;
        _process = new WorkerProcess(settings, worker, logger);
        if (watchPlugins is not null)
        {
            _watchPlugins = path => watchPlugins(path, _outdated.Cancel);
        }
    }

    public CancellationToken Exited => _process.Exited;

    public CancellationToken Outdated => _outdated.Token;

    public long? MemoryBytes => _process.MemoryBytes;

    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        WatchPlugins(_worker.Environment?.Path);

        // Listening is the process's first sign of life; then it opens its environment on the first request.
        var connection = await _process.StartAsync(cancellationToken);
        var head = new CgiResponseReader();
        var errors = new FastCgiErrorOutput(_settings.MaxErrorOutput);
        try
        {
            var (status, _) = await connection.ExecuteAsync(
                WarmUpVariables(), body: null, piece => { head.Feed(piece); return ValueTask.CompletedTask; }, errors, keepConnection: true,
                cancellationToken);
            if (head.Head is not { StatusCode: < 500 })
            {
                throw new InvalidOperationException(
                    $"The worker process ({_settings.CommandLine}) answered its warm-up request (GET {WarmUpPath()}) with " +
                    $"{head.Head?.StatusCode.ToString(CultureInfo.InvariantCulture) ?? "no response"} (exit status {status})" +
                    (errors.IsEmpty ? "." : $": {errors}"));
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        _idle.Add(connection);
    }

    public async Task DispatchAsync(HttpContext context)
    {
        var request = context.Request;
        var environmentPath = context.GetTracEnvironment()?.Path ?? _worker.Environment?.Path;
        if (_worker.Environment is null && environmentPath is not null && !_watchedEnvironments.ContainsKey(environmentPath))
        {
            // A shared process loads each project's plugins when it first serves it.
            WatchPlugins(environmentPath);
        }

        var variables = CgiVariables.For(context, environmentPath, context.GetRemoteUser(), context.User.Identity?.AuthenticationType);
        var body = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || request.ContentLength == 0 ? null : request.Body;
        var response = context.Response;
        var kept = TakeKept(out var connection);
        while (true)
        {
            var reader = new CgiResponseReader();
            var errors = new FastCgiErrorOutput(_settings.MaxErrorOutput);
            var wrote = false;
            var ended = false;
            try
            {
                connection ??= await FastCgiConnection.ConnectAsync(_process.EndPoint, context.RequestAborted);
                await connection.ExecuteAsync(
                    variables,
                    body,
                    async piece =>
                    {
                        wrote = true;
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
                    errors, keepConnection: true, context.RequestAborted);
                ended = true;
                LogErrorOutput(request, errors);
                if (reader.Head is null)
                {
                    throw new FastCgiProtocolException("The application ended the request without a CGI header section.");
                }

                Return(connection);
                return;
            }
            catch (Exception e) when (e is FastCgiProtocolException or IOException or SocketException && !context.RequestAborted.IsCancellationRequested)
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                    connection = null;
                }

                // A kept connection the process closed while idle: a request without a body that the application never
                // answered (no output, no end of request) is sent again, once, on a new connection.
                if (kept && !wrote && !ended && body is null && !response.HasStarted && !_process.Exited.IsCancellationRequested)
                {
                    kept = false;
                    continue;
                }

                LogErrorOutput(request, errors);
                WorkerLog.BadGateway(_logger, WorkerSlots.ProjectOf(_worker.Key), request.Method, request.Path.Value ?? "/", e.Message);
                if (!response.HasStarted)
                {
                    response.Headers.Clear();
                    await TracResponses.WriteErrorAsync(context, StatusCodes.Status502BadGateway, TracErrors.BadGateway, s_badGateway);
                    return;
                }

                context.Abort();
                return;
            }
            catch
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                }

                throw;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_watchedEnvironments)
        {
            _disposed = true;
            foreach (var watch in _watchedEnvironments.Values)
            {
                watch.Dispose();
            }
        }

        while (_idle.TryTake(out var connection))
        {
            await connection.DisposeAsync();
        }

        await _process.DisposeAsync();
        _outdated.Dispose();
    }

    private void WatchPlugins(string? environmentPath)
    {
        if (_watchPlugins is null || environmentPath is null)
        {
            return;
        }

        lock (_watchedEnvironments)
        {
            if (!_disposed && !_watchedEnvironments.ContainsKey(environmentPath))
            {
                _watchedEnvironments[environmentPath] = _watchPlugins(environmentPath);
            }
        }
    }

    /// <summary>Takes a kept connection the process has not closed meanwhile; the closed ones are let go.</summary>
    private bool TakeKept([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out FastCgiConnection? connection)
    {
        while (_idle.TryTake(out connection))
        {
            if (!connection.IsClosedByPeer)
            {
                return true;
            }

            _ = connection.DisposeAsync().AsTask();
        }

        return false;
    }

    /// <summary>Keeps a connection for the next request, unless the application was disposed meanwhile (a request that outlived the drain).</summary>
    private void Return(FastCgiConnection connection)
    {
        _idle.Add(connection);
        if (Volatile.Read(ref _disposed) && _idle.TryTake(out var late))
        {
            _ = late.DisposeAsync().AsTask();
        }
    }

    private void LogErrorOutput(HttpRequest request, FastCgiErrorOutput errors)
    {
        if (!errors.IsEmpty)
        {
            WorkerLog.ApplicationErrorOutput(_logger, WorkerSlots.ProjectOf(_worker.Key), request.Method, request.Path.Value ?? "/", errors.ToString());
        }
    }

    private string WarmUpPath() => (_worker.Environment is { } environment ? "/" + environment.Name : string.Empty) + "/";

    /// <summary>The variables of the warm-up request: an anonymous <c>GET</c> of the project's front page from loopback.</summary>
    private List<KeyValuePair<string, string>> WarmUpVariables()
    {
        var request = new DefaultHttpContext();
        request.Request.Method = HttpMethods.Get;
        request.Request.Protocol = "HTTP/1.1";
        request.Request.PathBase = _worker.Environment is { } environment ? "/" + environment.Name : PathString.Empty;
        request.Request.Path = "/";
        request.Request.Host = new HostString("localhost");
        request.Connection.RemoteIpAddress = IPAddress.Loopback;
        var variables = CgiVariables.For(request, _worker.Environment?.Path, remoteUser: null, authenticationType: null);
        variables.Add(new(TracLauncher.WarmUpVariable, "1"));
        return variables;
    }
}
