using Trac.Hosting.FastCgi;

namespace Trac.Hosting.Workers;

/// <summary>
/// How to run a FastCGI application as a worker process, checked once: the command and its arguments
/// (<see cref="FastCgiOptions.AddressPlaceholder"/> stands for the address it must listen on), its process variables
/// (the worker's own are added by <see cref="WorkerVariables"/>), how it is reached, how long it may take to stop, and
/// how much of a request's error output is logged.
/// </summary>
internal sealed record FastCgiProcessSettings(
    string Command,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string> Environment,
    FastCgiTransport Transport,
    string SocketRoot,
    TimeSpan StopTimeout,
    int MaxErrorOutput)
{
    /// <summary>
    /// Gets a value indicating whether the process announces its address on standard output
    /// (<see cref="TracLauncher.ListeningPrefix"/>); otherwise the host connects until it answers.
    /// </summary>
    public bool AnnouncesAddress { get; init; }

    /// <summary>Gets the process variables of one worker's process (<c>TRAC_ENV</c>, <c>PYTHON_EGG_CACHE</c>), on top of <see cref="Environment"/>.</summary>
    public Func<TracWorkerContext, IEnumerable<KeyValuePair<string, string>>>? WorkerVariables { get; init; }

    /// <summary>Gets what a message about a process that did not start adds: what to install or set.</summary>
    public string StartHint { get; init; } = "Check Trac:FastCgi:Command and Trac:FastCgi:Arguments.";

    /// <summary>Gets the command line for messages.</summary>
    public string CommandLine =>
        string.Join(' ', Arguments.Prepend(Command).Select(a => a.Contains('\n', StringComparison.Ordinal) ? "<script>" : a));

    /// <summary>Checks the options of a general FastCGI process and makes its settings.</summary>
    /// <exception cref="InvalidOperationException">The options are not valid; the message names each problem.</exception>
    public static FastCgiProcessSettings Create(FastCgiOptions options)
    {
        var errors = Check(options, "Trac:FastCgi");
        if (string.IsNullOrWhiteSpace(options.Command))
        {
            errors.Add("Trac:FastCgi:Command is not set: name the program that runs the FastCGI application.");
        }
        else if (!options.Arguments.Any(a => a.Contains(FastCgiOptions.AddressPlaceholder, StringComparison.Ordinal)))
        {
            errors.Add($"Trac:FastCgi:Arguments do not contain {FastCgiOptions.AddressPlaceholder}: the program must be told where to listen.");
        }

        ThrowIfAny(errors);
        return new FastCgiProcessSettings(
            options.Command!, [.. options.Arguments], new Dictionary<string, string>(options.Environment, StringComparer.Ordinal), options.Transport,
            SocketRootOf(options), options.StopTimeout, options.MaxErrorOutputPerRequest);
    }

    /// <summary>Checks what every FastCGI process's options share.</summary>
    public static List<string> Check(FastCgiProcessOptions options, string section)
    {
        var errors = new List<string>();
        if (options.Transport is not (FastCgiTransport.UnixSocket or FastCgiTransport.Tcp))
        {
            errors.Add($"{section}:Transport must be UnixSocket or Tcp.");
        }

        if (options.StopTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{section}:StopTimeout must be positive (the time between SIGTERM and SIGKILL).");
        }

        if (options.MaxErrorOutputPerRequest < 0)
        {
            errors.Add($"{section}:MaxErrorOutputPerRequest must not be negative.");
        }

        if (options.Transport == FastCgiTransport.UnixSocket && OperatingSystem.IsWindows())
        {
            errors.Add($"{section}:Transport UnixSocket does not work on Windows, where Trac's FastCGI server needs a TCP address: set it to Tcp.");
        }

        var root = SocketRootOf(options);
        if (options.SocketDirectory is { } directory && !Directory.Exists(directory))
        {
            errors.Add($"{section}:SocketDirectory '{directory}' does not exist: create it (owned by the host's user) or leave it unset.");
        }
        else if (options.Transport == FastCgiTransport.UnixSocket && !OperatingSystem.IsWindows())
        {
            // Another user who may rename entries here could swap a process's private directory for one of their own.
            var mode = File.GetUnixFileMode(root);
            if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0 && (mode & UnixFileMode.StickyBit) == 0)
            {
                errors.Add($"{section}:SocketDirectory '{root}' may be written by other users and has no sticky bit: use a directory only the host's user may write (chmod 0700), or one with the sticky bit (like /tmp).");
            }

            // A Unix socket's path has room for about 100 bytes; the private directory and the socket's name take 45.
            if (System.Text.Encoding.UTF8.GetByteCount(root) > 55)
            {
                errors.Add($"{section}:SocketDirectory '{root}' is too long for a Unix socket's path (at most 55 bytes here): choose a shorter one.");
            }
        }

        foreach (var name in options.Environment.Keys.Where(n => n.Length == 0 || n.Contains('=', StringComparison.Ordinal)))
        {
            errors.Add($"{section}:Environment has a variable named '{name}': names must be non-empty and contain no '='.");
        }

        return errors;
    }

    /// <summary>Throws when <paramref name="errors"/> has any.</summary>
    public static void ThrowIfAny(List<string> errors)
    {
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join(System.Environment.NewLine, errors));
        }
    }

    public static string SocketRootOf(FastCgiProcessOptions options) => options.SocketDirectory ?? Path.GetTempPath();
}
