using Microsoft.Extensions.DependencyInjection;
using Polly;

namespace Trac.Hosting.Workers;

/// <summary>
/// Options of the worker recycling stage: when a worker (an instance of the host's application with its own
/// services and plugins) is replaced, and how requests are protected while it is. Bound from the
/// <c>Trac:Workers</c> configuration section. Every trigger is off unless set.
/// </summary>
public sealed class WorkerOptions
{
    private List<string> _preload = [];

    /// <summary>
    /// Gets or sets after how many requests a worker is replaced (mod_wsgi <c>maximum-requests</c>, gunicorn
    /// <c>max_requests</c>, IIS <c>periodicRestart requests</c>).
    /// </summary>
    /// <value>0: never.</value>
    public int MaxRequests { get; set; }

    /// <summary>
    /// Gets or sets the most extra requests drawn at random for each worker generation (gunicorn
    /// <c>max_requests_jitter</c>), so that workers of many environments never recycle together.
    /// <see cref="MaxRequests"/> is the floor.
    /// </summary>
    /// <value>0.</value>
    public int MaxRequestsJitter { get; set; }

    /// <summary>Gets or sets how long a worker lives (mod_wsgi <c>restart-interval</c>, IIS <c>periodicRestart time</c>).</summary>
    /// <value><see cref="TimeSpan.Zero"/>: forever.</value>
    public TimeSpan MaxLifetime { get; set; }

    /// <summary>Gets or sets the most extra lifetime drawn at random for each worker generation.</summary>
    /// <value><see cref="TimeSpan.Zero"/>.</value>
    public TimeSpan MaxLifetimeJitter { get; set; }

    /// <summary>
    /// Gets or sets after how long without requests a worker is retired (mod_wsgi <c>inactivity-timeout</c>, IIS
    /// <c>idleTimeout</c>); the next request starts a fresh one. Retiring idle workers releases their connections.
    /// </summary>
    /// <value><see cref="TimeSpan.Zero"/>: never.</value>
    public TimeSpan IdleTimeout { get; set; }

    /// <summary>Gets or sets how long building and warming a worker may take, retries included.</summary>
    /// <value>30 seconds.</value>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how long a retired worker's in-flight requests may run before they are aborted (mod_wsgi
    /// <c>graceful-timeout</c>, IIS <c>shutdownTimeLimit</c>).
    /// </summary>
    /// <value>30 seconds.</value>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how many workers may be replaced at the same time, pool-wide; the others wait their turn.</summary>
    /// <value>2.</value>
    public int MaxConcurrentRecycles { get; set; } = 2;

    /// <summary>Gets or sets how many requests one worker runs at a time (mod_wsgi <c>threads</c>).</summary>
    /// <value>0: unlimited.</value>
    public int MaxConcurrentRequests { get; set; }

    /// <summary>
    /// Gets or sets how many requests may wait for a worker that is at <see cref="MaxConcurrentRequests"/>; beyond it
    /// they get <c>503</c> with <c>Retry-After</c>.
    /// </summary>
    /// <value>0.</value>
    public int QueueLimit { get; set; }

    /// <summary>
    /// Gets or sets how many workers may serve at once, pool-wide: before a project's first worker starts beyond it, the
    /// least recently used idle worker of another project is retired (reason <c>worker_limit</c>), and a request for
    /// that project starts it again. For worker processes (a Trac process holds about 58 MB), the bound on their memory
    /// on a host with many projects; the shared <see cref="Scope"/> is the other choice at that scale.
    /// </summary>
    /// <value>0: unlimited.</value>
    public int MaxWorkers { get; set; }

