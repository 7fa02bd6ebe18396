using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Environments;
using Trac.Hosting.PluginCache;

namespace Trac.Hosting.Workers;

/// <summary>
/// The workers of one Trac pipeline, by key. Replacements are overlapped: built and warmed while the old worker
/// serves, switched atomically, the old one drained within a deadline, disposed, and its plugins' unloading
/// verified. A pool-wide gate caps the recycle starts running at once; a start that waits (for its retry back-off,
/// for a breaker) holds no place in it.
/// </summary>
internal sealed class WorkerPool : IWorkerPool, IAsyncDisposable
{
    internal const string SharedKey = "shared";

    private readonly ConcurrentDictionary<string, WorkerSlot> _slots = new(StringComparer.Ordinal);
    // The slot of each environment snapshot, so that a request finds its worker without hashing the environment's path.
    private readonly ConditionalWeakTable<TracEnvironment, WorkerSlot> _slotsByEnvironment = new();
    private readonly ConcurrentDictionary<Worker, byte> _retiring = new();
    private readonly WorkerOptions _options;
    private readonly IServiceProvider _hostServices;
    private readonly EnvironmentCatalog _catalog;
    private readonly PluginSetProvider? _plugins;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly TracMetrics _metrics;
    private readonly SemaphoreSlim _recycleGate;
    private readonly ResiliencePipeline _attemptTimeout;
    private readonly ITimer? _memoryTimer;
    private readonly ITimer? _processLifetimeTimer;
    private readonly long _processRequestLimit;
    private readonly CancellationTokenSource _stopping = new();
    private readonly UnloadVerifier _unloads;
    private ITimer? _processStopTimer;
    private long _processServed;
    private int _processRetiring;
    private long _memoryRecycleAllowedAt;
    private volatile bool _disposed;

