namespace Trac.Hosting.FastCgi;

/// <summary>
/// What every FastCGI worker process shares, whatever it runs: its extra process variables, how the host reaches it,
/// how long it may take to stop, and how much of its error output is logged.
/// </summary>
public abstract class FastCgiProcessOptions
{
    private protected FastCgiProcessOptions()
    {
    }

    /// <summary>
    /// Gets the process variables set for the worker processes, on top of the host's own (the FastCGI guide's
    /// <c>-initial-env</c>, lighttpd's <c>bin-environment</c>, Apache's <c>SetEnv</c>/<c>DefaultInitEnv</c>).
    /// </summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Gets or sets how the host reaches a worker process.</summary>
    /// <value><see cref="FastCgiTransport.UnixSocket"/>; <see cref="FastCgiTransport.Tcp"/> on Windows.</value>
    public FastCgiTransport Transport { get; set; } = OperatingSystem.IsWindows() ? FastCgiTransport.Tcp : FastCgiTransport.UnixSocket;

    /// <summary>
    /// Gets or sets the directory under which each worker process gets its private socket directory (mode
    /// <c>0700</c>, removed when the process stops). Must exist and belong to the host's user.
    /// </summary>
    /// <value><see langword="null"/>: the system's temporary directory.</value>
    public string? SocketDirectory { get; set; }

    /// <summary>
    /// Gets or sets how long a worker process may take to exit after <c>SIGTERM</c> (once its requests are done, or the
    /// drain timeout passed) before it is killed.
    /// </summary>
    /// <value>10 seconds.</value>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets how many bytes of a request's error output (<c>FCGI_STDERR</c>) are logged; the log says how many
    /// more there were. Bounds what a flood of error output costs.
    /// </summary>
    /// <value>16384.</value>
    public int MaxErrorOutputPerRequest { get; set; } = 16 * 1024;

    /// <summary>Copies these options' values into <paramref name="target"/>.</summary>
    private protected void CopyTo(FastCgiProcessOptions target)
    {
        foreach (var (name, value) in Environment)
        {
            target.Environment[name] = value;
        }

        target.Transport = Transport;
        target.SocketDirectory = SocketDirectory;
        target.StopTimeout = StopTimeout;
        target.MaxErrorOutputPerRequest = MaxErrorOutputPerRequest;
    }
}
