using Microsoft.Extensions.Logging;

namespace Trac.Hosting.Workers;

/// <summary>
/// The standard output and error of a worker process: the address it announces, each line logged (up to a number of
/// lines, so that a process that floods its output does not flood the log), and the end of its error output kept for
/// the message of a process that did not start.
/// </summary>
internal sealed class ProcessOutput(ILogger logger, string key)
{
    private const int MaxLoggedLines = 1000;
    private const int KeptErrorLines = 20;

    private readonly TaskCompletionSource<string?> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errorsEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _errorTail = new();
    private int _logged;

    /// <summary>Gets the address the process announced, or <see langword="null"/> once its output ended without one.</summary>
    public Task<string?> Listening => _listening.Task;

    /// <summary>Gets a task that completes when the process's error output has ended (all of it read).</summary>
    public Task ErrorsEnded => _errorsEnded.Task;

    /// <summary>Gets the last lines of the process's error output.</summary>
    public string ErrorTail
    {
        get
        {
            lock (_errorTail)
            {
                return string.Join(" | ", _errorTail);
            }
        }
    }

    public void OnOutput(string? line, bool announces)
    {
        if (line is null)
        {
            _listening.TrySetResult(null);
            return;
        }

        if (announces && line.StartsWith(TracLauncher.ListeningPrefix, StringComparison.Ordinal))
        {
            _listening.TrySetResult(line[TracLauncher.ListeningPrefix.Length..].Trim());
            return;
        }

        Log(line, isError: false);
    }

    public void OnError(string? line)
    {
        if (line is null)
        {
            _errorsEnded.TrySetResult();
            return;
        }

        lock (_errorTail)
        {
            _errorTail.Enqueue(line);
            if (_errorTail.Count > KeptErrorLines)
            {
                _errorTail.Dequeue();
            }
        }

        Log(line, isError: true);
    }

    private void Log(string line, bool isError)
    {
        var count = Interlocked.Increment(ref _logged);
        if (count <= MaxLoggedLines)
        {
            WorkerLog.ProcessOutput(logger, WorkerSlots.ProjectOf(key), isError ? "stderr" : "stdout", line);
        }
        else if (count == MaxLoggedLines + 1)
        {
            WorkerLog.ProcessOutput(logger, WorkerSlots.ProjectOf(key), isError ? "stderr" : "stdout", $"(more than {MaxLoggedLines} lines: the rest is not logged)");
        }
    }
}
