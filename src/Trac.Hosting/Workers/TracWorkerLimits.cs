namespace Trac.Hosting.Workers;

/// <summary>
/// The limits a worker pool runs with, after every adjustment of <c>RecycleWorkers(o =&gt; ...)</c>: a read-only
/// snapshot from <see cref="IWorkerPool.Limits"/> (changing the options afterwards changes nothing).
/// </summary>
/// <param name="MaxRequests">After how many requests a worker is replaced (0: never).</param>
/// <param name="MaxRequestsJitter">The most extra requests drawn for each worker.</param>
/// <param name="MaxLifetime">How long a worker lives (zero: forever).</param>
/// <param name="MaxLifetimeJitter">The most extra lifetime drawn for each worker.</param>
/// <param name="IdleTimeout">After how long without requests a worker is retired (zero: never).</param>
/// <param name="StartTimeout">How long building and warming a worker may take.</param>
/// <param name="DrainTimeout">How long a retired worker's requests may run before they are aborted.</param>
/// <param name="Scope">Which requests share a worker.</param>
/// <param name="Mode">What a recycle replaces.</param>
public sealed record TracWorkerLimits(
    int MaxRequests, int MaxRequestsJitter, TimeSpan MaxLifetime, TimeSpan MaxLifetimeJitter, TimeSpan IdleTimeout,
    TimeSpan StartTimeout, TimeSpan DrainTimeout, WorkerScope Scope, WorkerMode Mode);
