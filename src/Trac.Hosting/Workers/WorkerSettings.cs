using Microsoft.Extensions.DependencyInjection;
using Polly;

namespace Trac.Hosting.Workers;

/// <summary>
/// The worker stage's options, checked and fixed once when the pipeline is built: the pool reads these, never the
/// mutable <see cref="WorkerOptions"/> it was made from.
/// </summary>
internal sealed class WorkerSettings
{
    private WorkerSettings(WorkerOptions options, WorkerJitter jitter)
    {
        MaxRequests = options.MaxRequests;
        MaxRequestsJitter = options.MaxRequestsJitter;
        MaxLifetime = options.MaxLifetime;
        MaxLifetimeJitter = options.MaxLifetimeJitter;
        IdleTimeout = options.IdleTimeout;
        StartTimeout = options.StartTimeout;
        DrainTimeout = options.DrainTimeout;
        MaxConcurrentRecycles = options.MaxConcurrentRecycles;
        MaxConcurrentRequests = options.MaxConcurrentRequests;
        QueueLimit = options.QueueLimit;
        MaxWorkers = options.MaxWorkers;
        Preload = [.. options.Preload];
        MaxConcurrentPreloads = options.MaxConcurrentPreloads;
        Scope = options.Scope;
        Mode = options.Mode;
        MemoryLimit = options.MemoryLimit;
        MemoryCheckInterval = options.MemoryCheckInterval;
        RecycleOnPluginChange = options.RecycleOnPluginChange;
        RecycleOnConfigChange = options.RecycleOnConfigChange;
        ProcessStopDelay = options.ProcessStopDelay;
        ConfigureServices = options.ConfigureServices;
        ConfigureStartPipeline = options.ConfigureStartPipeline;
        Jitter = jitter;
        Limits = new TracWorkerLimits(MaxRequests, MaxRequestsJitter, MaxLifetime, MaxLifetimeJitter, IdleTimeout, StartTimeout, DrainTimeout, Scope, Mode);
    }

    public int MaxRequests { get; }

    public int MaxRequestsJitter { get; }

    public TimeSpan MaxLifetime { get; }

    public TimeSpan MaxLifetimeJitter { get; }

    public TimeSpan IdleTimeout { get; }

    public TimeSpan StartTimeout { get; }

    public TimeSpan DrainTimeout { get; }

    public int MaxConcurrentRecycles { get; }

    public int MaxConcurrentRequests { get; }

    public int QueueLimit { get; }

    public int MaxWorkers { get; }

    /// <summary>Gets the projects to start at start-up (<c>*</c>: every listed one).</summary>
    public IReadOnlyList<string> Preload { get; }

    public int MaxConcurrentPreloads { get; }

    public WorkerScope Scope { get; }

    public WorkerMode Mode { get; }

    public long MemoryLimit { get; }

    public TimeSpan MemoryCheckInterval { get; }

    public bool RecycleOnPluginChange { get; }

    public bool RecycleOnConfigChange { get; }

    public TimeSpan ProcessStopDelay { get; }

    public Action<IServiceCollection, TracWorkerContext>? ConfigureServices { get; }

    public Action<ResiliencePipelineBuilder, string>? ConfigureStartPipeline { get; }

    /// <summary>Gets the randomness of the request-limit and lifetime jitter.</summary>
    public WorkerJitter Jitter { get; }

    /// <summary>Gets the public snapshot of the limits.</summary>
    public TracWorkerLimits Limits { get; }

    /// <summary>Returns a request limit with its jitter drawn: 0 (none) when <see cref="MaxRequests"/> is 0.</summary>
    public long DrawRequestLimit() => MaxRequests > 0 ? MaxRequests + Jitter.Next(MaxRequestsJitter) : 0;

    /// <summary>Returns a lifetime with its jitter drawn; only meaningful when <see cref="MaxLifetime"/> is set.</summary>
    public TimeSpan DrawLifetime() => MaxLifetime + Jitter.Next(MaxLifetimeJitter);

    /// <summary>Checks <paramref name="options"/> and fixes them.</summary>
    /// <exception cref="InvalidOperationException">An option is out of range; the message names every key to fix.</exception>
    public static WorkerSettings Create(WorkerOptions options, WorkerJitter? jitter = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", errors));
        }

        return new WorkerSettings(options, jitter ?? WorkerJitter.Random);
    }
}
