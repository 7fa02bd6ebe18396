using Microsoft.Extensions.Primitives;

namespace Trac.Hosting.Workers;

/// <summary>
/// The <see cref="IWorkerPool"/> of the host's services: forwards to the pool the Trac pipeline's
/// <c>RecycleWorkers()</c> stage built, and says so clearly when there is none.
/// </summary>
internal sealed class WorkerPoolAccessor : IWorkerPool
{
    private WorkerPool? _pool;

    public IReadOnlyList<TracWorkerInfo> Workers => Pool.Workers;

    public TracWorkerLimits Limits => Pool.Limits;

    internal WorkerPool? Current => Volatile.Read(ref _pool);

    private WorkerPool Pool => Current ?? throw new InvalidOperationException(
        "The Trac pipeline has no worker pool: add .RecycleWorkers() to app.UseTrac(...), and use IWorkerPool after the pipeline is built.");

    public Task RecycleAsync(string key, string reason = WorkerRecycleReasons.Manual, CancellationToken cancellationToken = default) =>
        Pool.RecycleAsync(key, reason, cancellationToken);

    public IChangeToken GetChangeToken(string key) => Pool.GetChangeToken(key);

    public string GetKey(string project) => Pool.GetKey(project);

    internal void Set(WorkerPool pool) => Volatile.Write(ref _pool, pool);
}