    public WorkerPool(
        WorkerOptions options, IServiceProvider hostServices, EnvironmentCatalog catalog, PluginSetProvider? plugins,
        TimeProvider timeProvider, ILogger logger, TracMetrics metrics)
    {
        _options = options;
        _hostServices = hostServices;
        _catalog = catalog;
        _plugins = plugins;
        _timeProvider = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _recycleGate = new SemaphoreSlim(options.MaxConcurrentRecycles, options.MaxConcurrentRecycles);
        _attemptTimeout = new ResiliencePipelineBuilder { TimeProvider = timeProvider }.AddTimeout(options.StartTimeout).Build();
        _unloads = new UnloadVerifier(ReportUnloading);
        _catalog.EnvironmentUnlisted += RetireUnlisted;
        if (options.MemoryLimit > 0)
        {
            _memoryTimer = timeProvider.CreateTimer(_ => CheckMemory(), null, options.MemoryCheckInterval, options.MemoryCheckInterval);
        }

        if (options.Mode == WorkerMode.Process)
        {
            _processRequestLimit = options.MaxRequests > 0 ? options.MaxRequests + Jitter(options.MaxRequestsJitter) : 0;
            if (options.MaxLifetime > TimeSpan.Zero)
            {
                _processLifetimeTimer = timeProvider.CreateTimer(
                    _ => RetireProcess(WorkerRecycleReasons.RestartInterval), null, options.MaxLifetime + Jitter(options.MaxLifetimeJitter), Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Gets or sets the application type <c>.Dispatch&lt;TApplication&gt;()</c> creates per worker.</summary>
    public Type? ApplicationType { get; set; }

    /// <summary>Gets whether process mode decided to replace the process (the health check reports unhealthy).</summary>
    public bool IsProcessRetiring => Volatile.Read(ref _processRetiring) == 1;

    public WorkerMode Mode => _options.Mode;

    public IReadOnlyList<string> OpenBreakers => _slots.Values.Where(s => s.BreakerOpen).Select(s => s.Key).ToArray();

    /// <summary>Gets how many keys the pool holds state for, for tests.</summary>
    internal int SlotCount => _slots.Count;

    /// <summary>Gets the options this pool was built with (for the test kit's clock helpers).</summary>
    internal WorkerOptions Options => _options;

    public IReadOnlyList<TracWorkerInfo> Workers =>
        _slots.Values.Select(s => s.Current).OfType<Worker>()
            .Concat(_retiring.Keys.Where(w => w.State != TracWorkerState.Stopped)).Select(w => w.ToInfo())
            .OrderBy(w => w.Key, StringComparer.Ordinal).ThenBy(w => w.Generation).ToArray();

    public IChangeToken GetChangeToken(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_slots.TryGetValue(key, out var slot))
        {
            return slot.GetChangeToken();
        }

        // A slot is made only for a key that names a project (or the shared worker): asking about other keys must not
        // leave state behind.
        if (!NamesAWorker(key))
        {
            throw new ArgumentException(
                $"No project has the worker key '{key}'. Keys are the full paths of environments" +
                (_options.Scope == WorkerScope.Shared ? $" ('{SharedKey}' with WorkerScope.Shared)" : string.Empty) +
                "; IWorkerPool.Workers lists the keys in use.",
                nameof(key));
        }

        return Slot(key).GetChangeToken();
    }

    public async Task RecycleAsync(string key, string reason = WorkerRecycleReasons.Manual, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        if (_slots.TryGetValue(key, out var slot) && slot.Current is { } current)
        {
            // Run off the caller's thread, like every other trigger; the caller waits for the switch.
            await Task.Run(() => RecycleAsync(slot, current, reason), cancellationToken);
        }
    }

    /// <summary>Returns the worker for a request's environment, entered; starts the key's first worker if needed.</summary>
    /// <exception cref="WorkerUnavailableException">No worker can start now, or the pool is shutting down.</exception>
    public async ValueTask<Worker> AcquireAsync(TracEnvironment environment, CancellationToken cancellationToken)
    {
        var slot = Slot(environment);
        while (true)
        {
            if (_disposed)
            {
                throw new WorkerUnavailableException("Service Unavailable: the application is shutting down.", TimeSpan.FromSeconds(5));
            }

            var worker = slot.Current ?? await StartFirstAsync(slot, environment, cancellationToken);
            if (worker.TryEnter())
            {
                return worker;
            }

            // Retired between reading and entering: the slot already has its replacement, or none (idle).
        }
    }

    /// <summary>Returns the serving worker for a request's environment, entered, when there is one: every request but a key's first.</summary>
    public bool TryAcquire(TracEnvironment environment, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Worker? worker)
    {
        worker = _disposed ? null : Slot(environment).Current;
        return worker is not null && worker.TryEnter();
    }

    /// <summary>Counts a finished request and triggers the count limit.</summary>
    public void OnRequestFinished(Worker worker)
    {
        var served = worker.Exit(served: true);
        _metrics.Requests.Add(1);
        if (_options.Mode == WorkerMode.Process)
        {
            if (_processRequestLimit > 0 && Interlocked.Increment(ref _processServed) == _processRequestLimit)
            {
                RetireProcess(WorkerRecycleReasons.MaximumRequests);
            }
        }
        else if (worker.RequestLimit > 0 && served >= worker.RequestLimit && worker.TryRequestRecycle())
        {
            // A key forgotten with its project has no slot any more: its worker is already retired.
            if (_slots.TryGetValue(worker.Key, out var slot))
            {
                Recycle(slot, worker, WorkerRecycleReasons.MaximumRequests);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        _catalog.EnvironmentUnlisted -= RetireUnlisted;
        _stopping.Cancel();
        _memoryTimer?.Dispose();
        _processLifetimeTimer?.Dispose();
        _processStopTimer?.Dispose();
        var stops = new List<Task>();
        foreach (var slot in _slots.Values)
        {
            if (slot.Current is { } worker && slot.Replace(worker, null))
            {
                // The host stops after its own drain, so what is still running here is aborted at once; the waits
                // are bounded in real time (a manual clock in a test would never end them).
                stops.Add(DrainAndStopAsync(worker, "shutdown", TimeSpan.Zero, TimeProvider.System));
            }
        }

        foreach (var worker in _retiring.Keys)
        {
            worker.Abort();
            stops.Add(worker.Idle.WaitAsync(_options.DrainTimeout, TimeProvider.System).ContinueWith(_ => { }, TaskScheduler.Default));
        }

        await Task.WhenAll(stops);
        await _unloads.FlushAsync();
    }

    private WorkerSlot Slot(TracEnvironment environment)
    {
        if (_options.Scope == WorkerScope.Shared)
        {
            return Slot(SharedKey);
        }

        if (!_slotsByEnvironment.TryGetValue(environment, out var slot) || slot.IsRemoved)
        {
            // A slot removed with its project (a request that was resolved just before) installs no worker, so such a
            // request gets 503; a snapshot of a project listed again finds the project's new slot.
            slot = Slot(environment.Path);
            _slotsByEnvironment.AddOrUpdate(environment, slot);
        }

        return slot;
    }

    private WorkerSlot Slot(string key)
    {
        if (_slots.TryGetValue(key, out var slot))
        {
            return slot;
        }

        slot = _slots.GetOrAdd(key, CreateSlot);
        if (!NamesAWorker(key))
        {
            // Made for a project the catalog dropped meanwhile: its unlisting may have run before the slot existed.
            Forget(slot);
        }

        return slot;
    }

    /// <summary>Returns whether a key names what a worker can serve: the shared worker, or a project the catalog knows.</summary>
    private bool NamesAWorker(string key) =>
        _options.Scope == WorkerScope.Shared ? key == SharedKey : _catalog.Knows(key);

    /// <summary>
    /// Takes the key's slot out of the pool and retires its worker, if any: a project that left the listing keeps no
    /// state here. The slot's requests still running finish on the retired worker.
    /// </summary>
    private void Forget(WorkerSlot slot)
    {
        // Only this slot: one made since for the same key (the project came back) stays.
        if (!_slots.TryRemove(new KeyValuePair<string, WorkerSlot>(slot.Key, slot)))
        {
            return;
        }

        slot.MarkRemoved();
        while (slot.Current is { } worker)
        {
            Retire(slot, worker, WorkerRecycleReasons.EnvironmentRemoved);
        }

        slot.SignalChanged();
    }

    private WorkerSlot CreateSlot(string key)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = _timeProvider };
        if (_options.ConfigureStartPipeline is { } configure)
        {
            configure(builder, key);
            return new WorkerSlot(key, builder.Build(), breaker: null);
        }

        // The retries wrap attempts that each take their own StartTimeout (see AttemptAsync); a timed-out attempt
        // counts for the breaker, an open breaker is not retried.
        var pipeline = builder
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not (OperationCanceledException or BrokenCircuitException)),
                MaxRetryAttempts = 2,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
            })
            .Build();
        return new WorkerSlot(key, pipeline, new StartBreaker(threshold: 3, TimeSpan.FromSeconds(30), _timeProvider));
    }

