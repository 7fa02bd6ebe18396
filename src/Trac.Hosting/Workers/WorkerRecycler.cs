using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Environments;

namespace Trac.Hosting.Workers;

/// <summary>
/// Carries out what the triggers ask: replaces a worker overlapped (the replacement is started and warmed while the
/// old one serves, switched atomically, and the old one drained), or retires it. One recycle runs per key at a time;
/// one that arrives meanwhile runs after it. A replacement that cannot start leaves the old worker serving, and the
/// trigger is tried again later.
/// </summary>
internal sealed class WorkerRecycler : IWorkerRecycler
{
    private readonly WorkerSettings _settings;
    private readonly WorkerSlots _slots;
    private readonly WorkerDrainer _drainer;
    private readonly EnvironmentCatalog _catalog;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly TracMetrics _metrics;
    private readonly CancellationToken _stopping;

    /// <remarks><c>workingSet</c>: reads the process's working set for the memory limit; <c>stopApplication</c>: stops the host application (process mode); <c>stopping</c>: fires when the pool stops: no recycle starts after it.</remarks>
public WorkerRecycler(
        WorkerSettings settings, WorkerSlots slots, WorkerFactory factory, WorkerDrainer drainer, EnvironmentCatalog catalog,
        TimeProvider timeProvider, ILogger logger, TracMetrics metrics, Func<long>? workingSet, Action stopApplication, CancellationToken stopping)
    {
        _settings = settings;
        _slots = slots;
        _drainer = drainer;
        _catalog = catalog;
        _timeProvider = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _stopping = stopping;
        Policy = RecyclePolicy.For(settings, this, timeProvider, stopApplication, logger, metrics);
        Triggers = new RecycleTriggers(settings, this, Policy, timeProvider, workingSet);
        Starter = new WorkerStarter(settings, factory, Triggers, Policy, drainer, catalog, timeProvider, logger, metrics);
    }

    /// <summary>Gets what a trigger replaces: a worker, or the process.</summary>
    public RecyclePolicy Policy { get; }

    /// <summary>Gets the triggers other than the request count.</summary>
    public RecycleTriggers Triggers { get; }

    /// <summary>Gets the starter of workers, first ones and replacements.</summary>
    public WorkerStarter Starter { get; }

    public IEnumerable<(WorkerSlot Slot, Worker Worker)> Serving =>
        _slots.All.Select(s => (Slot: s, Worker: s.Current)).Where(p => p.Worker is not null).Select(p => (p.Slot, p.Worker!));

    // Every trigger (timers, change callbacks, the count limit) goes through the thread pool: never on the thread of
    // a request, of a file watcher or of whoever advanced the clock.
    public void Recycle(WorkerSlot slot, Worker worker, string reason) => Recycle(slot, worker, reason, pluginCacheDirectory: null);

    public void Recycle(Worker worker, string reason)
    {
        // A key forgotten with its project has no slot any more: its worker is already retired.
        if (_slots.TryGet(worker.Key, out var slot))
        {
            Recycle(slot, worker, reason);
        }
    }

    /// <summary>Queues a recycle whose replacement takes its plugins from <paramref name="pluginCacheDirectory"/> (null: the old worker's).</summary>
    public void Recycle(WorkerSlot slot, Worker worker, string reason, string? pluginCacheDirectory) =>
        ThreadPool.UnsafeQueueUserWorkItem(
            static state => _ = state.Recycler.RecycleAsync(state.Slot, state.Worker, state.Reason, state.Directory),
            (Recycler: this, Slot: slot, Worker: worker, Reason: reason, Directory: pluginCacheDirectory),
            preferLocal: false);

    public void Retire(WorkerSlot slot, Worker worker, string reason)
    {
        if (slot.Replace(worker, null))
        {
            _metrics.Recycles.Add(1, new KeyValuePair<string, object?>("reason", reason));
            _ = _drainer.DrainAndStopAsync(worker, reason, _settings.DrainTimeout);
            slot.SignalChanged();
        }
    }

    /// <summary>
    /// Replaces <paramref name="expected"/> if it is still the slot's worker; completes once new requests go to the
    /// replacement. The old worker drains and stops in the background.
    /// </summary>
    public async Task RecycleAsync(WorkerSlot slot, Worker expected, string reason, string? pluginCacheDirectory)
    {
        // A replacement for another plugin cache directory is always a worker's, whatever the policy replaces.
        if ((pluginCacheDirectory is null && Policy.Handles(reason)) || _stopping.IsCancellationRequested || slot.IsRemoved || !ReferenceEquals(slot.Current, expected))
        {
            return;
        }

        if (!slot.TryBeginRecycle())
        {
            // Another recycle of the key runs: this one is remembered and run when it ends, not lost.
            lock (slot.StartLock)
            {
                slot.Pending = new PendingRecycle(expected, reason, pluginCacheDirectory);
            }

            return;
        }

        try
        {
            Worker next;
            try
            {
                // The herd control: each attempt waits for a place in the pool-wide gate while the old worker serves.
                next = await Starter.StartAsync(
                    slot, LatestEnvironment(expected), pluginCacheDirectory ?? expected.PluginCacheDirectory, reason, gated: true, _stopping);
            }
            catch (Exception e) when (e is WorkerUnavailableException or OperationCanceledException)
            {
                // Logged by the starter; the old worker keeps serving, and the trigger is tried again later.
                RetryLater(slot, expected, reason, e);
                return;
            }

            if (!slot.Replace(expected, next))
            {
                await _drainer.StopAsync(next, reason);
                return;
            }

            _metrics.Recycles.Add(1, new KeyValuePair<string, object?>("reason", reason));
            WorkerLog.WorkerSwitched(_logger, slot.Key, expected.Generation, next.Generation, reason);
            _ = _drainer.DrainAndStopAsync(expected, reason, _settings.DrainTimeout);
            slot.SignalChanged();
        }
        finally
        {
            slot.EndRecycle();
            PendingRecycle? pending;
            lock (slot.StartLock)
            {
                pending = slot.Pending;
                slot.Pending = null;
            }

            if (pending is { } next && ReferenceEquals(slot.Current, next.Worker))
            {
                Recycle(slot, next.Worker, next.Reason, next.PluginCacheDirectory);
            }
        }
    }

    private void RetryLater(WorkerSlot slot, Worker worker, string reason, Exception failure)
    {
        if (_stopping.IsCancellationRequested || !worker.IsServing)
        {
            return;
        }

        // A count-limit trigger fires again with the next finished request, unless a breaker is open: then every
        // request would fail fast and try again. That, and every other trigger, waits for the worker's one retry
        // timer (the breaker's remaining break, else 30 seconds), however many failures ask for it.
        var broken = failure.InnerException is BrokenCircuitException;
        if (reason == WorkerRecycleReasons.MaximumRequests && !broken)
        {
            worker.ResetRecycleRequest();
            return;
        }

        var delay = broken && failure is WorkerUnavailableException unavailable ? unavailable.RetryAfter : TimeSpan.FromSeconds(30);
        worker.ScheduleRetry(_timeProvider, delay, () => Recycle(slot, worker, reason));
    }

    private TracEnvironment? LatestEnvironment(Worker worker) =>
        worker.Environment is { } environment
            ? (_catalog.TryGetByPath(environment.Path, out var slot) ? slot.State.Environment : null) ?? environment
            : null;
}
