using Microsoft.Extensions.Logging;
using Trac.Hosting.Environments;

namespace Trac.Hosting.Workers;

/// <summary>
/// Starts the workers of <see cref="WorkerOptions.Preload"/>'s projects once, in the background,
/// <see cref="WorkerOptions.MaxConcurrentPreloads"/> at a time, and says which are still starting (for the health
/// check) until every one has started or failed. A failed start is the starter's to log (and counts towards its
/// project's breaker); the project's next request tries again.
/// </summary>
internal sealed class WorkerPreloader(WorkerSettings settings, EnvironmentCatalog catalog, TimeProvider timeProvider, ILogger logger)
{
    public const string Everything = "*";

    private readonly object _gate = new();
    private readonly List<string> _pending = [.. settings.Preload];
    private bool _done = settings.Preload.Count == 0;
    private bool _begun;
    private volatile Task _run = Task.CompletedTask;

    /// <summary>
    /// Gets the projects still starting (before the run has begun, the configured names), or <see langword="null"/>
    /// once preloading is over or was never asked for: the health check reports degraded while it is not null.
    /// </summary>
    public IReadOnlyList<string>? Pending
    {
        get
        {
            lock (_gate)
            {
                return _done ? null : [.. _pending];
            }
        }
    }

    /// <summary>Gets the run, for the pool to wait for when it stops.</summary>
    public Task Completion => _run;

    /// <summary>Gives up preloading: no host says when it has started. Logged once; the health check is not held back.</summary>
    public void Skip()
    {
        lock (_gate)
        {
            if (_done || _begun)
            {
                return;
            }

            _done = true;
            _pending.Clear();
        }

        foreach (var name in settings.Preload)
        {
            WorkerLog.WorkerPreloadSkipped(
                logger, name, "there is no host (IHostApplicationLifetime) to say when the application has started; its first request starts it.");
        }
    }

    /// <summary>Begins the run, at most once; <paramref name="start"/> starts one project's worker.</summary>
    public void Begin(Func<TracEnvironment, CancellationToken, Task> start, CancellationToken stopping)
    {
        lock (_gate)
        {
            if (_done || _begun)
            {
                return;
            }

            _begun = true;
            _run = Task.Run(() => RunAsync(start, stopping), CancellationToken.None);
        }
    }

    private async Task RunAsync(Func<TracEnvironment, CancellationToken, Task> start, CancellationToken stopping)
    {
        try
        {
            var began = timeProvider.GetTimestamp();
            var targets = Targets();
            lock (_gate)
            {
                _pending.Clear();
                _pending.AddRange(targets.Select(t => t.Name));
            }

            var started = 0;
            var failed = new List<string>();
            var options = new ParallelOptions { MaxDegreeOfParallelism = settings.MaxConcurrentPreloads, CancellationToken = stopping };
            await Parallel.ForEachAsync(targets, options, async (target, token) =>
            {
                try
                {
                    await start(target.Environment, token);
                    Interlocked.Increment(ref started);
                }
                catch (Exception) when (!token.IsCancellationRequested)
                {
                    // The starter logged why (WorkerStartFailed); a request for the project tries again.
                    lock (failed)
                    {
                        failed.Add(target.Name);
                    }
                }
                finally
                {
                    lock (_gate)
                    {
                        _pending.Remove(target.Name);
                    }
                }
            });

            // A start refused because the pool was stopping is no failure to report.
            if (!stopping.IsCancellationRequested)
            {
                failed.Sort(StringComparer.Ordinal);
                WorkerLog.WorkersPreloaded(
                    logger, started, (long)timeProvider.GetElapsedTime(began).TotalMilliseconds, failed.Count,
                    failed.Count == 0 ? string.Empty : ": " + string.Join(", ", failed));
            }
        }
        catch (Exception) when (stopping.IsCancellationRequested)
        {
            // The pool stopped first: its starts ended with it (cancelled, or refused as shutting down).
        }
        catch (Exception e)
        {
            // Never left to fault the run (the pool waits for it) or to hold the health check at Degraded.
            WorkerLog.WorkerPreloadSkipped(logger, WorkerPreloader.Everything, $"preloading failed: {e.Message}");
        }
        finally
        {
            lock (_gate)
            {
                _done = true;
                _pending.Clear();
            }
        }
    }

    /// <summary>The projects to start, each once, in the order given (for <c>*</c>, the listing's).</summary>
    private List<(string Name, TracEnvironment Environment)> Targets()
    {
        var slots = new List<EnvironmentSlot>();
        foreach (var name in settings.Preload)
        {
            if (name == Everything)
            {
                slots.AddRange(catalog.Environments);
                if (catalog.Single is { } single)
                {
                    slots.Add(single);
                }
            }
            else if (catalog.TryFindProject(name, out var slot))
            {
                slots.Add(slot);
            }
            else
            {
                WorkerLog.WorkerPreloadSkipped(
                    logger, name,
                    "no project of that name is listed (the environment's directory name; Trac:Environment names where they are).");
            }
        }

        var targets = new List<(string, TracEnvironment)>();
        foreach (var slot in slots.Distinct())
        {
            if (settings.Scope == WorkerScope.Shared && targets.Count == 1)
            {
                break; // One worker serves every project.
            }

            if (settings.MaxWorkers > 0 && targets.Count == settings.MaxWorkers)
            {
                WorkerLog.WorkerPreloadSkipped(logger, slot.Name, $"Trac:Workers:MaxWorkers lets {settings.MaxWorkers} worker(s) run at once.");
                continue;
            }

            if (slot.State is { Environment: { } environment })
            {
                targets.Add((slot.Name, environment));
            }
            else
            {
                WorkerLog.WorkerPreloadSkipped(logger, slot.Name, $"its environment does not open: {slot.State.Error}");
            }
        }

        return targets;
    }
}
