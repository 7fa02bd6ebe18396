using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Environments;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// The current plugin set of every (environment, cache directory) pair a pipeline has served: built on first use,
/// rebuilt when an archive in <c>&lt;env&gt;/plugins</c> is added, replaced or removed. Readers never lock.
/// </summary>
internal sealed class PluginSetProvider : IDisposable
{
    private readonly ConcurrentDictionary<(string Environment, string Cache), EnvironmentPlugins> _states = new();
    private readonly ConcurrentDictionary<string, Lazy<string?>> _prepared = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _defaults = new(StringComparer.Ordinal);
    private readonly PluginCacheSettings _settings;
    private readonly EnvironmentCatalog _catalog;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    public PluginSetProvider(PluginCacheSettings settings, PluginExtractor extractor, EnvironmentCatalog catalog, TimeProvider timeProvider, ILogger logger)
    {
        _settings = settings;
        Extractor = extractor;
        _catalog = catalog;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public PluginExtractor Extractor { get; }

    public PluginCacheSettings Settings => _settings;

    /// <summary>
    /// Prepares a cache directory once (creation, permissions, probe) and returns <see langword="null"/>, or the
    /// error that makes it unusable.
    /// </summary>
    public string? Prepare(string cacheDirectory) =>
        _prepared.TryGetValue(cacheDirectory, out var prepared) ? prepared.Value : PrepareFirst(cacheDirectory);

    /// <summary>Returns an environment's default cache directory, remembered so requests allocate nothing.</summary>
    public string DefaultFor(string environmentPath) =>
        _defaults.TryGetValue(environmentPath, out var directory) ? directory : _defaults.GetOrAdd(environmentPath, _settings.DefaultFor);

    private string? PrepareFirst(string cacheDirectory) =>
        _prepared.GetOrAdd(cacheDirectory, directory => new Lazy<string?>(() =>
        {
            try
            {
                PluginCacheDirectory.Prepare(directory, _settings.AllowInsecureDirectory, _logger);
                return null;
            }
            catch (InvalidOperationException e)
            {
                Log.PluginCacheUnavailable(_logger, e.Message);
                return e.Message;
            }
        })).Value;

    /// <summary>Returns the environment's current plugin set, building it on first use.</summary>
    public ValueTask<TracPluginSet> GetAsync(string environmentPath, string cacheDirectory, CancellationToken cancellationToken)
    {
        if (!_states.TryGetValue((environmentPath, cacheDirectory), out var state))
        {
            state = _states.GetOrAdd((environmentPath, cacheDirectory), key => new EnvironmentPlugins(this, key.Environment, key.Cache));
        }

        return state.Current is { } current ? new ValueTask<TracPluginSet>(current) : new ValueTask<TracPluginSet>(state.InitializeAsync(cancellationToken));
    }

    /// <summary>Returns the slot of an environment's plugins, for tests that wait for changes.</summary>
    internal bool TryGetState(string environmentPath, string cacheDirectory, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EnvironmentPlugins? state) =>
        _states.TryGetValue((environmentPath, cacheDirectory), out state);

    public void Dispose()
    {
        foreach (var state in _states.Values)
        {
            state.Dispose();
        }
    }

    private IChangeToken Watch(string environmentPath)
    {
        // Environments of the parent directory share the catalog's watcher on the parent: no watcher per project.
        var name = Path.GetFileName(environmentPath);
        return _settings.ParentDirectory is { } parent &&
            string.Equals(Path.GetDirectoryName(environmentPath), parent, StringComparison.Ordinal) && !name.Contains('*', StringComparison.Ordinal)
            ? _catalog.Watchers.Watch(parent, name + "/plugins/*.zip")
            : _catalog.Watchers.Watch(environmentPath, "plugins/*.zip");
    }

    private async Task<TracPluginSet> BuildAsync(string environmentPath, string cacheDirectory, CancellationToken cancellationToken)
    {
        var plugins = new List<TracPlugin>();
        var errors = new List<TracPluginError>();
        var directory = Path.Combine(environmentPath, "plugins");
        var archives = Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, "*.zip", new EnumerationOptions { MatchCasing = MatchCasing.CaseInsensitive }).Order(StringComparer.Ordinal).ToList()
            : [];
        foreach (var archive in archives)
        {
            try
            {
                plugins.Add((await Extractor.EnsureAsync(archive, cacheDirectory, cancellationToken)).Plugin);
            }
            catch (Exception e) when (e is UnsafePluginArchiveException or InvalidDataException or IOException or UnauthorizedAccessException)
            {
                var message = e is UnsafePluginArchiveException ? e.Message : $"The plugin archive '{archive}' cannot be extracted: {e.Message}";
                Log.PluginArchiveRefused(_logger, archive, message);
                errors.Add(new TracPluginError(archive, message));
            }
        }

        return new TracPluginSet(cacheDirectory, plugins.OrderBy(p => p.Name, StringComparer.Ordinal).ToArray(), errors);
    }

