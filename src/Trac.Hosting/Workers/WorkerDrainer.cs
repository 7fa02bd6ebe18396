using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Workers;

/// <summary>
/// The end of a worker's life: drains it within its deadline (aborting what still runs after it), stops it, and
/// verifies its plugins unload. Retired workers stay listed here until they are gone; one whose aborted requests
/// ignore the abort stays listed (<see cref="TracWorkerState.Aborted"/>) until the last returns.
/// </summary>
internal sealed class WorkerDrainer
{
    private readonly ConcurrentDictionary<Worker, byte> _retiring = new();
    private readonly WorkerSettings _settings;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly TracMetrics _metrics;
    private readonly UnloadVerifier _unloads;

    public WorkerDrainer(WorkerSettings settings, TimeProvider timeProvider, ILogger logger, TracMetrics metrics)
    {
        _settings = settings;
        _timeProvider = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _unloads = new UnloadVerifier(ReportUnloading);
    }

    /// <summary>Gets the retired workers not yet gone.</summary>
    public ICollection<Worker> Retiring => _retiring.Keys;

    /// <summary>
    /// Drains a worker the caller has already taken out of its slot, then stops it, in the background after the first
    /// await. <paramref name="clock"/> times the deadline (the host's clock unless shutting down).
    /// </summary>
    public async Task DrainAndStopAsync(Worker worker, string reason, TimeSpan drainTimeout, TimeProvider? clock = null)
    {
        clock ??= _timeProvider;
        _retiring[worker] = 0;
        // Stop taking requests now, before anything is awaited: the caller has already switched to the replacement.
        WorkerLog.WorkerDraining(_logger, worker.Project, worker.Generation, reason, worker.ActiveRequests);
        worker.BeginDrain();
        _metrics.ActiveWorkers.Add(-1, _metrics.Tags(worker.Project));
        var started = _timeProvider.GetTimestamp();
        using var activity = TracActivities.StartDetached(TracActivities.WorkerDrain, worker.Project);
        activity?.SetTag(TracActivities.GenerationTag, worker.Generation);
        activity?.SetTag(TracMetrics.RecycleReasonTag, reason);
        // The deadline counts from the switch, so its timer starts before anything is awaited.
        using var deadline = new CancellationTokenSource();
        var timeout = Task.Delay(drainTimeout, clock, deadline.Token);
        // The rest (waiting, disposing, collecting) happens off the caller's path.
        await Task.Yield();
        var outliving = 0;
        try
        {
            var finished = await Task.WhenAny(worker.Idle, timeout) == worker.Idle;
            await deadline.CancelAsync();
            if (!finished)
            {
                var active = worker.ActiveRequests;
                WorkerLog.WorkerRequestsAborted(_logger, worker.Project, worker.Generation, reason, active);
                _metrics.AbortedRequests.Add(active, _metrics.Tags(worker.Project));
                activity?.SetTag(TracActivities.AbortedRequestsTag, active);
                worker.Abort();
                // Aborted requests unwind quickly; the services are disposed only once they have, or after a grace.
                if (!await FinishesWithin(worker.Idle, _settings.DrainTimeout, clock))
                {
                    outliving = worker.ActiveRequests;
                }
            }

            _metrics.DrainDuration.Record(
                _timeProvider.GetElapsedTime(started).TotalSeconds,
                _metrics.Tags(worker.Project, new KeyValuePair<string, object?>(TracMetrics.RecycleReasonTag, reason)));
            if (outliving > 0)
            {
                // Said once, counted, and the worker stays listed (Aborted) until its last request returns; its
                // unloading is verified only then, since running code keeps its plugins loaded.
                WorkerLog.WorkerStoppedWithRequestsRunning(_logger, worker.Project, worker.Generation, reason, outliving);
                _metrics.OutlivingRequests.Add(outliving, _metrics.Tags(worker.Project));
                await StopAsync(worker, reason, counted: false, verifyUnload: false);
                _ = ForgetWhenIdleAsync(worker, reason);
                return;
            }

            await StopAsync(worker, reason, counted: false);
        }
        finally
        {
            if (outliving == 0)
            {
                _retiring.TryRemove(worker, out _);
            }
        }
    }

    /// <summary>
    /// Stops a worker that never served or no longer does, logging what its disposal throws. <paramref name="counted"/>:
    /// it was counted among the active workers (a drained one no longer is).
    /// </summary>
    public async Task StopAsync(Worker worker, string reason, bool counted = true, bool verifyUnload = true)
    {
        if (counted)
        {
            _metrics.ActiveWorkers.Add(-1, _metrics.Tags(worker.Project));
        }

        try
        {
            await worker.StopAsync();
        }
        catch (Exception e)
        {
            // A worker service that throws while disposed: everything else was released all the same.
            WorkerLog.WorkerStopFailed(_logger, worker.Project, worker.Generation, reason, e.Message, e);
        }

        WorkerLog.WorkerStopped(_logger, worker.Project, worker.Generation, reason, worker.RequestsServed);
        if (verifyUnload)
        {
            VerifyUnload(worker, reason);
        }
    }

    /// <summary>At shutdown: aborts every retired worker's requests and waits (in real time) for them to return.</summary>
    public IEnumerable<Task> AbortAll()
    {
        foreach (var worker in _retiring.Keys)
        {
            worker.Abort();
            yield return worker.Idle.WaitAsync(_settings.DrainTimeout, TimeProvider.System).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>Waits for the unload checks still pending.</summary>
    public Task FlushAsync() => _unloads.FlushAsync();

    private async Task ForgetWhenIdleAsync(Worker worker, string reason)
    {
        await worker.Idle;
        _retiring.TryRemove(worker, out _);
        WorkerLog.WorkerAbortedRequestsReturned(_logger, worker.Project, worker.Generation, reason);
        VerifyUnload(worker, reason);
    }

    private void VerifyUnload(Worker worker, string reason)
    {
        if (worker.Unloading is { } loadContext)
        {
            _unloads.Add(new UnloadVerifier.Unloading(loadContext, worker.Key, worker.Generation, reason));
        }
    }

    private void ReportUnloading(UnloadVerifier.Unloading unloading, bool collected)
    {
        if (collected)
        {
            WorkerLog.WorkerUnloaded(_logger, WorkerSlots.ProjectOf(unloading.Key), unloading.Generation, unloading.Reason);
        }
        else
        {
            var project = WorkerSlots.ProjectOf(unloading.Key);
            _metrics.UnloadFailures.Add(1, _metrics.Tags(project));
            WorkerLog.WorkerUnloadFailed(_logger, project, unloading.Generation, unloading.Reason);
        }
    }

    private static async Task<bool> FinishesWithin(Task task, TimeSpan timeout, TimeProvider clock)
    {
        try
        {
            await task.WaitAsync(timeout, clock);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
