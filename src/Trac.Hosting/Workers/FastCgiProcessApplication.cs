using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
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
internal sealed partial class FastCgiProcessApplication : IWorkerApplication
{
    private static readonly byte[] s_badGateway = "Bad Gateway: the worker process did not answer this request properly; the server log says why."u8.ToArray();

    private readonly FastCgiProcessSettings _settings;
    private readonly TracWorkerContext _worker;
    private readonly ILogger _logger;
    private readonly Func<string, IDisposable>? _watchPlugins;
    private readonly CancellationTokenSource _exited = new();
    private readonly CancellationTokenSource _outdated = new();
    private readonly ConcurrentBag<FastCgiConnection> _idle = [];
    private readonly ConcurrentDictionary<string, IDisposable> _watchedEnvironments = new(StringComparer.Ordinal);
    private readonly ProcessOutput _output;
    private Process? _process;
    private string? _directory;
    private EndPoint? _endPoint;

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
        _output = new ProcessOutput(logger, worker.Key);
        if (watchPlugins is not null)
        {
            _watchPlugins = path => watchPlugins(path, _outdated.Cancel);
        }
    }

    public CancellationToken Exited => _exited.Token;

    public CancellationToken Outdated => _outdated.Token;

    public long? MemoryBytes
    {
        get
        {
            try
            {
                if (_process is not { HasExited: false } process)
                {
                    return null;
                }

                process.Refresh();
                return process.WorkingSet64;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }

    /// <summary>Gets the process's id once started, for logs and tests.</summary>
    internal int? ProcessId => _process?.Id;

    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        var address = PrepareAddress();
        _process = StartProcess(address);
        WatchPlugins(_worker.Environment?.Path);

        // Listening is the process's first sign of life; then it opens its environment on the first request.
        var connection = await ConnectWhenListeningAsync(cancellationToken);
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
        var kept = _idle.TryTake(out var connection);
        while (true)
        {
            var reader = new CgiResponseReader();
            var errors = new FastCgiErrorOutput(_settings.MaxErrorOutput);
            var wrote = false;
            try
            {
                connection ??= await FastCgiConnection.ConnectAsync(_endPoint!, context.RequestAborted);
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
                LogErrorOutput(request, errors);
                if (reader.Head is null)
                {
                    throw new FastCgiProtocolException("The application ended the request without a CGI header section.");
                }

                _idle.Add(connection);
                return;
            }
            catch (Exception e) when (e is FastCgiProtocolException or IOException or SocketException && !context.RequestAborted.IsCancellationRequested)
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                    connection = null;
                }

                // A kept connection the process closed while idle: a request without a body that got no answer yet
                // is sent again, once, on a new connection.
                if (kept && !wrote && body is null && !response.HasStarted && !_exited.IsCancellationRequested)
                {
                    kept = false;
                    continue;
                }

                LogErrorOutput(request, errors);
                WorkerLog.BadGateway(_logger, _worker.Key, request.Method, request.Path.Value ?? "/", e.Message);
                if (!response.HasStarted)
                {
                    response.Headers.Clear();
                    await TracResponses.WriteAsync(context, StatusCodes.Status502BadGateway, "text/plain; charset=utf-8", s_badGateway);
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
        foreach (var watch in _watchedEnvironments.Values)
        {
            watch.Dispose();
        }

        while (_idle.TryTake(out var connection))
        {
            await connection.DisposeAsync();
        }

        if (_process is { } process)
        {
            await StopAsync(process);
            process.Dispose();
        }

        if (_directory is not null && Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        _exited.Dispose();
        _outdated.Dispose();
    }

    /// <summary>Chooses where the process listens and returns the argument that tells it.</summary>
    private string PrepareAddress()
    {
        if (_settings.Transport == FastCgiTransport.Tcp)
        {
            if (_settings.AnnouncesAddress)
            {
                // Any free port: the process says which, so no port is chosen here and taken by someone else first.
                return "tcp:127.0.0.1:0";
            }

            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var endPoint = (IPEndPoint)probe.LocalEndPoint!;
            _endPoint = endPoint;
            return $"127.0.0.1:{endPoint.Port.ToString(CultureInfo.InvariantCulture)}";
        }

        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("FastCGI worker processes on Windows listen on loopback TCP: set Transport to Tcp.");
        }

        _directory = Path.Combine(_settings.SocketRoot, $"trac-w{Environment.ProcessId}-{Guid.NewGuid():N}"[..28]);
        Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var socket = Path.Combine(_directory, "fcgi.sock");
        _endPoint = new UnixDomainSocketEndPoint(socket);
        return socket;
    }

    private Process StartProcess(string address)
    {
        var start = new ProcessStartInfo(_settings.Command)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in _settings.Arguments)
        {
            start.ArgumentList.Add(argument.Replace(FastCgiOptions.AddressPlaceholder, address, StringComparison.Ordinal));
        }

        foreach (var (name, value) in _settings.Environment.Concat(_settings.WorkerVariables?.Invoke(_worker) ?? []))
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.Exited += (_, _) => _exited.Cancel();
        process.OutputDataReceived += (_, e) => _output.OnOutput(e.Data, _settings.AnnouncesAddress);
        process.ErrorDataReceived += (_, e) => _output.OnError(e.Data);
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            process.Dispose();
            throw new InvalidOperationException($"The worker process could not be started ({_settings.CommandLine}): {e.Message}. {_settings.StartHint}", e);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void WatchPlugins(string? environmentPath)
    {
        if (_watchPlugins is null || environmentPath is null)
        {
            return;
        }

        lock (_watchedEnvironments)
        {
            if (!_watchedEnvironments.ContainsKey(environmentPath))
            {
                _watchedEnvironments[environmentPath] = _watchPlugins(environmentPath);
            }
        }
    }

    private async Task<FastCgiConnection> ConnectWhenListeningAsync(CancellationToken cancellationToken)
    {
        if (_settings.AnnouncesAddress)
        {
            var announced = await _output.Listening.WaitAsync(cancellationToken).ContinueWith(
                t => t.IsCompletedSuccessfully ? t.Result : null, cancellationToken, TaskContinuationOptions.None, TaskScheduler.Default);
            if (announced is null)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw NotListening();
            }

            _endPoint ??= ParseAnnounced(announced);
            return await FastCgiConnection.ConnectAsync(_endPoint, cancellationToken);
        }

        while (true)
        {
            if (_exited.IsCancellationRequested)
            {
                throw NotListening();
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

    private InvalidOperationException NotListening()
    {
        _process!.WaitForExit(TimeSpan.FromSeconds(5));
        var code = _process.HasExited ? _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "unknown";
        var errors = _output.ErrorTail;
        return new InvalidOperationException(
            $"The worker process ({_settings.CommandLine}) exited with status {code} before it listened" +
            (errors.Length > 0 ? $"; its error output ends: {errors}" : "; it wrote no error output") + $". {_settings.StartHint}");
    }

    private static EndPoint ParseAnnounced(string address)
    {
        var colon = address.LastIndexOf(':');
        return colon > 0 && !address.Contains('/', StringComparison.Ordinal) && int.TryParse(address[(colon + 1)..], CultureInfo.InvariantCulture, out var port)
            ? new IPEndPoint(IPAddress.Parse(address[..colon]), port)
            : new UnixDomainSocketEndPoint(address);
    }

    private async Task StopAsync(Process process)
    {
        try
        {
            if (process.HasExited)
            {
                return;
            }

            if (OperatingSystem.IsWindows())
            {
                process.Kill(entireProcessTree: true);
            }
            else
            {
                _ = Kill(process.Id, 15);
            }

            using var grace = new CancellationTokenSource(_settings.StopTimeout);
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
        catch (InvalidOperationException)
        {
            // It was never started, or is gone already.
        }
    }

    private void LogErrorOutput(HttpRequest request, FastCgiErrorOutput errors)
    {
        if (!errors.IsEmpty)
        {
            WorkerLog.ApplicationErrorOutput(_logger, _worker.Key, request.Method, request.Path.Value ?? "/", errors.ToString());
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
        return CgiVariables.For(request, _worker.Environment?.Path, remoteUser: null, authenticationType: null);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
