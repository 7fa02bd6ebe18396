using System.Threading.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Environments;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Common;

namespace Trac.Hosting.Workers;

/// <summary>
/// One instance of the host's application for one pool key: its services, its plugin load context, its request
/// counters. A request enters only while the worker serves; once retired, it drains (in-flight requests finish or
/// are aborted) and is then disposed. It is its own request feature, so dispatching allocates nothing for it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "CancellationTokenSources without timers hold nothing to dispose.")]
internal sealed class Worker : ITracWorker
{
    private const int ServingState = 0;
    private const int DrainingState = 1;
    private const int StoppedState = 2;

    private readonly CancellationTokenSource _draining = new();
    private readonly CancellationTokenSource _aborting = new();
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _timeProvider;
    private readonly List<IDisposable> _subscriptions = [];
    private ServiceProvider? _services;
    private TracPluginSet? _plugins;
    private readonly WorkerLoadContext? _loadContext;
    private volatile int _state;
    private int _active;
    private long _served;
    private readonly bool _tracksIdleTime;
    private long _lastActivity;
    private int _recycleRequested;
    private ITimer? _retry;
    private volatile bool _aborted;
    private bool _installed;
    private PendingRecycle? _early;

    public Worker(
        string key, TracEnvironment? environment, long generation, ServiceProvider services, IWorkerApplication? application,
        TracPluginSet? plugins, string? pluginCacheDirectory, WorkerLoadContext? loadContext, long requestLimit, RateLimiter? limiter,
        TimeProvider timeProvider, bool tracksIdleTime)
    {
        PluginCacheDirectory = pluginCacheDirectory;
        Key = key;
        Project = WorkerSlots.ProjectOf(key);
        Environment = environment;
        Generation = generation;
        _services = services;
        Application = application;
        _plugins = plugins;
        _loadContext = loadContext;
        RequestLimit = requestLimit;
        Limiter = limiter;
        _timeProvider = timeProvider;
        StartedAt = timeProvider.GetUtcNow();
        StartedTimestamp = timeProvider.GetTimestamp();
        _lastActivity = StartedTimestamp;
        _tracksIdleTime = tracksIdleTime;
    }

    public string Key { get; }

    /// <summary>Gets the project the worker serves, as logs name it: the environment's name, or <c>shared</c>.</summary>
    public string Project { get; }

    public TracEnvironment? Environment { get; }

    public long Generation { get; }

    public long RequestsServed => Volatile.Read(ref _served);

    public IServiceProvider Services => _services ?? throw new ObjectDisposedException($"worker {Key} #{Generation}");

    public CancellationToken Draining => _draining.Token;

    public DateTimeOffset StartedAt { get; }

    public long StartedTimestamp { get; }

    /// <summary>Gets what the worker runs, or <see langword="null"/> when the pipeline dispatches to a delegate.</summary>
    public IWorkerApplication? Application { get; private set; }

    /// <summary>Gets the plugin cache directory the worker's plugins come from (the requests' own), if it has plugins.</summary>
    public string? PluginCacheDirectory { get; }

    /// <summary>Gets the plugin set the worker leased (its change token triggers a recycle), if any.</summary>
    public TracPluginSet? PluginSet => _plugins;

    public long RequestLimit { get; }

    public RateLimiter? Limiter { get; }

    public int ActiveRequests => Volatile.Read(ref _active);

    public CancellationToken Aborting => _aborting.Token;

    public Task Idle => _idle.Task;

    public bool IsServing => _state == ServingState;

    public TracWorkerState State => _state switch
    {
        ServingState => TracWorkerState.Serving,
        _ when _aborted && Volatile.Read(ref _active) > 0 => TracWorkerState.Aborted,
        DrainingState => TracWorkerState.Draining,
        _ => TracWorkerState.Stopped,
    };

    /// <summary>Gets how long the worker has had no request; only kept when an idle timeout asks for it.</summary>
    public TimeSpan IdleFor => _timeProvider.GetElapsedTime(Volatile.Read(ref _lastActivity));

    /// <summary>Enters a request; <see langword="false"/> when the worker no longer serves (the caller takes another).</summary>
    public bool TryEnter()
    {
        Interlocked.Increment(ref _active);
        if (_state == ServingState)
        {
            return true;
        }

        Exit(served: false);
        return false;
    }

