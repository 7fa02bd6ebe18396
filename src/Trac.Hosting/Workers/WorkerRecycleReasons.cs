namespace Trac.Hosting.Workers;

/// <summary>Why a worker was recycled, in mod_wsgi's vocabulary; used in logs and as the metrics' <c>reason</c> tag.</summary>
public static class WorkerRecycleReasons
{
    /// <summary>The worker served <see cref="WorkerOptions.MaxRequests"/> (plus its jitter) requests.</summary>
    public const string MaximumRequests = "maximum_requests";

    /// <summary>The worker lived <see cref="WorkerOptions.MaxLifetime"/> (plus its jitter).</summary>
    public const string RestartInterval = "restart_interval";

    /// <summary>The worker served no request for <see cref="WorkerOptions.IdleTimeout"/>.</summary>
    public const string InactivityTimeout = "inactivity_timeout";

    /// <summary>The environment's plugin archives changed.</summary>
    public const string PluginsChanged = "plugins_changed";

    /// <summary>The environment's <c>conf/trac.ini</c> changed.</summary>
    public const string ConfigChanged = "config_changed";

    /// <summary>The process's memory, or the worker application's own, passed <see cref="WorkerOptions.MemoryLimit"/>.</summary>
    public const string MemoryLimit = "memory_limit";

    /// <summary>
    /// The environment left the multi-project listing (its directory was removed or renamed, or <c>.tracignore</c> now
    /// hides it): its requests get 404, and its worker is retired.
    /// </summary>
    public const string EnvironmentRemoved = "environment_removed";

    /// <summary>
    /// The worker's application ended on its own (a worker process that exited or crashed): the worker is replaced,
    /// and the requests it was running fail.
    /// </summary>
    public const string Crashed = "crashed";

    /// <summary>
    /// A request named another plugin cache directory (the <c>PYTHON_EGG_CACHE</c> server variable) than the one its
    /// project's worker loaded its plugins from: the worker is replaced by one for the request's directory.
    /// </summary>
    public const string PluginCacheDirectoryChanged = "plugin_cache_directory_changed";

    /// <summary>Someone asked, through <see cref="IWorkerPool.RecycleAsync"/>.</summary>
    public const string Manual = "manual";

    /// <summary>
    /// The pool was at <see cref="WorkerOptions.MaxWorkers"/> when another project's first worker was to start: the
    /// least recently used idle worker was retired; its project's next request starts it again.
    /// </summary>
    public const string WorkerLimit = "worker_limit";
}
