using Microsoft.Extensions.Primitives;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// The plugins of one environment at one moment: an immutable snapshot. When an archive is added, replaced or
/// removed, a new snapshot replaces this one and <see cref="ChangeToken"/> fires.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A CancellationTokenSource without a timer holds nothing to dispose.")]
public sealed class TracPluginSet : ITracPluginCacheFeature
{
    private readonly CancellationTokenSource _changed = new();
    private int _leases;

    internal TracPluginSet(string cacheDirectory, IReadOnlyList<TracPlugin> plugins, IReadOnlyList<TracPluginError> errors)
    {
        CacheDirectory = cacheDirectory;
        Plugins = plugins;
        Errors = errors;
        ChangeToken = new CancellationChangeToken(_changed.Token);
    }

    /// <summary>Gets the cache directory the plugins were extracted to.</summary>
    public string CacheDirectory { get; }

    /// <summary>Gets the extracted plugins, sorted by name.</summary>
    public IReadOnlyList<TracPlugin> Plugins { get; }

    /// <summary>Gets the archives that could not be extracted (unsafe, corrupt or unreadable).</summary>
    public IReadOnlyList<TracPluginError> Errors { get; }

    /// <summary>Gets a token that fires when this snapshot is replaced because the environment's plugins changed.</summary>
    public IChangeToken ChangeToken { get; }

    // The snapshot is its own request feature: nothing is allocated per request.
    TracPluginSet ITracPluginCacheFeature.PluginSet => this;

    /// <summary>Gets whether a request in flight still uses this snapshot.</summary>
    internal bool InUse => Volatile.Read(ref _leases) > 0;

    /// <summary>
    /// Takes a lease on this snapshot: while any lease is held, a clean-up (<c>Trac:PluginCache:CleanupStale</c>)
    /// never deletes its folders, even after a change replaced it. Dispose the result to release it. Requests hold one
    /// for their duration; hold one yourself for longer uses, such as assemblies loaded from the folders.
    /// </summary>
    /// <returns>The lease; dispose it to release.</returns>
    public IDisposable AcquireLease()
    {
        Acquire();
        return new Lease(this);
    }

    internal void Acquire() => Interlocked.Increment(ref _leases);

    internal void Release() => Interlocked.Decrement(ref _leases);

    internal void SignalReplaced() => _changed.Cancel();

    private sealed class Lease(TracPluginSet set) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                set.Release();
            }
        }
    }
}