    /// <summary>Leaves a request; returns how many requests the worker has now served.</summary>
    public long Exit(bool served)
    {
        var count = served ? Interlocked.Increment(ref _served) : Volatile.Read(ref _served);
        if (_tracksIdleTime)
        {
            // Only the idle timeout reads it: without one, requests skip reading the clock.
            Volatile.Write(ref _lastActivity, _timeProvider.GetTimestamp());
        }

        if (Interlocked.Decrement(ref _active) == 0 && _state != ServingState)
        {
            _idle.TrySetResult();
        }

        return count;
    }

    /// <summary>Returns <see langword="true"/> the first time only: a worker asks to be recycled once.</summary>
    public bool TryRequestRecycle() => Interlocked.Exchange(ref _recycleRequested, 1) == 0;

    /// <summary>Lets the count limit trigger again, after a recycle that could not start a replacement.</summary>
    public void ResetRecycleRequest() => Volatile.Write(ref _recycleRequested, 0);

    /// <summary>
    /// Arms the worker's one retry timer (a recycle that could not start a replacement): however many failures ask,
    /// the worker holds a single timer, set to the latest delay. Nothing is armed once the worker no longer serves.
    /// </summary>
    public void ScheduleRetry(TimeProvider timeProvider, TimeSpan delay, Action retry)
    {
        lock (_subscriptions)
        {
            if (_state != ServingState)
            {
                return;
            }

            if (_retry is null)
            {
                _retry = timeProvider.CreateTimer(static state => ((Action)state!)(), retry, delay, Timeout.InfiniteTimeSpan);
                _subscriptions.Add(_retry);
            }
            else
            {
                _retry.Change(delay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>
    /// Keeps a trigger that fired before the worker was installed in its slot (a token that had fired while it
    /// started) for <see cref="MarkInstalled"/>; returns <see langword="false"/> once the worker is installed.
    /// </summary>
    public bool DeferUntilInstalled(PendingRecycle recycle)
    {
        lock (_subscriptions)
        {
            if (_installed)
            {
                return false;
            }

            _early ??= recycle;
            return true;
        }
    }

    /// <summary>Marks the worker installed in its slot; returns the first trigger that fired before, if any.</summary>
    public PendingRecycle? MarkInstalled()
    {
        lock (_subscriptions)
        {
            _installed = true;
            var early = _early;
            _early = null;
            return early;
        }
    }

    public void AddSubscription(IDisposable subscription)
    {
        lock (_subscriptions)
        {
            _subscriptions.Add(subscription);
        }
    }

    /// <summary>Stops taking requests and tells the running ones, through <see cref="Draining"/>.</summary>
    public void BeginDrain()
    {
        _state = DrainingState;
        DisposeSubscriptions();
        _draining.Cancel();
        if (Volatile.Read(ref _active) == 0)
        {
            _idle.TrySetResult();
        }
    }

    /// <summary>Aborts the requests still running after the drain deadline.</summary>
    public void Abort()
    {
        _aborted = true;
        _aborting.Cancel();
    }

    /// <summary>
    /// Disposes the application and the services, releases the plugin lease and unloads the load context. Returns a
    /// weak reference to the load context (or <see langword="null"/>), for the caller to verify it is collected.
    /// </summary>
    public async Task<WeakReference?> StopAsync()
    {
        _state = StoppedState;
        DisposeSubscriptions();
        try
        {
            await Disposal.DisposeAsync(Application);
        }
        finally
        {
            // Whatever the application's or the services' disposal throws, the rest is still released.
            Application = null;
            try
            {
                if (_services is { } services)
                {
                    _services = null;
                    await services.DisposeAsync();
                }
            }
            finally
            {
                (Limiter as IDisposable)?.Dispose();
                _plugins?.Release();
                _plugins = null;
                // The holder forgets the context and its assemblies: a worker kept by anyone keeps neither alive.
                Unloading = _loadContext?.Unload();
            }
        }

        return Unloading;
    }

    /// <summary>Gets a weak reference to the unloading load context once <see cref="StopAsync"/> ran, if there was one.</summary>
    public WeakReference? Unloading { get; private set; }

    private void DisposeSubscriptions()
    {
        IDisposable[] subscriptions;
        lock (_subscriptions)
        {
            subscriptions = [.. _subscriptions];
            _subscriptions.Clear();
        }

        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }
    }

    public TracWorkerInfo ToInfo() => new(Key, Generation, State, RequestsServed, ActiveRequests, RequestLimit, StartedAt);
}
