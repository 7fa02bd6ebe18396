using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Environments;
using Trac.Hosting.PluginCache;

namespace Trac.Hosting.Workers;

/// <summary>
/// The workers of one Trac pipeline, by key: hands each request its key's worker (starting the first one), and
/// replaces workers when a trigger asks: the replacement is built and warmed while the old worker serves
/// (<see cref="WorkerStarter"/>), switched atomically, and the old one drained and stopped (<see cref="WorkerDrainer"/>).
/// What a trigger replaces, a worker or the process, is the <see cref="RecyclePolicy"/>'s call.
/// </summary>
internal sealed class WorkerPool : IWorkerPool, IAsyncDisposable
{
    // How many times one request replaces its worker for its plugin cache directory before it gives up: more means
    // requests of the project keep naming different directories.
    private const int MaxSwitchesPerRequest = 3;

    // Why a first worker started, in the WorkerStarted log.
    private const string FirstRequestStart = "first_request";
    private const string PreloadStart = "preload";

    private static readonly TimeSpan s_retryAfter = TimeSpan.FromSeconds(5);

    private readonly WorkerSettings _settings;
    private readonly EnvironmentCatalog _catalog;
    private readonly TimeProvider _timeProvider;
    private readonly TracMetrics _metrics;
    private readonly CancellationTokenSource _stopping = new();
    private readonly WorkerFactory _factory;
    private readonly WorkerDrainer _drainer;
    private readonly WorkerSlots _slots;
    private readonly WorkerRecycler _recycler;
    private readonly WorkerPreloader _preloader;
    private CancellationTokenRegistration _preloadRegistration;
    private volatile bool _disposed;

    public WorkerPool(
        WorkerSettings settings, IServiceProvider hostServices, EnvironmentCatalog catalog, PluginSetProvider? plugins,
        TimeProvider timeProvider, ILogger logger, TracMetrics metrics)
    {
        _settings = settings;
        _catalog = catalog;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _factory = new WorkerFactory(settings, hostServices, plugins, timeProvider, logger);
        _drainer = new WorkerDrainer(settings, timeProvider, logger, metrics);
        _slots = new WorkerSlots(settings, catalog, timeProvider, (slot, worker, reason) => _recycler!.Retire(slot, worker, reason));
        _recycler = new WorkerRecycler(
            settings, _slots, _factory, _drainer, catalog, timeProvider, logger, metrics,
            () => hostServices.GetService<IHostApplicationLifetime>()?.StopApplication(), _stopping.Token);
        _recycler.StartReplacement = StartReplacement;
        _preloader = new WorkerPreloader(settings, catalog, timeProvider, logger);
        _catalog.EnvironmentUnlisted += _slots.ForgetUnlisted;
    }

    /// <summary>Gets or sets what each worker runs (<c>.Dispatch&lt;TApplication&gt;()</c>, or another kind of worker).</summary>
    public IWorkerApplicationFactory? Applications
    {
        get => _factory.Applications;
        set => _factory.Applications = value;
    }

    /// <summary>Gets whether process mode decided to replace the process (the health check reports unhealthy).</summary>
    public bool IsProcessRetiring => _recycler.Policy.IsProcessRetiring;

    public WorkerMode Mode => _settings.Mode;

    public TracWorkerLimits Limits => _settings.Limits;

    /// <summary>
    /// Gets the projects whose workers <see cref="WorkerOptions.Preload"/> is still starting, or <see langword="null"/>
    /// when it is done or was not asked for.
    /// </summary>
    public IReadOnlyList<string>? Preloading => _preloader.Pending;

    public IReadOnlyList<string> OpenBreakers => _slots.All.Where(s => s.BreakerOpen).Select(s => s.Key).ToArray();

    /// <summary>Gets how many keys the pool holds state for (for tests).</summary>
    internal int SlotCount => _slots.Count;

    public IReadOnlyList<TracWorkerInfo> Workers =>
        _slots.All.Select(s => s.Current).OfType<Worker>()
            .Concat(_drainer.Retiring.Where(w => w.State != TracWorkerState.Stopped)).Select(w => w.ToInfo())
            .OrderBy(w => w.Key, StringComparer.Ordinal).ThenBy(w => w.Generation).ToArray();

    public string GetKey(string project)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        if (_settings.Scope == WorkerScope.Shared && project == WorkerSlots.SharedKey)
        {
            return WorkerSlots.SharedKey;
        }

        if (_catalog.Knows(project))
        {
            return _settings.Scope == WorkerScope.Shared ? WorkerSlots.SharedKey : project;
        }