    private async Task<Worker> StartFirstAsync(WorkerSlot slot, TracEnvironment environment, CancellationToken cancellationToken)
    {
        Task<Worker> start;
        lock (slot.StartLock)
        {
            if (slot.Current is { } started)
            {
                return started;
            }

            if (slot.IsRemoved)
            {
                // Resolved just before its project left the listing: no worker is built for it.
                throw new WorkerUnavailableException("Service Unavailable: this project was removed.", TimeSpan.FromSeconds(5));
            }

            // One start for every request waiting: it belongs to the pool, not to the first client, whose leaving
            // must not cancel it.
            start = slot.FirstStart ??= StartAndInstallAsync(slot, _options.Scope == WorkerScope.Shared ? null : environment);
        }

        try
        {
            // Each request waits at most StartTimeout, even for a warm-up that ignores its cancellation.
            return await start.WaitAsync(_options.StartTimeout, _timeProvider, cancellationToken);
        }
        catch (TimeoutException e)
        {
            throw new WorkerUnavailableException("Service Unavailable: the application for this project is still starting; try again shortly.", TimeSpan.FromSeconds(5), e);
        }
    }

    private async Task<Worker> StartAndInstallAsync(WorkerSlot slot, TracEnvironment? environment)
    {
        // Never completes inside the caller's lock, so FirstStart is set before the finally below clears it.
        await Task.Yield();
        try
        {
            var worker = await StartAsync(slot, environment, "first_request", gated: false, _stopping.Token);
            if (_disposed || !slot.Replace(null, worker))
            {
                await StopAsync(worker, "shutdown");
                throw new WorkerUnavailableException("Service Unavailable: the application is shutting down.", TimeSpan.FromSeconds(5));
            }

            // Checked after installing (Forget marks before it looks): one of the two always sees the other.
            if (slot.IsRemoved)
            {
                if (slot.Replace(worker, null))
                {
                    await StopAsync(worker, WorkerRecycleReasons.EnvironmentRemoved);
                }

                throw new WorkerUnavailableException("Service Unavailable: this project was removed while its worker started.", TimeSpan.FromSeconds(5));
            }

            return worker;
        }
        finally
        {
            lock (slot.StartLock)
            {
                slot.FirstStart = null;
            }
        }
    }

