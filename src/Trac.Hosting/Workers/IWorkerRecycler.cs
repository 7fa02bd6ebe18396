namespace Trac.Hosting.Workers;

/// <summary>What the recycle triggers and the recycle policy may ask of the pool.</summary>
internal interface IWorkerRecycler
{
    /// <summary>Gets the serving worker of every key, with its slot.</summary>
    IEnumerable<(WorkerSlot Slot, Worker Worker)> Serving { get; }

    /// <summary>
    /// Asks, from the thread pool, for the worker to be recycled if it is still its slot's worker: the policy replaces
    /// the worker (overlapped) or, in process mode, the process.
    /// </summary>
    void Recycle(WorkerSlot slot, Worker worker, string reason);

    /// <summary>Asks for the worker of <paramref name="worker"/>'s key to be recycled, if the key still has a slot.</summary>
    void Recycle(Worker worker, string reason);

    /// <summary>Replaces the worker itself, in either mode: its own application ended or outgrew the memory limit.</summary>
    void ReplaceWorker(WorkerSlot slot, Worker worker, string reason);

    /// <summary>
    /// Takes out a worker whose application ended on its own (there is nothing to overlap with: requests sent to it
    /// would fail) and starts its replacement at once; requests meanwhile wait for it, as for a key's first worker.
    /// </summary>
    void Restart(WorkerSlot slot, Worker worker, string reason);

    /// <summary>Retires the worker without a replacement: the key's next request starts a fresh one.</summary>
    void Retire(WorkerSlot slot, Worker worker, string reason);
}
