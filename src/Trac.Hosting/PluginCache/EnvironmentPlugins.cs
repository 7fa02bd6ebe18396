using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Common;
using Trac.Hosting.Environments;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// The plugins of one environment in one cache directory: the current set, built on first use and rebuilt (debounced)
/// when the environment's archives change, and the sets it replaced while they are still leased.
/// </summary>
internal sealed class EnvironmentPlugins : IDisposable
{
    private readonly IPluginSetSource _source;
    private readonly string _environmentPath;
    private readonly TimeSpan _rescanInterval;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Debouncer _refresh;
    private readonly ITimer _retry;
    private readonly List<TracPluginSet> _retired = [];
    private readonly ChangeSignal _refreshed = new();
    private volatile TracPluginSet? _current;
    private IDisposable? _watch;
    private bool _disposed;

    /// <param name="source">Watches the environment and builds its sets.</param>
    /// <param name="environmentPath">The environment.</param>
    /// <param name="cacheDirectory">The cache directory its plugins are extracted to.</param>
    /// <param name="timeProvider">Times the debounce and the retries.</param>
    /// <param name="reloadDelay">How long the archives must stay quiet before a change is read.</param>
    /// <param name="rescanInterval">When to try again after a failure worth retrying; zero for never.</param>
    /// <param name="logger">Logs the changes.</param>
    public EnvironmentPlugins(
        IPluginSetSource source, string environmentPath, string cacheDirectory, TimeProvider timeProvider, TimeSpan reloadDelay,
        TimeSpan rescanInterval, ILogger logger)
    {
        _source = source;
        _environmentPath = environmentPath;
        CacheDirectory = cacheDirectory;
        _rescanInterval = rescanInterval;
        _logger = logger;
        _refresh = new Debouncer(timeProvider, reloadDelay, () => _ = RefreshAsync());
        _retry = timeProvider.CreateTimer(_ => _refresh.Trigger(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public string CacheDirectory { get; }

    public TracPluginSet? Current => _current;

    /// <summary>Returns a token that fires once a refresh has finished (whether or not the set changed), for tests.</summary>
    internal IChangeToken GetRefreshedToken() => _refreshed.GetChangeToken();

    public async Task<TracPluginSet> InitializeAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_current is { } current)
            {
                return current;
            }

            // Watch before reading, so an archive dropped in while extracting is not missed; a forgotten slot
            // (a request resolved just before its project left) watches nothing.
            if (!_disposed)
            {
                _watch ??= ChangeToken.OnChange(() => _source.Watch(_environmentPath), _refresh.Trigger);
            }

            var (set, pins, transient) = await _source.BuildAsync(_environmentPath, CacheDirectory, cancellationToken);
            _current = set;
            _source.Unpin(pins);
            ScheduleRetry(transient);
            return set;
        }
        finally
        {
            _gate.Release();
        }
    }

    public IEnumerable<TracPluginSet> LiveSets()
    {
        lock (_retired)
        {
            _retired.RemoveAll(set => !set.InUse);
            return _current is { } current ? [current, .. _retired] : [.. _retired];
        }
    }

    /// <summary>Returns whether a set of this slot is leased: the current one or one it replaced.</summary>
    public bool InUse()
    {
        lock (_retired)
        {
            return _current?.InUse == true || _retired.Exists(set => set.InUse);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _watch?.Dispose();
        _refresh.Dispose();
        _retry.Dispose();
    }

    private void ScheduleRetry(bool transient)
    {
        if (transient && _rescanInterval > TimeSpan.Zero && !_disposed)
        {
            _retry.Change(_rescanInterval, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task RefreshAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_disposed || _current is not { } previous)
            {
                return;
            }

            var (next, pins, transient) = await _source.BuildAsync(_environmentPath, CacheDirectory, CancellationToken.None);
            try
            {
                lock (_retired)
                {
                    _retired.RemoveAll(set => !set.InUse);
                    if (SameContent(previous, next))
                    {
                        next = previous;
                    }
                    else
                    {
                        _current = next;
                        _retired.Add(previous);
                    }
                }

                if (!ReferenceEquals(next, previous))
                {
                    PluginCacheLog.PluginSetChanged(_logger, _environmentPath, next.Plugins.Count);
                    previous.SignalReplaced();
                    _source.Replaced(CacheDirectory);
                }
            }
            finally
            {
                _source.Unpin(pins);
            }

            ScheduleRetry(transient);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            PluginCacheLog.PluginSetRefreshFailed(_logger, _environmentPath, e.Message);
        }
        finally
        {
            _gate.Release();
            _refreshed.Signal();
        }
    }

    private static bool SameContent(TracPluginSet a, TracPluginSet b) =>
        a.Plugins.Select(p => (p.SourceArchive, p.ContentHash)).SequenceEqual(b.Plugins.Select(p => (p.SourceArchive, p.ContentHash))) &&
        a.Errors.Select(e => e.Message).SequenceEqual(b.Errors.Select(e => e.Message));
}