    /// <exception cref="WorkerUnavailableException">The start pipeline failed or its breaker is open.</exception>
    private async Task<Worker> StartAsync(WorkerSlot slot, TracEnvironment? environment, string reason, bool gated, CancellationToken cancellationToken)
    {
        var started = _timeProvider.GetTimestamp();
        // Taken before the build: a trac.ini change during the build or the warm-up still triggers a recycle.
        var configChanged = environment is not null && _options.RecycleOnConfigChange && _catalog.TryGetByPath(environment.Path, out var environmentSlot)
            ? environmentSlot.GetChangeToken()
            : null;
        Worker worker;
        try
        {
            worker = await slot.StartPipeline.ExecuteAsync(
                static (state, token) => new ValueTask<Worker>(state.Pool.AttemptAsync(state.Slot, state.Environment, state.Gated, token)),
                (Pool: this, Slot: slot, Environment: environment, Gated: gated),
                cancellationToken);
        }
        catch (BrokenCircuitException e)
        {
            throw new WorkerUnavailableException(
                $"Service Unavailable: the application for this project failed to start several times; it is tried again in {Seconds(e.RetryAfter)} seconds.",
                e.RetryAfter ?? TimeSpan.FromSeconds(30), e);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            WorkerLog.WorkerStartFailed(_logger, slot.Key, e.Message, e);
            throw new WorkerUnavailableException(
                "Service Unavailable: the application for this project could not be started.", TimeSpan.FromSeconds(5), e);
        }
        finally
        {
            _metrics.StartDuration.Record(_timeProvider.GetElapsedTime(started).TotalSeconds);
        }

        try
        {
            Subscribe(slot, worker, configChanged);
        }
        catch
        {
            await StopAsync(worker, reason);
            throw;
        }

        _metrics.ActiveWorkers.Add(1);
        WorkerLog.WorkerStarted(_logger, slot.Key, worker.Generation, reason, (long)_timeProvider.GetElapsedTime(started).TotalMilliseconds);
        return worker;
    }

    /// <summary>
    /// One start attempt. A recycle's attempt takes a place in the pool-wide gate for as long as it builds and warms,
    /// and only then: the retry back-off between attempts and an open breaker hold no place, so a project that cannot
    /// start never delays another project's recycle.
    /// </summary>
    private async Task<Worker> AttemptAsync(WorkerSlot slot, TracEnvironment? environment, bool gated, CancellationToken cancellationToken)
    {
        if (slot.Breaker?.RetryAfter() is { } retryAfter)
        {
            throw new BrokenCircuitException("The application of this project failed to start several times in a row.", retryAfter);
        }

        if (gated)
        {
            await _recycleGate.WaitAsync(cancellationToken);
        }

        try
        {
            if (slot.Breaker is not { } breaker)
            {
                return await CreateWorkerAsync(slot, environment, cancellationToken);
            }

            Worker worker;
            try
            {
                // The attempt's timeout starts once it has its place: waiting for the gate is not starting.
                worker = await _attemptTimeout.ExecuteAsync(
                    static (state, token) => new ValueTask<Worker>(state.Pool.CreateWorkerAsync(state.Slot, state.Environment, token)),
                    (Pool: this, Slot: slot, Environment: environment),
                    cancellationToken);
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
                _recycleGate.Release();
            }
        }
    }