    private void RemoveStale(string cacheDirectory)
    {
        // Referenced: every folder of a current set, of a retired set still used by a request, and of the archives of
        // listed environments sharing this cache that this process has not opened yet.
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var state in _states.Values.Where(s => s.CacheDirectory == cacheDirectory))
        {
            foreach (var set in state.LiveSets())
            {
                referenced.UnionWith(set.Plugins.Select(p => Path.GetFileName(p.Directory)));
            }
        }

        foreach (var slot in _catalog.Environments.Where(e => _settings.DefaultFor(e.Path) == cacheDirectory && !_states.ContainsKey((e.Path, cacheDirectory))))
        {
            var plugins = Path.Combine(slot.Path, "plugins");
            if (Directory.Exists(plugins))
            {
                foreach (var archive in Directory.EnumerateFiles(plugins, "*.zip"))
                {
                    referenced.Add(PluginExtractor.FolderName(Path.GetFileNameWithoutExtension(archive), Extractor.HashOf(archive)));
                }
            }
        }

        foreach (var folder in Directory.EnumerateDirectories(cacheDirectory))
        {
            var name = Path.GetFileName(folder);
            var stale = name.StartsWith(PluginExtractor.TemporaryPrefix, StringComparison.Ordinal)
                ? _timeProvider.GetUtcNow() - Directory.GetLastWriteTimeUtc(folder) > TimeSpan.FromHours(1)
                : PluginExtractor.IsComplete(folder) && !referenced.Contains(name);
            if (!stale)
            {
                continue;
            }

            using var folderLock = PluginExtractor.TryLock(folder);
            if (folderLock is null)
            {
                continue;
            }

            try
            {
                Directory.Delete(folder, recursive: true);
                File.Delete(folder + ".lock");
                Log.StalePluginRemoved(_logger, folder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.PluginSetRefreshFailed(_logger, folder, e.Message);
            }
        }
    }

    /// <summary>The plugins of one environment in one cache directory.</summary>
    internal sealed class EnvironmentPlugins : IDisposable
    {
        private readonly PluginSetProvider _owner;
        private readonly string _environmentPath;
        private readonly SemaphoreSlim _gate = new(1, 1);
        private readonly Debouncer _refresh;
        private readonly List<TracPluginSet> _retired = [];
        private volatile TracPluginSet? _current;
        private IDisposable? _watch;
        private CancellationTokenSource _changed = new();
        private bool _disposed;

        public EnvironmentPlugins(PluginSetProvider owner, string environmentPath, string cacheDirectory)
        {
            _owner = owner;
            _environmentPath = environmentPath;
            CacheDirectory = cacheDirectory;
            _refresh = new Debouncer(owner._timeProvider, owner._settings.Environment.ReloadDelay, () => _ = RefreshAsync());
        }

        public string CacheDirectory { get; }

        public TracPluginSet? Current => _current;

        /// <summary>Returns a token that fires once a refresh has finished (whether or not the set changed).</summary>
        public IChangeToken GetRefreshedToken()
        {
            lock (_retired)
            {
                return new CancellationChangeToken(_changed.Token);
            }
        }

        public async Task<TracPluginSet> InitializeAsync(CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                if (_current is { } current)
                {
                    return current;
                }

                // Watch before reading, so an archive dropped in while extracting is not missed.
                _watch ??= ChangeToken.OnChange(() => _owner.Watch(_environmentPath), _refresh.Trigger);
                var set = await _owner.BuildAsync(_environmentPath, CacheDirectory, cancellationToken);
                _current = set;
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

        public void Dispose()
        {
            _disposed = true;
            _watch?.Dispose();
            _refresh.Dispose();
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

                TracPluginSet next;
                try
                {
                    next = await _owner.BuildAsync(_environmentPath, CacheDirectory, CancellationToken.None);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Log.PluginSetRefreshFailed(_owner._logger, _environmentPath, e.Message);
                    return;
                }

                if (!SameContent(previous, next))
                {
                    _current = next;
                    lock (_retired)
                    {
                        _retired.Add(previous);
                    }

                    Log.PluginSetChanged(_owner._logger, _environmentPath, next.Plugins.Count);
                    previous.SignalReplaced();
                    if (_owner._settings.CleanupStale)
                    {
                        _owner.RemoveStale(CacheDirectory);
                    }
                }
            }
            finally
            {
                _gate.Release();
                CancellationTokenSource changed;
                lock (_retired)
                {
                    changed = _changed;
                    _changed = new CancellationTokenSource();
                }

                changed.Cancel();
            }
        }

        private static bool SameContent(TracPluginSet a, TracPluginSet b) =>
            a.Plugins.Select(p => (p.SourceArchive, p.ContentHash)).SequenceEqual(b.Plugins.Select(p => (p.SourceArchive, p.ContentHash))) &&
            a.Errors.Select(e => e.Message).SequenceEqual(b.Errors.Select(e => e.Message));
    }
}
