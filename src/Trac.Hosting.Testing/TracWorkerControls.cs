using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Testing;

/// <summary>
/// The worker pool of a <see cref="TracTestHost"/> or a <see cref="TracWebApplicationFactory{TEntryPoint}"/>,
/// addressed by environment name: wait for a recycle, force one, read the pool's state, and move the host's manual
/// clock past the pool's time limits.
/// </summary>
public sealed class TracWorkerControls
{
    private readonly ITracTestTarget _host;

    internal TracWorkerControls(ITracTestTarget host) => _host = host;

    /// <summary>Gets a snapshot of every worker, serving or draining.</summary>
    public IReadOnlyList<TracWorkerInfo> State => Pool.Workers;

    /// <summary>
    /// Gets the limits the host's worker pool runs with (after <c>RecycleWorkers</c>' adjustments): a read-only
    /// snapshot, as <see cref="IWorkerPool.Limits"/> gives it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The host's pipeline has no <c>RecycleWorkers()</c> stage.</exception>
    public TracWorkerLimits Limits => Pool.Limits;

    private IWorkerPool Pool => _host.Services.GetRequiredService<IWorkerPool>();

    /// <summary>
    /// Returns the pool key of an environment (its full path, as the host's catalog knows it), or <c>shared</c> for a
    /// shared worker; any other key (a full path) is returned as it is. The pool's <see cref="IWorkerPool.GetKey"/>
    /// answers for a project it knows; for one it does not know yet, the key is its path under the parent directory.
    /// </summary>
    /// <param name="environment">The environment's name, <c>shared</c>, or a key.</param>
    /// <returns>The key.</returns>
    public string KeyOf(string environment) => TracTestTargets.KeyOf(_host, environment);

    /// <summary>Returns the serving worker of an environment, or <see langword="null"/> if it has none (yet).</summary>
    /// <param name="environment">The environment's name, <c>shared</c>, or a key.</param>
    /// <returns>The worker's snapshot.</returns>
    public TracWorkerInfo? Serving(string environment)
    {
        var key = KeyOf(environment);
        return State.FirstOrDefault(w => w.Key == key && w.State == TracWorkerState.Serving);
    }

    /// <summary>
    /// Returns a task that completes the next time the worker of <paramref name="environment"/> is replaced or
    /// retired. Take it before causing the recycle.
    /// </summary>
    /// <param name="environment">The environment's name.</param>
    /// <param name="timeout">How long to wait; 30 seconds by default.</param>
    /// <returns>The task; it fails with <see cref="TimeoutException"/> if nothing happens in time.</returns>
    /// <exception cref="ArgumentException">No project of that name is known to the host yet (request it, or let the
    /// listing see it, first).</exception>
    public Task WaitForRecycleAsync(string environment, TimeSpan? timeout = null)
    {
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registration = Pool.GetChangeToken(KeyOf(environment)).RegisterChangeCallback(static s => ((TaskCompletionSource)s!).TrySetResult(), changed);
        return changed.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30)).ContinueWith(
            t =>
            {
                registration.Dispose();
                t.GetAwaiter().GetResult();
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Replaces the worker of an environment now; completes at the switch.</summary>
    /// <param name="environment">The environment's name.</param>
    /// <param name="reason">Why, for logs and metrics.</param>
    /// <returns>A task that completes once new requests go to the replacement.</returns>
    public Task RecycleAsync(string environment, string reason = WorkerRecycleReasons.Manual) => Pool.RecycleAsync(KeyOf(environment), reason);

    /// <summary>
    /// Moves the host's clock just past <paramref name="duration"/> (a <c>DrainTimeout</c>, a start timeout, a
    /// quiet period), running every timer that falls due.
    /// </summary>
    /// <param name="duration">The duration to pass.</param>
    public void AdvancePast(TimeSpan duration) => _host.Time.Advance(duration + TimeSpan.FromTicks(1));

    /// <summary>
    /// Moves the host's clock just past the pool's <see cref="TracWorkerLimits.IdleTimeout"/>: a worker that has been
    /// quiet since the last request is retired.
    /// </summary>
    /// <exception cref="InvalidOperationException">The pool has no idle timeout.</exception>
    public void AdvancePastIdleTimeout()
    {
        var idle = Limits.IdleTimeout;
        if (idle <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("The worker pool has no IdleTimeout: set it in RecycleWorkers(o => o.IdleTimeout = ...).");
        }

        AdvancePast(idle);
    }

    /// <summary>
    /// Moves the host's clock just past the longest lifetime a worker can draw: <see cref="TracWorkerLimits.MaxLifetime"/>
    /// plus the whole <see cref="TracWorkerLimits.MaxLifetimeJitter"/>, so every worker started before the call is
    /// recycled whatever its draw of jitter.
    /// </summary>
    /// <exception cref="InvalidOperationException">The pool has no lifetime limit.</exception>
    public void AdvancePastMaxLifetime()
    {
        var options = Limits;
        if (options.MaxLifetime <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("The worker pool has no MaxLifetime: set it in RecycleWorkers(o => o.MaxLifetime = ...).");
        }

        AdvancePast(options.MaxLifetime + options.MaxLifetimeJitter);
    }
}