    private async Task<Worker> CreateWorkerAsync(WorkerSlot slot, TracEnvironment? environment, CancellationToken cancellationToken)
    {
        var generation = slot.NextGeneration();
        TracPluginSet? plugins = null;
        WorkerLoadContext? loadContext = null;
        ServiceProvider? services = null;
        ITracApplication? application = null;
        try
        {
            if (_plugins is not null && environment is not null)
            {
                plugins = await _plugins.AcquireAsync(environment.Path, _plugins.DefaultFor(environment.Path), cancellationToken);
                if (plugins.Plugins.Count > 0)
                {
                    loadContext = WorkerLoadContext.Create($"trac-worker-{environment.Name}-{generation}", plugins.Plugins);
                }
            }

            var context = new TracWorkerContext(slot.Key, environment, generation, plugins, loadContext, _hostServices);
            var collection = new ServiceCollection();
            AddHostSingletons(collection);
            collection.AddSingleton(context);
            _options.ConfigureServices?.Invoke(collection, context);
            services = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
            if (ApplicationType is { } type)
            {
                application = (ITracApplication)ActivatorUtilities.CreateInstance(services, type);
                await application.WarmUpAsync(cancellationToken);
            }

            var limiter = _options.MaxConcurrentRequests > 0
                ? new ConcurrencyLimiter(new ConcurrencyLimiterOptions
                {
                    PermitLimit = _options.MaxConcurrentRequests,
                    QueueLimit = _options.QueueLimit,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                })
                : null;
            var limit = _options.Mode == WorkerMode.InProcess && _options.MaxRequests > 0 ? _options.MaxRequests + Jitter(_options.MaxRequestsJitter) : 0;
            return new Worker(
                slot.Key, environment, generation, services, application, plugins, loadContext, limit, limiter, _timeProvider,
                tracksIdleTime: _options.IdleTimeout > TimeSpan.Zero);
        }
        catch
        {
            // A failed attempt leaves nothing behind: its services, plugin lease and load context go. What their
            // disposal throws is logged, and the start's own exception is the one that tells what went wrong.
            try
            {
                (application as IDisposable)?.Dispose();
                if (services is not null)
                {
                    await services.DisposeAsync();
                }
            }
            catch (Exception e)
            {
                WorkerLog.WorkerStopFailed(_logger, slot.Key, generation, "failed start", e.Message, e);
            }
            finally
            {
                plugins?.Release();
                loadContext?.Unload();
            }

            throw;
        }
    }

    private void AddHostSingletons(IServiceCollection collection)
    {
        // Host singletons stay reachable from the worker; worker registrations can replace them.
        collection.AddSingleton(_timeProvider);
        if (_hostServices.GetService<ILoggerFactory>() is { } loggerFactory)
        {
            collection.AddSingleton(loggerFactory);
            collection.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        }

        if (_hostServices.GetService<IConfiguration>() is { } configuration)
        {
            collection.AddSingleton(configuration);
        }

        if (_hostServices.GetService<IHostEnvironment>() is { } hostEnvironment)
        {
            collection.AddSingleton(hostEnvironment);
        }

        if (_hostServices.GetService<IHostApplicationLifetime>() is { } lifetime)
        {
            collection.AddSingleton(lifetime);
        }
    }

    private void Subscribe(WorkerSlot slot, Worker worker, IChangeToken? configChanged)
    {
        if (_options.MaxLifetime > TimeSpan.Zero && _options.Mode == WorkerMode.InProcess)
        {
            worker.AddSubscription(_timeProvider.CreateTimer(
                _ => Recycle(slot, worker, WorkerRecycleReasons.RestartInterval), null, _options.MaxLifetime + Jitter(_options.MaxLifetimeJitter), Timeout.InfiniteTimeSpan));
        }

        if (_options.IdleTimeout > TimeSpan.Zero)
        {
            ITimer? idle = null;
            idle = _timeProvider.CreateTimer(_ =>
            {
                var quiet = worker.IdleFor;
                if (worker.ActiveRequests == 0 && quiet >= _options.IdleTimeout)
                {
                    Retire(slot, worker, WorkerRecycleReasons.InactivityTimeout);
                }
                else if (worker.IsServing)
                {
                    idle!.Change(quiet >= _options.IdleTimeout ? _options.IdleTimeout : _options.IdleTimeout - quiet, Timeout.InfiniteTimeSpan);
                }
            }, null, _options.IdleTimeout, Timeout.InfiniteTimeSpan);
            worker.AddSubscription(idle);
        }

        // The set the worker leased: if it was replaced while the worker started, the token has fired already and
        // the callback runs at once.
        if (_options.RecycleOnPluginChange && worker.PluginSet is { } set)
        {
            worker.AddSubscription(set.ChangeToken.RegisterChangeCallback(_ => Recycle(slot, worker, WorkerRecycleReasons.PluginsChanged), null));
        }

        if (configChanged is not null)
        {
            worker.AddSubscription(configChanged.RegisterChangeCallback(_ => Recycle(slot, worker, WorkerRecycleReasons.ConfigChanged), null));
        }
    }

