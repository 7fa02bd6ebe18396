using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Trac.Hosting.Environments;

namespace Trac.Hosting.Workers;

/// <summary>
/// The pool's slots by key: one per project the catalog knows (or one <c>shared</c> slot), found from a request's
/// environment snapshot without hashing its path. A project that leaves the listing takes its slot with it.
/// </summary>
internal sealed class WorkerSlots(WorkerSettings settings, EnvironmentCatalog catalog, TimeProvider timeProvider, Action<WorkerSlot, Worker, string> retire)
{
    internal const string SharedKey = "shared";

    /// <summary>Returns the project a key names, for logs: the environment's directory name, or <c>shared</c>.</summary>
    public static string ProjectOf(string key) => key == SharedKey ? key : Path.GetFileName(key) is { Length: > 0 } name ? name : key;

    private readonly ConcurrentDictionary<string, WorkerSlot> _slots = new(StringComparer.Ordinal);
    // The slot of each environment snapshot, so that a request finds its worker without hashing the environment's path.
    private readonly ConditionalWeakTable<TracEnvironment, WorkerSlot> _byEnvironment = new();

    public ICollection<WorkerSlot> All => _slots.Values;

    public int Count => _slots.Count;

    public bool TryGet(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out WorkerSlot? slot) => _slots.TryGetValue(key, out slot);

    /// <summary>Returns the slot of a request's environment, made on first use.</summary>
    public WorkerSlot Of(TracEnvironment environment)
    {
        if (settings.Scope == WorkerScope.Shared)
        {
            return Of(SharedKey);
        }

        if (!_byEnvironment.TryGetValue(environment, out var slot) || slot.IsRemoved)
        {
            // A slot removed with its project (a request that was resolved just before) installs no worker, so such a
            // request gets 503; a snapshot of a project listed again finds the project's new slot.
            slot = Of(environment.Path);
            _byEnvironment.AddOrUpdate(environment, slot);
        }

        return slot;
    }

    /// <summary>Returns the slot of a key, made on first use; the caller has checked that the key names a worker.</summary>
    public WorkerSlot Of(string key)
    {
        if (_slots.TryGetValue(key, out var slot))
        {
            return slot;
        }

        slot = _slots.GetOrAdd(key, static (key, state) => WorkerStartPipeline.CreateSlot(state.settings, state.timeProvider, key), (settings, timeProvider));
        if (!NamesAWorker(key))
        {
            // Made for a project the catalog dropped meanwhile: its unlisting may have run before the slot existed.
            Forget(slot);
        }

        return slot;
    }

    /// <summary>Returns whether a key names what a worker can serve: the shared worker, or a project the catalog knows.</summary>
    public bool NamesAWorker(string key) =>
        settings.Scope == WorkerScope.Shared ? key == SharedKey : catalog.Knows(key);

    /// <summary>
    /// Takes the key's slot out of the pool and retires its worker, if any: a project that left the listing keeps no
    /// state here. The slot's requests still running finish on the retired worker.
    /// </summary>
    public void Forget(WorkerSlot slot)
    {
        // Only this slot: one made since for the same key (the project came back) stays.
        if (!_slots.TryRemove(new KeyValuePair<string, WorkerSlot>(slot.Key, slot)))
        {
            return;
        }

        slot.MarkRemoved();
        while (slot.Current is { } worker)
        {
            retire(slot, worker, WorkerRecycleReasons.EnvironmentRemoved);
        }

        slot.SignalChanged();
    }

    /// <summary>Forgets the slot of a project that left the listing; a late event for one listed again since changes nothing.</summary>
    public void ForgetUnlisted(string path)
    {
        if (settings.Scope == WorkerScope.PerEnvironment && !NamesAWorker(path) && _slots.TryGetValue(path, out var slot))
        {
            Forget(slot);
        }
    }
}
