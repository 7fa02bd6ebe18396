using Microsoft.Extensions.Primitives;

namespace Trac.Hosting.Workers;

/// <summary>
/// The workers of the Trac pipeline's <c>RecycleWorkers()</c> stage, from the host's services: inspect them and
/// recycle one on demand.
/// </summary>
public interface IWorkerPool
{
    /// <summary>
    /// Gets a snapshot of every worker, serving, draining or aborted with requests still running; a worker is gone
    /// from it once it has stopped.
    /// </summary>
    IReadOnlyList<TracWorkerInfo> Workers { get; }

    /// <summary>Gets the limits the pool runs with, after every adjustment made in <c>RecycleWorkers(o =&gt; ...)</c>.</summary>
    TracWorkerLimits Limits { get; }

    /// <summary>
    /// Returns the pool key of a project: the full path of its environment; with <see cref="WorkerScope.Shared"/>,
    /// <c>shared</c> for every project the pool knows. The full path of a project the pool knows is returned as it is.
    /// </summary>
    /// <param name="project">The project's name (a listed project, or the single environment), or its full path.</param>
    /// <returns>The key, for <see cref="RecycleAsync"/>, <see cref="GetChangeToken"/> and <see cref="TracWorkerInfo.Key"/>.</returns>
    /// <exception cref="ArgumentException">No project of that name or path is known.</exception>
    string GetKey(string project);

    /// <summary>
    /// Replaces the worker of <paramref name="key"/> (overlapped: the old one serves until the new one is warm), or
    /// does nothing when the project has no worker yet or it is already being recycled.
    /// </summary>
    /// <param name="key">The project's name (<c>alpha</c>), the pool key (the environment's full path, or <c>shared</c>),
    /// or the project's full path.</param>
    /// <param name="reason">Why, for logs and metrics; <see cref="WorkerRecycleReasons.Manual"/> by default.</param>
    /// <param name="cancellationToken">Cancels waiting for the switch (not the recycle).</param>
    /// <returns>A task that completes once new requests go to the replacement.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> names no project the host knows.</exception>
    Task RecycleAsync(string key, string reason = WorkerRecycleReasons.Manual, CancellationToken cancellationToken = default);

    /// <summary>Returns a token that fires the next time the worker of <paramref name="key"/> is replaced or retired.</summary>
    /// <param name="key">The project's name, or the pool key: the full path of a project the host knows (listed or
    /// requested), or <c>shared</c>.</param>
    /// <returns>The change token.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> names no project the host knows (it was never
    /// requested or listed, or it was removed).</exception>
    IChangeToken GetChangeToken(string key);
}