    // Every trigger (timers, change callbacks, the count limit) goes through the thread pool: never on the thread of
    // a request, of a file watcher or of whoever advanced the clock.
    private void Recycle(WorkerSlot slot, Worker worker, string reason) =>
        ThreadPool.UnsafeQueueUserWorkItem(
            static state => _ = state.Pool.RecycleAsync(state.Slot, state.Worker, state.Reason),
            (Pool: this, Slot: slot, Worker: worker, Reason: reason),
            preferLocal: false);

    /// <summary>
    /// Replaces <paramref name="expected"/> if it is still the slot's worker; completes once new requests go to the
    /// replacement. The old worker drains and stops in the background.
    /// </summary>
    private async Task RecycleAsync(WorkerSlot slot, Worker expected, string reason)
    {
        if (_options.Mode == WorkerMode.Process)
        {
            RetireProcess(reason);
            return;
        }

        if (_disposed || slot.IsRemoved || !ReferenceEquals(slot.Current, expected))
        {
            return;
        }

        if (!slot.TryBeginRecycle())
        {
            // Another recycle of the key runs: this one is remembered and run when it ends, not lost.
            lock (slot.StartLock)
            {
                slot.Pending = (expected, reason);
            }

            return;
        }

        try
        {
            Worker next;
            try
            {
                // The herd control: each attempt waits for a place in the pool-wide gate while the old worker serves.
                next = await StartAsync(slot, LatestEnvironment(expected), reason, gated: true, _stopping.Token);
            }
            catch (Exception e) when (e is WorkerUnavailableException or OperationCanceledException)
            {
                // Logged by StartAsync; the old worker keeps serving, and the trigger is tried again later.
                RetryLater(slot, expected, reason, e);
                return;
            }

            if (!slot.Replace(expected, next))
            {
                await StopAsync(next, reason);
                return;
            }

            _metrics.Recycles.Add(1, new KeyValuePair<string, object?>("reason", reason));
            WorkerLog.WorkerSwitched(_logger, slot.Key, expected.Generation, next.Generation, reason);
            _ = DrainAndStopAsync(expected, reason, _options.DrainTimeout);
            slot.SignalChanged();
        }
        finally
        {
            slot.EndRecycle();
            (Worker Worker, string Reason)? pending;
            lock (slot.StartLock)
            {
                pending = slot.Pending;
                slot.Pending = null;
            }

            if (pending is { } next && ReferenceEquals(slot.Current, next.Worker))
            {
                Recycle(slot, next.Worker, next.Reason);
            }
        }
    }

