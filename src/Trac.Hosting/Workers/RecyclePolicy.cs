using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Workers;

/// <summary>
/// What a recycle replaces, chosen once from <see cref="WorkerOptions.Mode"/>: a worker inside the process
/// (<see cref="InProcessRecyclePolicy"/>) or the whole process (<see cref="ProcessRecyclePolicy"/>). The request
/// count limit, the lifetime limit and the memory limit ask the policy what to do.
/// </summary>
internal abstract class RecyclePolicy : IDisposable
{
    /// <summary>Returns the policy <paramref name="settings"/> ask for.</summary>
    public static RecyclePolicy For(
        WorkerSettings settings, IWorkerRecycler recycler, TimeProvider timeProvider, Action stopApplication, ILogger logger, TracMetrics metrics) =>
        settings.Mode == WorkerMode.Process
            ? new ProcessRecyclePolicy(settings, timeProvider, stopApplication, logger, metrics)
            : new InProcessRecyclePolicy(settings, recycler, timeProvider);

    /// <summary>Gets whether the process is being replaced (the health check reports unhealthy).</summary>
    public virtual bool IsProcessRetiring => false;

    /// <summary>Returns the request limit of a new worker (0: the worker counts no limit of its own).</summary>
    public abstract long RequestLimitOfNewWorker();

    /// <summary>Called after each request a worker finished; <paramref name="served"/> is its count so far.</summary>
    public abstract void OnRequestFinished(Worker worker, long served);

    /// <summary>Arms what the policy watches per worker (its lifetime), once the worker is started.</summary>
    public abstract void OnWorkerStarted(WorkerSlot slot, Worker worker);

    /// <summary>
    /// Called for a trigger: in process mode, begins replacing the process (once) and returns <see langword="true"/>,
    /// so the pool leaves the worker alone; in process, returns <see langword="false"/>: the pool replaces the worker.
    /// </summary>
    public abstract bool TryReplaceProcess(string reason);

    /// <summary>Called when the process's working set passed the memory limit: replace the oldest worker, or the process.</summary>
    public abstract void OnProcessMemoryExceeded(IEnumerable<(WorkerSlot Slot, Worker Worker)> serving);

    public virtual void Dispose()
    {
    }
}
