namespace Trac.Hosting.Workers;

/// <summary>What a recycle replaces.</summary>
public enum WorkerMode
{
    /// <summary>Workers are replaced inside the process, overlapped, without dropping a request.</summary>
    InProcess,

    /// <summary>
    /// The whole process is the worker, as in mod_wsgi daemon mode: when a limit is reached the health check turns
    /// unhealthy, and after <see cref="WorkerOptions.ProcessStopDelay"/> the application stops gracefully so that a
    /// supervisor (systemd, IIS, Kubernetes) starts a fresh process.
    /// </summary>
    Process,
}