    /// <summary>
    /// Gets the projects whose workers are started when the application has started, before any request asks for them
    /// (IIS <c>preloadEnabled</c> with <c>startMode="AlwaysRunning"</c>, mod_wsgi <c>WSGIImportScript</c>): their
    /// names, or <c>*</c> for every project listed at that moment (the single environment included). The starts run in
    /// the background, <see cref="MaxConcurrentPreloads"/> at a time, the health check reporting <c>Degraded</c> until
    /// they are done; a request that arrives first shares the start of its project. A name no project has is logged and
    /// skipped; with <see cref="MaxWorkers"/>, at most that many are started.
    /// </summary>
    /// <value>Empty: each project's worker starts with its first request.</value>
    public IList<string> Preload => _preload;

    /// <summary>Gets or sets how many <see cref="Preload"/> starts run at the same time.</summary>
    /// <value>2.</value>
    public int MaxConcurrentPreloads { get; set; } = 2;

    /// <summary>Gets or sets which requests share a worker.</summary>
    /// <value><see cref="WorkerScope.PerEnvironment"/>.</value>
    public WorkerScope Scope { get; set; } = WorkerScope.PerEnvironment;

    /// <summary>Gets or sets what a recycle replaces: a worker inside the process, or the process.</summary>
    /// <value><see cref="WorkerMode.InProcess"/>.</value>
    public WorkerMode Mode { get; set; } = WorkerMode.InProcess;

    /// <summary>
    /// Gets or sets the process working set, in bytes, past which the oldest worker is recycled (uWSGI
    /// <c>reload-on-rss</c>, IIS <c>privateMemory</c>); in process mode, past which the process is replaced.
    /// </summary>
    /// <value>0: no limit.</value>
    public long MemoryLimit { get; set; }

    /// <summary>Gets or sets how often the memory limit is checked.</summary>
    /// <value>10 seconds.</value>
    public TimeSpan MemoryCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets a value indicating whether a worker is replaced when its environment's plugins change.</summary>
    /// <value><see langword="true"/>.</value>
    public bool RecycleOnPluginChange { get; set; } = true;

    /// <summary>Gets or sets a value indicating whether a worker is replaced when its environment's <c>conf/trac.ini</c> changes.</summary>
    /// <value><see langword="true"/>.</value>
    public bool RecycleOnConfigChange { get; set; } = true;

    /// <summary>
    /// Gets or sets, in <see cref="WorkerMode.Process"/>, how long the health check reports unhealthy before the
    /// application stops, so that a load balancer moves traffic away first.
    /// </summary>
    /// <value>10 seconds.</value>
    public TimeSpan ProcessStopDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Gets or sets the worker-level service registrations (a connection pool, caches): they live and die with the
    /// worker. Host singletons (logging, configuration, <see cref="TimeProvider"/>, the host environment) are
    /// reachable from the worker's services too. Code only.
    /// </summary>
    public Action<IServiceCollection, TracWorkerContext>? ConfigureServices { get; set; }

    /// <summary>
    /// Gets or sets a delegate that builds the resilience pipeline a worker starts in, once per key (so a circuit
    /// breaker trips for one environment only), replacing the default. The builder already uses the host's
    /// <see cref="TimeProvider"/>. Code only. Each attempt of a recycle waits inside the pipeline for its place among
    /// the <see cref="MaxConcurrentRecycles"/>, so a timeout of yours counts that wait as well.
    /// </summary>
    /// <value>Unset: two retries (exponential back-off with jitter from 200 ms) of attempts that each get
    /// <see cref="StartTimeout"/>, and a circuit breaker that opens for 30 seconds after 3 failed attempts in a row.</value>
    public Action<ResiliencePipelineBuilder, string>? ConfigureStartPipeline { get; set; }

    internal WorkerOptions Clone()
    {
        var clone = (WorkerOptions)MemberwiseClone();
        clone._preload = [.. _preload];
        return clone;
    }

