using Microsoft.Extensions.Logging;
using Polly.CircuitBreaker;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Environments;

namespace Trac.Hosting.Workers;

/// <summary>
/// Carries out what the triggers ask: replaces a worker overlapped (the replacement is started and warmed while the
/// old one serves, switched atomically, and the old one drained), or retires it. One replacement runs per key at a
/// time; one asked for meanwhile runs after it. A replacement a trigger asked for that cannot start leaves the old
/// worker serving, and the trigger is tried again later; one a request asked for fails that request.
/// </summary>
internal sealed class WorkerRecycler : IWorkerRecycler
{
    private readonly WorkerSettings _settings;
    private readonly WorkerSlots _slots;
    private readonly WorkerDrainer _drainer;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly TracMetrics _metrics;
    private readonly CancellationToken _stopping;

    /// <remarks><c>stopApplication</c> stops the host application (process mode); no replacement starts once <c>stopping</c> fires.</remarks>
    public WorkerRecycler(
        WorkerSettings settings, WorkerSlots slots, WorkerFactory factory, WorkerDrainer drainer, EnvironmentCatalog catalog,
        TimeProvider timeProvider, ILogger logger, TracMetrics metrics, Action stopApplication, CancellationToken stopping)
    {
        _settings = settings;
        _slots = slots;
        _drainer = drainer;
        _timeProvider = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _stopping = stopping;
        Policy = RecyclePolicy.For(settings, this, timeProvider, stopApplication, logger, metrics);
        Triggers = new RecycleTriggers(settings, this, Policy, timeProvider, () => factory.Applications?.RunsOutOfProcess == true);
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

    public void Recycle(WorkerSlot slot, Worker worker, string reason) => Queue(slot, new PendingRecycle(worker, reason));

    public void Recycle(Worker worker, string reason)
    {
        // A key forgotten with its project has no slot any more: its worker is already retired.
        if (_slots.TryGet(worker.Key, out var slot))
        {
            Recycle(slot, worker, reason);
        }
    }

    public void ReplaceWorker(WorkerSlot slot, Worker worker, string reason) =>
        Queue(slot, new PendingRecycle(worker, reason, PolicyDecides: false));

    /// <summary>Gets or sets how the pool starts the replacement of a worker taken out by <see cref="Restart"/>.</summary>
    public Action<WorkerSlot, Worker, string>? StartReplacement { get; set; }

    public void Restart(WorkerSlot slot, Worker worker, string reason)
    {
        if (ReferenceEquals(slot.Current, worker))
        {
            Retire(slot, worker, reason);

            // One that never served a request is started again by the next request, not at once: a process that
            // dies right after every start would otherwise be restarted in a loop, with nobody asking for it.
            if (worker.RequestsServed > 0)
            {
                StartReplacement?.Invoke(slot, worker, reason);
            }
        }
        else
        {
            // Not installed yet (it ended while it warmed): replaced once it is, like any early trigger.
            ReplaceWorker(slot, worker, reason);
        }
    }

    public void Retire(WorkerSlot slot, Worker worker, string reason)
    {
        if (slot.Replace(worker, null))
        {
            _metrics.Recycles.Add(1, _metrics.Tags(slot.Project, new KeyValuePair<string, object?>(TracMetrics.RecycleReasonTag, reason)));
            _ = _drainer.DrainAndStopAsync(worker, reason, _settings.DrainTimeout);
            slot.SignalChanged();
        }
    }

    /// <summary>
    /// Brings the pool back within <see cref="WorkerSettings.MaxWorkers"/> once a key's new worker is installed (so a
    /// project that cannot start takes no other project's worker): retires the least recently used idle workers of
    /// other keys; one running a request is never retired for room.
    /// </summary>
    public void MakeRoom(WorkerSlot starting)
    {
        if (_settings.MaxWorkers <= 0)
        {
            return;
        }

        var serving = Serving.Where(p => !ReferenceEquals(p.Slot, starting)).ToList();
        var excess = serving.Count + 1 - _settings.MaxWorkers;
        if (excess <= 0)
        {
            return;
        }

        foreach (var (slot, worker) in serving.Where(p => p.Worker.ActiveRequests == 0).OrderByDescending(p => p.Worker.IdleFor).Take(Math.Max(excess, 0)))
        {
            Retire(slot, worker, WorkerRecycleReasons.WorkerLimit);
        }
    }

    /// <summary>Recycles a worker because a trigger asked (or <see cref="IWorkerPool.RecycleAsync"/>); completes at the switch.</summary>
    public async Task RecycleAsync(WorkerSlot slot, PendingRecycle recycle)
    {
        if (recycle.PolicyDecides && Policy.TryReplaceProcess(recycle.Reason))
        {
            return;
        }

        try
        {
            // The herd control: each attempt waits for a place in the pool-wide gate while the old worker serves.
            await ReplaceAsync(slot, recycle, gated: true);
        }
        catch (Exception e) when (e is WorkerUnavailableException or OperationCanceledException)
        {
            // Logged by the starter; the old worker keeps serving, and the trigger is tried again later.
            RetryLater(slot, recycle, e);
        }
    }

    /// <summary>
    /// Replaces a worker by one whose plugins come from a request's cache directory, for the request, which waits up to
    /// <c>StartTimeout</c>: not gated (like a key's first start), whatever the mode. When another replacement of the
    /// key runs, waits for that one to end instead (the caller looks again; this one runs after it). Returns whether
    /// this request's replacement ran.
    /// </summary>
    /// <exception cref="WorkerUnavailableException">The replacement could not start, or took longer than <c>StartTimeout</c>.</exception>
    public async Task<bool> SwitchPluginsAsync(WorkerSlot slot, Worker worker, string pluginCacheDirectory, CancellationToken cancellationToken)
    {
        var attempted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = slot.GetAttemptedToken().RegisterChangeCallback(static s => ((TaskCompletionSource)s!).TrySetResult(), attempted);
        var switching = ReplaceAsync(
            slot, new PendingRecycle(worker, WorkerRecycleReasons.PluginCacheDirectoryChanged, pluginCacheDirectory, PolicyDecides: false), gated: false);
        try
        {
            if (await switching.WaitAsync(_settings.StartTimeout, _timeProvider, cancellationToken))
            {
                return true;
            }

            await attempted.Task.WaitAsync(_settings.StartTimeout, _timeProvider, cancellationToken);
            return false;
        }
        catch (TimeoutException e)
        {
            throw new WorkerUnavailableException(
                "Service Unavailable: the application for this project is still starting; try again shortly.", TimeSpan.FromSeconds(5), e);
        }
    }

    /// <summary>Makes a worker just installed in its slot answer the triggers that fired while it started.</summary>
    public void OnInstalled(WorkerSlot slot, Worker worker)
    {
        if (worker.MarkInstalled() is { } early)
        {
            Queue(slot, early);
        }
    }

    // Every trigger (timers, change callbacks, the count limit) goes through the thread pool: never on the thread of
    // a request, of a file watcher or of whoever advanced the clock. One that fires before its worker is installed
    // (a token that had fired already) waits for the install.
    private void Queue(WorkerSlot slot, PendingRecycle recycle)
    {
        if (recycle.Worker.DeferUntilInstalled(recycle))
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(
            static state => _ = state.Recycler.RecycleAsync(state.Slot, state.Recycle),
            (Recycler: this, Slot: slot, Recycle: recycle),
            preferLocal: false);
    }

    /// <summary>
    /// Replaces the recycle's worker if it is still the slot's; returns <see langword="false"/> when another replacement
    /// of the key runs (this one is remembered and runs when that one ends, not lost).
    /// </summary>
    private async Task<bool> ReplaceAsync(WorkerSlot slot, PendingRecycle recycle, bool gated)
    {
        var expected = recycle.Worker;
        if (_stopping.IsCancellationRequested || slot.IsRemoved || !ReferenceEquals(slot.Current, expected))
        {
            return true;
        }

        // Taking the key and remembering a recycle for later happen under the lock that ending one and reading what
        // was remembered take: nothing is remembered after the running one has looked.
        lock (slot.StartLock)
        {
            if (!slot.TryBeginRecycle())
            {
                slot.Pending = recycle;
                return false;
            }
        }

        try
        {
            var reason = recycle.Reason;
            var next = await Starter.StartAsync(
                slot, expected.Environment, recycle.PluginCacheDirectory ?? expected.PluginCacheDirectory, reason, gated, _stopping);
            if (!slot.Replace(expected, next))
            {
                await _drainer.StopAsync(next, reason);
                return true;
            }

            _metrics.Recycles.Add(1, _metrics.Tags(slot.Project, new KeyValuePair<string, object?>(TracMetrics.RecycleReasonTag, reason)));
            WorkerLog.WorkerSwitched(_logger, slot.Project, expected.Generation, next.Generation, reason);
            _ = _drainer.DrainAndStopAsync(expected, reason, _settings.DrainTimeout);
            slot.SignalChanged();
            OnInstalled(slot, next);
            return true;
        }
        finally
        {
            PendingRecycle? pending;
            lock (slot.StartLock)
            {
                slot.EndRecycle();
                pending = slot.Pending;
                slot.Pending = null;
            }

            // Requests waiting for a replacement look again, whether it succeeded or not.
            slot.SignalAttempted();
            if (pending is { } later && ReferenceEquals(slot.Current, later.Worker))
            {
                Queue(slot, later);
            }
        }
    }

    private void RetryLater(WorkerSlot slot, PendingRecycle recycle, Exception failure)
    {
        var worker = recycle.Worker;
        // A replacement for another plugin cache directory is asked for again by the next request that needs it.
        if (_stopping.IsCancellationRequested || !worker.IsServing || recycle.PluginCacheDirectory is not null)
        {
            return;
        }

        // A count-limit trigger fires again with the next finished request, unless a breaker is open: then every
        // request would fail fast and try again. That, and every other trigger, waits for the worker's one retry
        // timer (the breaker's remaining break, else 30 seconds), however many failures ask for it.
        var broken = failure.InnerException is BrokenCircuitException;
        if (recycle.Reason == WorkerRecycleReasons.MaximumRequests && !broken)
        {
            worker.ResetRecycleRequest();
            return;
        }

        var delay = broken && failure is WorkerUnavailableException unavailable ? unavailable.RetryAfter : TimeSpan.FromSeconds(30);
        worker.ScheduleRetry(_timeProvider, delay, () => Queue(slot, recycle));
    }
}