        return _catalog.TryFindProject(project, out var slot)
            ? _settings.Scope == WorkerScope.Shared ? WorkerSlots.SharedKey : slot.Path
            : throw new ArgumentException(
                $"No project named '{project}' is known to the Trac pipeline: it is neither listed nor the single environment (a project " +
                "chosen per request by path is found by its path). IWorkerPool.Workers lists the keys in use.",
                nameof(project));
    }

    public IChangeToken GetChangeToken(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        // A slot is made only for a key that names a project (or the shared worker): asking about other keys must not
        // leave state behind.
        key = KeyOf(key);
        return _slots.TryGet(key, out var slot) ? slot.GetChangeToken() : _slots.Of(key).GetChangeToken();
    }

    // A key in use or one that names a worker is taken as it is; a path or 'shared' that is neither is an error;
    // anything else is a project's name.
    private string KeyOf(string key)
    {
        if (_slots.TryGet(key, out _) || _slots.NamesAWorker(key))
        {
            return key;
        }

        if (Path.IsPathRooted(key) || key == WorkerSlots.SharedKey)
        {
            throw new ArgumentException(
                $"No project has the worker key '{key}'. Keys are the full paths of environments" +
                (_settings.Scope == WorkerScope.Shared ? $" ('{WorkerSlots.SharedKey}' with WorkerScope.Shared)" : string.Empty) +
                ", or give the project's name; IWorkerPool.Workers lists the keys in use.",
                nameof(key));
        }

        return GetKey(key);
    }

    public async Task RecycleAsync(string key, string reason = WorkerRecycleReasons.Manual, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        key = KeyOf(key);
        if (_slots.TryGet(key, out var slot) && slot.Current is { } current)
        {
            // Run off the caller's thread, like every other trigger; the caller waits for the switch.
            await Task.Run(() => _recycler.RecycleAsync(slot, new PendingRecycle(current, reason)), cancellationToken);
        }
    }

    /// <summary>
    /// Returns the worker for a request, entered; starts the key's first worker if needed. A worker whose plugins come
    /// from another cache directory than the request's (<paramref name="pluginCacheDirectory"/>, which the plugin cache
    /// stage chose) is replaced by one for the request's directory first, so the two always agree.
    /// </summary>
    /// <exception cref="WorkerUnavailableException">No worker can start now, or the pool is shutting down.</exception>
    public async ValueTask<Worker> AcquireAsync(TracEnvironment environment, string? pluginCacheDirectory, CancellationToken cancellationToken)
    {
        var slot = _slots.Of(environment);
        var switches = 0;
        while (true)
        {
            if (_disposed)
            {
                throw new WorkerUnavailableException("Service Unavailable: the application is shutting down.", s_retryAfter);
            }

            var worker = slot.Current ?? await StartFirstAsync(slot, environment, pluginCacheDirectory, cancellationToken);
            if (!UsesPluginsOf(worker, pluginCacheDirectory))
            {
                if (await _recycler.SwitchPluginsAsync(slot, worker, pluginCacheDirectory!, cancellationToken) && ++switches > MaxSwitchesPerRequest)
                {
                    throw new WorkerUnavailableException(
                        "Service Unavailable: requests for this project name different plugin cache directories (the PYTHON_EGG_CACHE server " +
                        "variable), so its worker keeps being replaced; give every site of a project the same directory.", s_retryAfter);
                }

                continue;
            }

            if (worker.TryEnter())
            {
                return worker;
            }

            // Retired between reading and entering: the slot already has its replacement, or none (idle).
        }
    }

    /// <summary>Returns the serving worker for a request, entered, when it can serve it now: every request but a key's first.</summary>
    public bool TryAcquire(TracEnvironment environment, string? pluginCacheDirectory, [NotNullWhen(true)] out Worker? worker)
    {
        worker = _disposed ? null : _slots.Of(environment).Current;
        return worker is not null && UsesPluginsOf(worker, pluginCacheDirectory) && worker.TryEnter();
    }

    /// <summary>
    /// Begins starting the workers of <see cref="WorkerOptions.Preload"/>'s projects in the background (once; nothing
    /// when none are listed). A request for one of them meanwhile waits for the same start.
    /// </summary>
    public void BeginPreload()
    {
        if (!_disposed)
        {
            _preloader.Begin(PreloadAsync, _stopping.Token);
        }
    }

    /// <summary>
    /// Begins <see cref="BeginPreload"/> once the host has started (the dispatch stage has given the pool its
    /// application by then); without a host to say so, logs that nothing is preloaded.
    /// </summary>
    public void PreloadWhenStarted(IHostApplicationLifetime? lifetime)
    {
        if (lifetime is null)
        {
            _preloader.Skip();
            return;
        }

        _preloadRegistration = lifetime.ApplicationStarted.Register(BeginPreload);
    }

    // Waits for the whole start, retries included (a request gives up after StartTimeout; the start goes on).
    private async Task PreloadAsync(TracEnvironment environment, CancellationToken cancellationToken)
    {
        var slot = _slots.Of(environment);
        if (slot.Current is null)
        {
            await FirstStartOf(slot, environment, pluginCacheDirectory: null, PreloadStart).WaitAsync(cancellationToken);
        }
    }

    /// <summary>Counts a finished request and lets the recycle policy apply the count limit.</summary>
    public void OnRequestFinished(Worker worker)
    {
        var served = worker.Exit(served: true);
        _metrics.Requests.Add(1, _metrics.Tags(worker.Project));
        _recycler.Policy.OnRequestFinished(worker, served);
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        _preloadRegistration.Dispose();
        _catalog.EnvironmentUnlisted -= _slots.ForgetUnlisted;
        _stopping.Cancel();
        _recycler.Triggers.Dispose();
        _recycler.Policy.Dispose();
        var stops = new List<Task>();
        foreach (var slot in _slots.All)
        {
            if (slot.Current is { } worker && slot.Replace(worker, null))
            {
                // The host stops after its own drain, so what is still running here is aborted at once; the waits
                // are bounded in real time (a manual clock in a test would never end them).
                stops.Add(_drainer.DrainAndStopAsync(worker, "shutdown", TimeSpan.Zero, TimeProvider.System));
                slot.SignalChanged();
            }

            // Requests waiting for a replacement look again, and find the pool shutting down.
            slot.SignalAttempted();
        }

        // Starts still running (a first start, a crashed worker's replacement) end on the stopping token; their
        // applications (processes) are stopped by the start's own clean-up, which the host waits for.
        foreach (var slot in _slots.All)
        {
            Task<Worker>? starting;
            lock (slot.StartLock)
            {
                starting = slot.FirstStart;
            }

            if (starting is not null)
            {
                stops.Add(starting.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default));
            }
        }

        stops.AddRange(_drainer.AbortAll().ToList());
        await Task.WhenAll(stops);
        // Ends with the starts it waits for; it never throws.
        await _preloader.Completion;
        await _drainer.FlushAsync();
    }

    private static bool UsesPluginsOf(Worker worker, string? pluginCacheDirectory) =>
        pluginCacheDirectory is null || worker.PluginCacheDirectory is not { } own || string.Equals(own, pluginCacheDirectory, StringComparison.Ordinal);

    /// <summary>
    /// Returns the slot's worker, or its first start: the one under way, or a new one. One start for every request
    /// waiting: it belongs to the pool, not to the first client, whose leaving must not cancel it.
    /// </summary>
    private Task<Worker> FirstStartOf(WorkerSlot slot, TracEnvironment environment, string? pluginCacheDirectory, string reason)
    {
        lock (slot.StartLock)
        {
            if (slot.Current is { } started)
            {
                return Task.FromResult(started);
            }

            if (slot.IsRemoved)
            {
                // Resolved just before its project left the listing: no worker is built for it.
                return Task.FromException<Worker>(new WorkerUnavailableException("Service Unavailable: this project was removed.", s_retryAfter));
            }

            // A shared worker serves every project, so it has no environment and no plugins.
            var shared = _settings.Scope == WorkerScope.Shared;
            return slot.FirstStart ??= StartAndInstallAsync(
                slot, shared ? null : environment, shared ? null : pluginCacheDirectory ?? _factory.Plugins?.DefaultFor(environment.Path), reason);
        }
    }

    private async Task<Worker> StartFirstAsync(WorkerSlot slot, TracEnvironment environment, string? pluginCacheDirectory, CancellationToken cancellationToken)
    {
        var start = FirstStartOf(slot, environment, pluginCacheDirectory, FirstRequestStart);
        if (start.IsCompletedSuccessfully)
        {
            return start.Result;
        }

        try
        {
            // Each request waits at most StartTimeout, even for a warm-up that ignores its cancellation.
            return await start.WaitAsync(_settings.StartTimeout, _timeProvider, cancellationToken);
        }
        catch (TimeoutException e)
        {
            throw new WorkerUnavailableException("Service Unavailable: the application for this project is still starting; try again shortly.", s_retryAfter, e);
        }
    }

    /// <summary>Starts, in the background, the replacement of a worker taken out of its slot; requests wait for it as for a first start.</summary>
    private void StartReplacement(WorkerSlot slot, Worker worker, string reason)
    {
        Task<Worker> start;
        lock (slot.StartLock)
        {
            if (_disposed || slot.IsRemoved || slot.Current is not null || slot.FirstStart is not null)
            {
                return;
            }

            start = slot.FirstStart = StartAndInstallAsync(slot, worker.Environment, worker.PluginCacheDirectory, reason);
        }

        // Its failure is logged by the starter (and opens the breaker); the next request tries again.
        _ = start.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private async Task<Worker> StartAndInstallAsync(WorkerSlot slot, TracEnvironment? environment, string? pluginCacheDirectory, string reason)
    {
        // Never completes inside the caller's lock, so FirstStart is set before the finally below clears it.
        await Task.Yield();
        try
        {
            var worker = await _recycler.Starter.StartAsync(slot, environment, pluginCacheDirectory, reason, gated: false, _stopping.Token);
            if (_disposed || !slot.Replace(null, worker))
            {
                await _drainer.StopAsync(worker, "shutdown");
                throw new WorkerUnavailableException("Service Unavailable: the application is shutting down.", s_retryAfter);
            }

            // Checked after installing (Forget marks before it looks): one of the two always sees the other.
            if (slot.IsRemoved)
            {
                if (slot.Replace(worker, null))
                {
                    await _drainer.StopAsync(worker, WorkerRecycleReasons.EnvironmentRemoved);
                }

                throw new WorkerUnavailableException("Service Unavailable: this project was removed while its worker started.", s_retryAfter);
            }

            _recycler.OnInstalled(slot, worker);
            _recycler.MakeRoom(slot);
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
}
