using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Trac.Hosting.FastCgi;

namespace Trac.Hosting.Workers;

/// <summary>
/// One FastCGI worker process: where it listens (a private <c>0700</c> socket directory, or a loopback port), the
/// process itself (its standard input held open, so that a process that watches it ends with the host; its output
/// logged), its first connection once it listens, its resident memory, and its stop: <c>SIGTERM</c>, then a kill
/// after the grace period.
/// </summary>
internal sealed partial class WorkerProcess(FastCgiProcessSettings settings, TracWorkerContext worker, ILogger logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _exited = new();
    private readonly ProcessOutput _output = new(logger, worker.Key);
    private Process? _process;
    private string? _directory;
    private EndPoint? _endPoint;

    /// <summary>Gets a token that fires when the process has exited.</summary>
    public CancellationToken Exited => _exited.Token;

    /// <summary>Gets where the process listens, once it does.</summary>
    public EndPoint EndPoint => _endPoint ?? throw new InvalidOperationException("The worker process is not listening yet.");

    /// <summary>Gets the process's resident memory, or <see langword="null"/> when it is not running.</summary>
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

    /// <summary>Starts the process and returns its first connection, once it listens.</summary>
    public async Task<FastCgiConnection> StartAsync(CancellationToken cancellationToken)
    {
        _process = StartProcess(PrepareAddress());
        return await ConnectWhenListeningAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
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
    }

    /// <summary>Chooses where the process listens and returns the argument that tells it.</summary>
    private string PrepareAddress()
    {
        if (settings.Transport == FastCgiTransport.Tcp)
        {
            if (settings.AnnouncesAddress)
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

        _directory = Path.Combine(settings.SocketRoot, $"trac-w{Environment.ProcessId}-{Guid.NewGuid():N}"[..28]);
        Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var socket = Path.Combine(_directory, "fcgi.sock");
        _endPoint = new UnixDomainSocketEndPoint(socket);
        return socket;
    }

    private Process StartProcess(string address)
    {
        var start = new ProcessStartInfo(settings.Command)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in settings.Arguments)
        {
            start.ArgumentList.Add(argument.Replace(FastCgiOptions.AddressPlaceholder, address, StringComparison.Ordinal));
        }

        foreach (var (name, value) in settings.Environment.Concat(settings.WorkerVariables?.Invoke(worker) ?? []))
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.Exited += (_, _) => OnExited();
        process.OutputDataReceived += (_, e) => _output.OnOutput(e.Data, settings.AnnouncesAddress);
        process.ErrorDataReceived += (_, e) => _output.OnError(e.Data);
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            process.Dispose();
            throw new InvalidOperationException($"The worker process could not be started ({settings.CommandLine}): {e.Message}. {settings.StartHint}", e);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task<FastCgiConnection> ConnectWhenListeningAsync(CancellationToken cancellationToken)
    {
        if (settings.AnnouncesAddress)
        {
            var announced = await _output.Listening.WaitAsync(cancellationToken).ContinueWith(
                t => t.IsCompletedSuccessfully ? t.Result : null, cancellationToken, TaskContinuationOptions.None, TaskScheduler.Default);
            if (announced is null)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw await NotListeningAsync();
            }

            _endPoint ??= ParseAnnounced(announced);
            return await FastCgiConnection.ConnectAsync(_endPoint, cancellationToken);
        }

        while (true)
        {
            if (_exited.IsCancellationRequested)
            {
                throw await NotListeningAsync();
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

    private async Task<InvalidOperationException> NotListeningAsync()
    {
        // Its exit, then the end of its error output (read on another thread), each waited for a bounded time.
        using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try
            {
                await _process!.WaitForExitAsync(bound.Token);
                await _output.ErrorsEnded.WaitAsync(bound.Token);
            }
            catch (OperationCanceledException)
            {
                // Reported as it is.
            }
        }

        var code = _process!.HasExited ? _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "unknown";
        var errors = _output.ErrorTail;
        return new InvalidOperationException(
            $"The worker process ({settings.CommandLine}) exited with status {code} before it listened" +
            (errors.Length > 0 ? $"; its error output ends: {errors}" : "; it wrote no error output") + $". {settings.StartHint}");
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

            using var grace = new CancellationTokenSource(settings.StopTimeout);
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

    private void OnExited()
    {
        try
        {
            _exited.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Stopped and disposed before the event came: nobody listens any more.
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
