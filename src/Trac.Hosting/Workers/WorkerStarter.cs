using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Environments;

namespace Trac.Hosting.Workers;

/// <summary>
/// Starts workers: each key's start pipeline (the default one retries twice with jittered back-off and has a
/// breaker that opens after three failed attempts in a row; or the host's own), each attempt with its own
/// <see cref="WorkerOptions.StartTimeout"/>, a recycle's attempts each holding a place in the pool-wide gate of
/// <see cref="WorkerOptions.MaxConcurrentRecycles"/> while they build and warm. A started worker has its triggers armed.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A SemaphoreSlim whose wait handle is never asked for holds nothing to dispose; recycles may still release it while the pool stops.")]
internal sealed class WorkerStarter
{
    private readonly WorkerSettings _settings;
    private readonly WorkerFactory _factory;
    private readonly RecycleTriggers _triggers;
    private readonly RecyclePolicy _policy;
    private readonly WorkerDrainer _drainer;
    private readonly EnvironmentCatalog _catalog;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly TracMetrics _metrics;
    private readonly SemaphoreSlim _recycleGate;
    private readonly ResiliencePipeline _attemptTimeout;

    public WorkerStarter(
        WorkerSettings settings, WorkerFactory factory, RecycleTriggers triggers, RecyclePolicy policy, WorkerDrainer drainer,
        EnvironmentCatalog catalog, TimeProvider timeProvider, ILogger logger, TracMetrics metrics)
    {
        _settings = settings;
        _factory = factory;
        _triggers = triggers;
        _policy = policy;
        _drainer = drainer;
        _catalog = catalog;
        _timeProvider = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _recycleGate = new SemaphoreSlim(settings.MaxConcurrentRecycles, settings.MaxConcurrentRecycles);
        _attemptTimeout = new ResiliencePipelineBuilder { TimeProvider = timeProvider }.AddTimeout(settings.StartTimeout).Build();
    }

    /// <summary>Starts a worker of the slot's key through its start pipeline, and arms its triggers.</summary>
    /// <remarks><c>gated</c>: a recycle, whose attempts each wait for their place in the pool-wide gate.</remarks>
    /// <exception cref="WorkerUnavailableException">The start pipeline failed or its breaker is open.</exception>
    public async Task<Worker> StartAsync(
        WorkerSlot slot, TracEnvironment? environment, string? pluginCacheDirectory, string reason, bool gated, CancellationToken cancellationToken)
    {
        var started = _timeProvider.GetTimestamp();
        IChangeToken? configChanged = null;
        if (environment is not null && _catalog.TryGetByPath(environment.Path, out var environmentSlot))
        {
            // The token first, then the environment it guards: a trac.ini change during the build or the warm-up
            // still triggers a recycle, and a worker is built from the latest good snapshot of its environment.
            configChanged = _settings.RecycleOnConfigChange ? environmentSlot.GetChangeToken() : null;
            environment = environmentSlot.State.Environment ?? environment;
        }

        var attempt = new Attempt(this, slot, environment, pluginCacheDirectory, gated);
        using var activity = TracActivities.StartDetached(TracActivities.WorkerStart, slot.Project);
        activity?.SetTag(TracActivities.StartReasonTag, reason);
        Worker worker;
        string? errorType = null;
        try
        {
            worker = await slot.StartPipeline.ExecuteAsync(
                static (attempt, token) => new ValueTask<Worker>(attempt.RunAsync(token)), attempt, cancellationToken);
            activity?.SetTag(TracActivities.GenerationTag, worker.Generation);
        }
        catch (BrokenCircuitException e)
        {
            errorType = e.GetType().FullName;
            TracActivities.Fail(activity, e);
            throw new WorkerUnavailableException(
                $"Service Unavailable: the application for this project failed to start several times; it is tried again in {Seconds(e.RetryAfter)} seconds.",
                e.RetryAfter ?? TimeSpan.FromSeconds(30), e);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var error = e is TimeoutRejectedException
                ? $"it did not start within Trac:Workers:StartTimeout ({_settings.StartTimeout:c}): raise the timeout, or see what the application logged meanwhile (a worker process's output is logged as WorkerProcessOutput)"
                : e.Message;
            WorkerLog.WorkerStartFailed(_logger, slot.Project, error, e);
            errorType = e.GetType().FullName;
            TracActivities.Fail(activity, e);
            throw new WorkerUnavailableException(
                "Service Unavailable: the application for this project could not be started.", TimeSpan.FromSeconds(5), e);
        }
        finally
        {
            // A start refused by the open breaker (about 0 s) or one that failed is told apart by error.type.
            _metrics.StartDuration.Record(
                _timeProvider.GetElapsedTime(started).TotalSeconds,
                _metrics.Tags(slot.Project, errorType is null ? null : new KeyValuePair<string, object?>(TracActivities.ErrorTypeTag, errorType)));
        }

        // The worker's timers and change-token callbacks outlive the start: they must not run inside its span.
        System.Diagnostics.Activity.Current = null;
        try
        {
            _triggers.Subscribe(slot, worker, configChanged);
        }
        catch
        {
            // Not counted among the active workers yet.
            await _drainer.StopAsync(worker, reason, counted: false);
            throw;
        }

        _metrics.ActiveWorkers.Add(1, _metrics.Tags(slot.Project));
        WorkerLog.WorkerStarted(_logger, slot.Project, worker.Generation, reason, (long)_timeProvider.GetElapsedTime(started).TotalMilliseconds);
        return worker;
    }

    private static long Seconds(TimeSpan? value) => (long)Math.Ceiling((value ?? TimeSpan.FromSeconds(30)).TotalSeconds);

    /// <summary>
    /// One start attempt. A recycle's attempt takes a place in the pool-wide gate for as long as it builds and warms,
    /// and only then: the retry back-off between attempts and an open breaker hold no place, so a project that cannot
    /// start never delays another project's recycle.
    /// </summary>
    private sealed class Attempt(WorkerStarter starter, WorkerSlot slot, TracEnvironment? environment, string? pluginCacheDirectory, bool gated)
    {
        public async Task<Worker> RunAsync(CancellationToken cancellationToken)
        {
            if (slot.Breaker?.RetryAfter() is { } retryAfter)
            {
                throw new BrokenCircuitException("The application of this project failed to start several times in a row.", retryAfter);
            }

            if (gated)
            {
                await starter._recycleGate.WaitAsync(cancellationToken);
            }

            try
            {
                if (slot.Breaker is not { } breaker)
                {
                    return await CreateAsync(cancellationToken);
                }

                Worker worker;
                try
                {
                    // The attempt's timeout starts once it has its place: waiting for the gate is not starting.
                    worker = await starter._attemptTimeout.ExecuteAsync(
                        static (attempt, token) => new ValueTask<Worker>(attempt.CreateAsync(token)), this, cancellationToken);
                }
                catch when (!cancellationToken.IsCancellationRequested)
                {
                    breaker.OnFailure();
                    throw;
                }

                breaker.OnSuccess();
                return worker;
            }
            finally
            {
                if (gated)
                {
                    starter._recycleGate.Release();
                }
            }
        }

        private Task<Worker> CreateAsync(CancellationToken cancellationToken) => starter._factory.CreateAsync(
            slot.Key, slot.NextGeneration(), environment, pluginCacheDirectory, starter._policy.RequestLimitOfNewWorker(), cancellationToken);
    }
}