    /// <summary>Returns whether every option still has its default value (nothing was configured).</summary>
    internal bool IsDefault()
    {
        var d = new WorkerOptions();
        return MaxRequests == d.MaxRequests && MaxRequestsJitter == d.MaxRequestsJitter && MaxLifetime == d.MaxLifetime &&
            MaxLifetimeJitter == d.MaxLifetimeJitter && IdleTimeout == d.IdleTimeout && StartTimeout == d.StartTimeout &&
            DrainTimeout == d.DrainTimeout && MaxConcurrentRecycles == d.MaxConcurrentRecycles &&
            MaxConcurrentRequests == d.MaxConcurrentRequests && MaxWorkers == d.MaxWorkers && Preload.Count == 0 && MaxConcurrentPreloads == d.MaxConcurrentPreloads && QueueLimit == d.QueueLimit && Scope == d.Scope && Mode == d.Mode &&
            MemoryLimit == d.MemoryLimit && MemoryCheckInterval == d.MemoryCheckInterval && RecycleOnPluginChange == d.RecycleOnPluginChange &&
            RecycleOnConfigChange == d.RecycleOnConfigChange && ProcessStopDelay == d.ProcessStopDelay && ConfigureServices is null &&
            ConfigureStartPipeline is null;
    }

    /// <summary>Returns the problems of the options, each naming the key to fix.</summary>
    internal List<string> Validate()
    {
        var errors = new List<string>();
        void Positive(string key, TimeSpan value, bool zeroAllowed)
        {
            if (value < TimeSpan.Zero || (!zeroAllowed && value == TimeSpan.Zero))
            {
                errors.Add($"Trac:Workers:{key} '{value}' must be {(zeroAllowed ? "zero (off) or positive" : "positive")}.");
            }
        }

        void NotNegative(string key, long value)
        {
            if (value < 0)
            {
                errors.Add($"Trac:Workers:{key} {value} must not be negative (0 turns it off).");
            }
        }

        NotNegative(nameof(MaxRequests), MaxRequests);
        NotNegative(nameof(MaxRequestsJitter), MaxRequestsJitter);
        NotNegative(nameof(MaxConcurrentRequests), MaxConcurrentRequests);
        NotNegative(nameof(QueueLimit), QueueLimit);
        NotNegative(nameof(MaxWorkers), MaxWorkers);
        NotNegative(nameof(MemoryLimit), MemoryLimit);
        Positive(nameof(MaxLifetime), MaxLifetime, zeroAllowed: true);
        Positive(nameof(MaxLifetimeJitter), MaxLifetimeJitter, zeroAllowed: true);
        Positive(nameof(IdleTimeout), IdleTimeout, zeroAllowed: true);
        Positive(nameof(StartTimeout), StartTimeout, zeroAllowed: false);
        Positive(nameof(DrainTimeout), DrainTimeout, zeroAllowed: false);
        Positive(nameof(MemoryCheckInterval), MemoryCheckInterval, zeroAllowed: false);
        Positive(nameof(ProcessStopDelay), ProcessStopDelay, zeroAllowed: true);
        if (MaxConcurrentRecycles < 1)
        {
            errors.Add($"Trac:Workers:MaxConcurrentRecycles {MaxConcurrentRecycles} must be at least 1.");
        }

        if (MaxConcurrentPreloads < 1)
        {
            errors.Add($"Trac:Workers:MaxConcurrentPreloads {MaxConcurrentPreloads} must be at least 1.");
        }

        for (var i = 0; i < Preload.Count; i++)
        {
            var name = Preload[i];
            if (string.IsNullOrWhiteSpace(name))
            {
                errors.Add($"Trac:Workers:Preload:{i} is empty: give a project's name, or * for every project.");
            }
            else if (name.IndexOfAny(['/', '\\']) >= 0 || name != name.Trim())
            {
                errors.Add($"Trac:Workers:Preload:{i} '{name}' is not a project name: give the name (the directory's name, 'demo' for /srv/trac/demo), or * for every project.");
            }
        }

        if (!Enum.IsDefined(Scope))
        {
            errors.Add($"Trac:Workers:Scope '{Scope}' is not one of PerEnvironment, Shared.");
        }

        if (!Enum.IsDefined(Mode))
        {
            errors.Add($"Trac:Workers:Mode '{Mode}' is not one of InProcess, Process.");
        }

        return errors;
    }
}