    private void RetryLater(WorkerSlot slot, Worker worker, string reason, Exception failure)
    {
        if (_disposed || !worker.IsServing)
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

    /// <summary>Retires a worker without a replacement (idle): the next request of the key starts a fresh one.</summary>
    private void Retire(WorkerSlot slot, Worker worker, string reason)
    {
        if (slot.Replace(worker, null))
        {
            _metrics.Recycles.Add(1, new KeyValuePair<string, object?>("reason", reason));
            _ = DrainAndStopAsync(worker, reason, _options.DrainTimeout);
            slot.SignalChanged();
        }
    }

    // A project gone from the listing answers 404 from now on: its worker, with its application, services and
    // plugins, goes too, instead of waiting for a trigger that may never come.
    private void RetireUnlisted(string path)
    {
        // A late event for a project listed again since (two refreshes overlapped) leaves its new state alone.
        if (_options.Scope == WorkerScope.PerEnvironment && !NamesAWorker(path) && _slots.TryGetValue(path, out var slot))
        {
            Forget(slot);
        }
    }

    private TracEnvironment? LatestEnvironment(Worker worker) =>
        worker.Environment is { } environment
            ? (_catalog.TryGetByPath(environment.Path, out var slot) ? slot.State.Environment : null) ?? environment
            : null;

    private async Task DrainAndStopAsync(Worker worker, string reason, TimeSpan drainTimeout, TimeProvider? clock = null)
    {
        clock ??= _timeProvider;
        _retiring[worker] = 0;
        // Stop taking requests now, before anything is awaited: the caller has already switched to the replacement.
        WorkerLog.WorkerDraining(_logger, worker.Key, worker.Generation, reason, worker.ActiveRequests);
        worker.BeginDrain();
        _metrics.ActiveWorkers.Add(-1);
        var started = _timeProvider.GetTimestamp();
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
                WorkerLog.WorkerRequestsAborted(_logger, worker.Key, worker.Generation, reason, active);
                _metrics.AbortedRequests.Add(active);
                worker.Abort();
                // Aborted requests unwind quickly; the services are disposed only once they have, or after a grace.
                if (!await FinishesWithin(worker.Idle, _options.DrainTimeout, clock))
                {
                    outliving = worker.ActiveRequests;
                }
            }

            _metrics.DrainDuration.Record(_timeProvider.GetElapsedTime(started).TotalSeconds);
            if (outliving > 0)
            {
                // Said once, counted, and the worker stays listed (Aborted) until its last request returns; its
                // unloading is verified only then, since running code keeps its plugins loaded.
                WorkerLog.WorkerStoppedWithRequestsRunning(_logger, worker.Key, worker.Generation, reason, outliving);
                _metrics.OutlivingRequests.Add(outliving);
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

    private async Task ForgetWhenIdleAsync(Worker worker, string reason)
    {
        await worker.Idle;
        _retiring.TryRemove(worker, out _);
        WorkerLog.WorkerAbortedRequestsReturned(_logger, worker.Key, worker.Generation, reason);
        VerifyUnload(worker, reason);
    }

    private async Task StopAsync(Worker worker, string reason, bool counted = true, bool verifyUnload = true)
    {
        if (counted)
        {
            _metrics.ActiveWorkers.Add(-1);
        }

        try
        {
            await worker.StopAsync();
        }
        catch (Exception e)
        {
            // A worker service that throws while disposed: everything else was released all the same.
            WorkerLog.WorkerStopFailed(_logger, worker.Key, worker.Generation, reason, e.Message, e);
        }

        WorkerLog.WorkerStopped(_logger, worker.Key, worker.Generation, reason, worker.RequestsServed);
        if (verifyUnload)
        {
            VerifyUnload(worker, reason);
        }
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
            WorkerLog.WorkerUnloaded(_logger, unloading.Key, unloading.Generation, unloading.Reason);
        }
        else
        {
            _metrics.UnloadFailures.Add(1);
            WorkerLog.WorkerUnloadFailed(_logger, unloading.Key, unloading.Generation, unloading.Reason);
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

    private void CheckMemory()
    {
        // After a memory recycle, give the collector three intervals before judging again, so that one high reading
        // does not roll through every worker.
        if (Environment.WorkingSet <= _options.MemoryLimit || _timeProvider.GetTimestamp() < Volatile.Read(ref _memoryRecycleAllowedAt))
        {
            return;
        }

        Volatile.Write(ref _memoryRecycleAllowedAt,
            _timeProvider.GetTimestamp() + (long)(3 * _options.MemoryCheckInterval.TotalSeconds * _timeProvider.TimestampFrequency));

        if (_options.Mode == WorkerMode.Process)
        {
            RetireProcess(WorkerRecycleReasons.MemoryLimit);
            return;
        }

        var oldest = _slots.Values.Select(s => (Slot: s, Worker: s.Current)).Where(p => p.Worker is not null).MinBy(p => p.Worker!.StartedTimestamp);
        if (oldest.Worker is { } worker)
        {
            Recycle(oldest.Slot, worker, WorkerRecycleReasons.MemoryLimit);
        }
    }

    private void RetireProcess(string reason)
    {
        if (Interlocked.Exchange(ref _processRetiring, 1) != 0)
        {
            return;
        }

        _metrics.Recycles.Add(1, new KeyValuePair<string, object?>("reason", reason));
        WorkerLog.ProcessRecycling(_logger, reason, _options.ProcessStopDelay);
        var lifetime = _hostServices.GetService<IHostApplicationLifetime>();
        _processStopTimer = _timeProvider.CreateTimer(_ => lifetime?.StopApplication(), null, _options.ProcessStopDelay, Timeout.InfiniteTimeSpan);
    }

    private static long Jitter(int maximum) => maximum > 0 ? Random.Shared.NextInt64(0, maximum + 1L) : 0;

    private static TimeSpan Jitter(TimeSpan maximum) =>
        maximum > TimeSpan.Zero ? TimeSpan.FromTicks(Random.Shared.NextInt64(0, maximum.Ticks + 1)) : TimeSpan.Zero;

    private static long Seconds(TimeSpan? value) => (long)Math.Ceiling((value ?? TimeSpan.FromSeconds(30)).TotalSeconds);
}
