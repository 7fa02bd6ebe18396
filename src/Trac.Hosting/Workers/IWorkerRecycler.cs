namespace Trac.Hosting.Workers;

/// <summary>What the recycle triggers and the recycle policy may ask of the pool.</summary>
internal interface IWorkerRecycler
{
    /// <summary>Gets the serving worker of every key, with its slot.</summary>
    IEnumerable<(WorkerSlot Slot, Worker Worker)> Serving { get; }

    /// <summary>Replaces the worker (overlapped), from the thread pool, if it is still its slot's worker.</summary>
    void Recycle(WorkerSlot slot, Worker worker, string reason);

    /// <summary>Replaces the worker of <paramref name="worker"/>'s key, if the key still has a slot.</summary>
    void Recycle(Worker worker, string reason);

    /// <summary>Retires the worker without a replacement: the key's next request starts a fresh one.</summary>
    void Retire(WorkerSlot slot, Worker worker, string reason);
}
