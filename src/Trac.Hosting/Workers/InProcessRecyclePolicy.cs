namespace Trac.Hosting.Workers;

/// <summary>
/// Recycling inside the process (the default): each worker counts its own requests and lives its own lifetime,
/// each with its jitter drawn; past the memory limit the oldest in-process worker is replaced.
/// </summary>
internal sealed class InProcessRecyclePolicy(WorkerSettings settings, IWorkerRecycler recycler, TimeProvider timeProvider) : RecyclePolicy
{
    public override long RequestLimitOfNewWorker() => settings.DrawRequestLimit();

    public override void OnRequestFinished(Worker worker, long served)
    {
        if (worker.RequestLimit > 0 && served >= worker.RequestLimit && worker.TryRequestRecycle())
        {
            recycler.Recycle(worker, WorkerRecycleReasons.MaximumRequests);
        }
    }

    public override void OnWorkerStarted(WorkerSlot slot, Worker worker)
    {
        if (settings.MaxLifetime > TimeSpan.Zero)
        {
            worker.AddSubscription(timeProvider.CreateTimer(
                _ => recycler.Recycle(slot, worker, WorkerRecycleReasons.RestartInterval), null, settings.DrawLifetime(), Timeout.InfiniteTimeSpan));
        }
    }

    public override bool TryReplaceProcess(string reason) => false;

    public override void OnProcessMemoryExceeded(IEnumerable<(WorkerSlot Slot, Worker Worker)> serving)
    {
        // Only a worker whose application lives in this process can give the process's memory back.
        var oldest = serving.Where(p => p.Worker.Application?.MemoryBytes is null).MinBy(p => p.Worker.StartedTimestamp);
        if (oldest.Worker is { } worker)
        {
            recycler.Recycle(oldest.Slot, worker, WorkerRecycleReasons.MemoryLimit);
        }
    }
}
