using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.Workers;

/// <summary>
/// What a worker runs, wherever it lives: an instance of the host's .NET application in this process, or an
/// application in a child process reached over a socket. The pool drives every kind through the same life:
/// created, warmed (started), given requests, drained (by the pool), then disposed (stopped).
/// </summary>
internal interface IWorkerApplication : IAsyncDisposable
{
    /// <summary>
    /// Gets a token that fires when the application ended on its own (a child process that exited): the pool
    /// replaces the worker (<see cref="WorkerRecycleReasons.Crashed"/>). <see cref="CancellationToken.None"/>
    /// for an application that cannot end without the pool.
    /// </summary>
    CancellationToken Exited { get; }

    /// <summary>
    /// Gets a token that fires when what the application loads on its own changed (Trac's plugins, <c>.egg</c> and
    /// <c>.py</c> files in <c>&lt;env&gt;/plugins</c>): the pool replaces the worker, overlapped
    /// (<see cref="WorkerRecycleReasons.PluginsChanged"/>), if plugin changes recycle workers.
    /// </summary>
    CancellationToken Outdated { get; }

    /// <summary>
    /// Gets the memory the application uses on its own, in bytes, checked against <see cref="WorkerOptions.MemoryLimit"/>;
    /// <see langword="null"/> for an application inside this process, whose memory is the process's working set.
    /// </summary>
    long? MemoryBytes { get; }

    /// <summary>Prepares (or starts) the application before it gets requests; the old worker serves meanwhile.</summary>
    Task WarmUpAsync(CancellationToken cancellationToken);

    /// <summary>Handles one request.</summary>
    Task DispatchAsync(HttpContext context);
}
