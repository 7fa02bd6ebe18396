using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Testing;

/// <summary>The worker pool of a <see cref="TracTestHost"/>, addressed by environment name.</summary>
public sealed class TracWorkerControls
{
    private readonly TracTestHost _host;

    internal TracWorkerControls(TracTestHost host) => _host = host;

    /// <summary>Gets a snapshot of every worker, serving or draining.</summary>
    public IReadOnlyList<TracWorkerInfo> State => Pool.Workers;

    private IWorkerPool Pool => _host.Services.GetRequiredService<IWorkerPool>();

    /// <summary>
    /// Returns the pool key of an environment of the test directory (its full path), or <c>shared</c> for a shared
    /// worker; any other key (a full path) is returned as it is.
    /// </summary>
    /// <param name="environment">The environment's name, <c>shared</c>, or a key.</param>
    /// <returns>The key.</returns>
    public string KeyOf(string environment)
    {
        ArgumentException.ThrowIfNullOrEmpty(environment);
        return environment == "shared" || Path.IsPathRooted(environment) ? environment : Path.Combine(_host.Projects.Path, environment);
    }

    /// <summary>
    /// Returns a task that completes the next time the worker of <paramref name="environment"/> is replaced or
    /// retired. Take it before causing the recycle.
    /// </summary>
    /// <param name="environment">The environment's name.</param>
    /// <param name="timeout">How long to wait; 30 seconds by default.</param>
    /// <returns>The task; it fails with <see cref="TimeoutException"/> if nothing happens in time.</returns>
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
    /// Moves the host's clock just past <paramref name="duration"/> (an <c>IdleTimeout</c>, a <c>MaxLifetime</c>, a
    /// <c>DrainTimeout</c>), running every timer that falls due.
    /// </summary>
    /// <param name="duration">The duration to pass.</param>
    public void AdvancePast(TimeSpan duration) => _host.Time.Advance(duration + TimeSpan.FromTicks(1));
}
