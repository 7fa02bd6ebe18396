using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
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
    private static readonly EnumerationOptions s_archives = new() { MatchCasing = MatchCasing.CaseInsensitive };

    private readonly ConcurrentDictionary<(string Environment, string Cache), EnvironmentPlugins> _states = new();
    private readonly ConcurrentDictionary<string, bool> _prepared = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _defaults = new(StringComparer.Ordinal);
    // Per environment snapshot, its plugins in its default cache directory: requests of a known environment hash no path.
    private readonly ConditionalWeakTable<TracEnvironment, KnownDefault> _knownDefaults = new();
    // Folders a build in progress is about to use: the clean-up never touches them. Guarded by itself.
    private readonly Dictionary<string, int> _pinned = new(StringComparer.Ordinal);
    // Slots of projects that left the listing while a set of theirs was leased: their folders stay referenced until
    // released. Guarded by itself.
    private readonly List<EnvironmentPlugins> _forgottenInUse = [];
    private readonly PluginCacheSettings _settings;
    private readonly EnvironmentCatalog _catalog;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    // Counts the prepared directories forgotten (a cache directory deleted while running), which must be prepared again.
    private int _forgotten;

    public PluginSetProvider(PluginCacheSettings settings, PluginExtractor extractor, EnvironmentCatalog catalog, TimeProvider timeProvider, ILogger logger)
    {
        _settings = settings;
        Extractor = extractor;
        _catalog = catalog;
        _timeProvider = timeProvider;
        _logger = logger;
        _catalog.EnvironmentUnlisted += Forget;
    }

    /// <summary>Gets how many (environment, cache directory) slots the provider holds, for tests.</summary>
    internal int StateCount => _states.Count;

    public PluginExtractor Extractor { get; }

    public PluginCacheSettings Settings => _settings;

    /// <summary>
    /// Prepares a cache directory (creation, ownership, permissions, probe) and returns <see langword="null"/>, or the
    /// error that makes it unusable. Success is remembered; a failure is retried next time, so a fix needs no restart.
    /// </summary>
    public string? Prepare(string cacheDirectory)
    {
        if (_prepared.ContainsKey(cacheDirectory))
        {
            return null;
        }

        try
        {
            PluginCacheDirectory.Prepare(cacheDirectory, _settings.AllowInsecureDirectory, _logger);
            _prepared[cacheDirectory] = true;
            return null;
        }
        catch (InvalidOperationException e)
        {
            PluginCacheLog.PluginCacheUnavailable(_logger, e.Message);
            return e.Message;
        }
    }

    /// <summary>Returns an environment's default cache directory, remembered so requests allocate nothing.</summary>
    public string DefaultFor(string environmentPath) =>
        _defaults.TryGetValue(environmentPath, out var directory) ? directory
        : _catalog.Knows(environmentPath) ? _defaults.GetOrAdd(environmentPath, _settings.DefaultFor)
        : _settings.DefaultFor(environmentPath);

    /// <summary>
    /// Returns the plugins of <paramref name="environment"/> in its default cache directory, or <see langword="null"/>
    /// and the error that makes the directory unusable. Remembered per environment snapshot while the directory stays
    /// prepared, so the requests of a known environment look nothing up by path.
    /// </summary>
    public EnvironmentPlugins? DefaultState(TracEnvironment environment, out string? error)
    {
        var forgotten = Volatile.Read(ref _forgotten);
        if (_knownDefaults.TryGetValue(environment, out var known) && known.Forgotten == forgotten)
        {
            error = null;
            return known.State;
        }

        var cacheDirectory = DefaultFor(environment.Path);
        error = Prepare(cacheDirectory);
        if (error is not null)
        {
            return null;
        }

        var state = State(environment.Path, cacheDirectory);
        _knownDefaults.AddOrUpdate(environment, new KnownDefault(state, forgotten));
        return state;
    }

    /// <summary>
    /// Returns the slot of an environment's plugins in a cache directory, made on first use. One made for a project
    /// the catalog dropped meanwhile (a request resolved just before) serves its caller and is not kept.
    /// </summary>
    public EnvironmentPlugins State(string environmentPath, string cacheDirectory)
    {
        if (_states.TryGetValue((environmentPath, cacheDirectory), out var state))
        {
            return state;
        }

        state = _states.GetOrAdd((environmentPath, cacheDirectory), key => new EnvironmentPlugins(this, key.Environment, key.Cache));
        if (!_catalog.Knows(environmentPath) && _states.TryRemove(new KeyValuePair<(string, string), EnvironmentPlugins>((environmentPath, cacheDirectory), state)))
        {
            KeepWhileLeased(state);
        }

        return state;
    }

    /// <summary>
    /// Returns the current set with a lease taken, so that it stays usable until released even if a change replaces
    /// it and a clean-up runs meanwhile.
    /// </summary>
    public ValueTask<TracPluginSet> AcquireAsync(string environmentPath, string cacheDirectory, CancellationToken cancellationToken) =>
        AcquireAsync(State(environmentPath, cacheDirectory), cancellationToken);

    /// <summary>Takes a lease on the slot's current set, if it has one already: what every request after the first does.</summary>
    public static bool TryAcquire(EnvironmentPlugins state, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TracPluginSet? set)
    {
        while (state.Current is { } current)
        {
            current.Acquire();
            if (ReferenceEquals(current, state.Current))
            {
                set = current;
                return true;
            }

            current.Release();
        }

        set = null;
        return false;
    }

    /// <inheritdoc cref="AcquireAsync(string, string, CancellationToken)"/>
    public static async ValueTask<TracPluginSet> AcquireAsync(EnvironmentPlugins state, CancellationToken cancellationToken)
    {
        while (true)
        {
            var set = state.Current ?? await state.InitializeAsync(cancellationToken);
            set.Acquire();
            if (ReferenceEquals(set, state.Current))
            {
                return set;
            }

            // Replaced between reading and leasing: its folders may be gone; take the new one.
            set.Release();
        }
    }

    /// <summary>Returns the slot of an environment's plugins, for tests that wait for changes.</summary>
    internal bool TryGetState(string environmentPath, string cacheDirectory, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EnvironmentPlugins? state) =>
        _states.TryGetValue((environmentPath, cacheDirectory), out state);

    public void Dispose()
    {
        _catalog.EnvironmentUnlisted -= Forget;
        foreach (var state in _states.Values)
        {
            state.Dispose();
        }
    }

    /// <summary>
    /// Forgets a project that left the listing: its slots stop watching and go, with its remembered default directory.
    /// A set still leased (a request or a worker running) keeps its folders referenced until released.
    /// </summary>
    private void Forget(string environmentPath)
    {
        if (_catalog.Knows(environmentPath))
        {
            // Listed again since the refresh that dropped it (two refreshes overlapped): its state is in use.
            return;
        }

        foreach (var key in _states.Keys)
        {
            if (string.Equals(key.Environment, environmentPath, StringComparison.Ordinal) && _states.TryRemove(key, out var state))
            {
                KeepWhileLeased(state);
            }
        }

        lock (_forgottenInUse)
        {
            _forgottenInUse.RemoveAll(state => !state.InUse());
        }

        if (_defaults.TryRemove(environmentPath, out var directory) &&
            directory.StartsWith(environmentPath + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            // The project's own cache directory (<env>/.egg-cache): prepared again if the project comes back.
            _prepared.TryRemove(directory, out _);
        }
    }

    /// <summary>Stops a slot taken out of the provider; its sets stay referenced by the clean-up while leased.</summary>
    private void KeepWhileLeased(EnvironmentPlugins state)
    {
        state.Dispose();
        lock (_forgottenInUse)
        {
            _forgottenInUse.Add(state);
        }
    }

    // Environments of the parent directory share the catalog's watcher on the parent: no watcher per project.
    private IChangeToken Watch(string environmentPath) =>
        _catalog.Watchers.WatchEnvironment(_catalog.Settings, environmentPath, "plugins/*.zip");

    private async Task<(TracPluginSet Set, List<string> Pins, bool Transient)> BuildAsync(
        string environmentPath, string cacheDirectory, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(cacheDirectory))
        {
            // Deleted while running (an administrator's clean-up): made again, with the same checks.
            if (_prepared.TryRemove(cacheDirectory, out _))
            {
                Interlocked.Increment(ref _forgotten);
            }

            if (Prepare(cacheDirectory) is { } error)
            {
                throw new IOException(error);
            }
        }

        var plugins = new List<TracPlugin>();
        var errors = new List<TracPluginError>();
        var pins = new List<string>();
        var transient = false;
        var directory = Path.Combine(environmentPath, "plugins");
        var archives = Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, "*.zip", s_archives).Order(StringComparer.Ordinal).ToList()
            : [];
        foreach (var archive in archives)
        {
            try
            {
                plugins.Add((await Extractor.EnsureAsync(archive, cacheDirectory, cancellationToken, folder =>
                {
                    Pin(folder);
                    pins.Add(folder);
                })).Plugin);
            }
            catch (Exception e) when (e is UnsafePluginArchiveException or InvalidDataException or IOException or UnauthorizedAccessException)
            {
                // Unsafe or corrupt archives stay refused until they change; anything else is tried again later.
                transient |= e is not (UnsafePluginArchiveException or InvalidDataException);
                var message = e is UnsafePluginArchiveException ? e.Message : $"The plugin archive '{archive}' cannot be extracted: {e.Message}";
                PluginCacheLog.PluginArchiveRefused(_logger, archive, message);
                errors.Add(new TracPluginError(archive, message));
            }
        }

        return (new TracPluginSet(cacheDirectory, plugins.OrderBy(p => p.Name, StringComparer.Ordinal).ToArray(), errors), pins, transient);
    }

    private void Pin(string folder)
    {
        lock (_pinned)
        {
            _pinned[folder] = _pinned.GetValueOrDefault(folder) + 1;
        }
    }

    private void Unpin(IEnumerable<string> folders)
    {
        lock (_pinned)
        {
            foreach (var folder in folders)
            {
                if (--_pinned[folder] == 0)
                {
                    _pinned.Remove(folder);
                }
            }
        }
    }

    private void RemoveStale(string cacheDirectory)
    {
        // Referenced: every folder of a current set, of a retired set still leased, and of the archives of listed
        // environments sharing this cache that this process has not opened yet. Folders pinned by a build in
        // progress are skipped below, under the same lock the build pins them with.
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        EnvironmentPlugins[] forgotten;
        lock (_forgottenInUse)
        {
            _forgottenInUse.RemoveAll(state => !state.InUse());
            forgotten = [.. _forgottenInUse];
        }

        foreach (var state in _states.Values.Concat(forgotten).Where(s => s.CacheDirectory == cacheDirectory))
        {
            foreach (var set in state.LiveSets())
            {
                referenced.UnionWith(set.Plugins.Select(p => p.Directory));
            }
        }

        foreach (var slot in _catalog.Environments.Where(e => DefaultFor(e.Path) == cacheDirectory && !_states.ContainsKey((e.Path, cacheDirectory))))
        {
            var plugins = Path.Combine(slot.Path, "plugins");
            if (!Directory.Exists(plugins))
            {
                continue;
            }

            foreach (var archive in Directory.EnumerateFiles(plugins, "*.zip", s_archives))
            {
                try
                {
                    referenced.Add(Path.Combine(cacheDirectory, PluginExtractor.FolderName(Path.GetFileNameWithoutExtension(archive), Extractor.HashOf(archive))));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or UnsafePluginArchiveException)
                {
                    // Gone or unreadable: it references nothing.
                }
            }
        }

        foreach (var folder in Directory.EnumerateDirectories(cacheDirectory))
        {
            var name = Path.GetFileName(folder);
            var stale = name.StartsWith(PluginExtractor.TemporaryPrefix, StringComparison.Ordinal)
                ? _timeProvider.GetUtcNow() - Directory.GetLastWriteTimeUtc(folder) > PluginExtractor.StaleAge
                : PluginExtractor.IsComplete(folder) && !referenced.Contains(folder);
            if (stale)
            {
                Remove(folder);
            }
        }

        // Then the files that extractions which did not finish leave: copies of archives, lock files of no folder.
        Extractor.RemoveLeftovers(cacheDirectory);
    }

    private void Remove(string folder)
    {
        // Under the folder's lock (another process may be extracting it) and the pin lock (a build here may be about
        // to use it). Renamed away first, so no one ever sees a half-deleted folder with its marker; then the lock retired.
        using var folderLock = PluginExtractor.TryLock(folder);
        if (folderLock is null)
        {
            return;
        }

        var trash = Path.Combine(Path.GetDirectoryName(folder)!, $"{PluginExtractor.TemporaryPrefix}removed-{Guid.NewGuid():N}");
        try
        {
            lock (_pinned)
            {
                if (_pinned.ContainsKey(folder))
                {
                    return;
                }

                Directory.Move(folder, trash);
            }

            Directory.Delete(trash, recursive: true);
            PluginExtractor.RetireLock(folderLock);
            PluginCacheLog.StalePluginRemoved(_logger, folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            PluginCacheLog.PluginSetRefreshFailed(_logger, folder, e.Message);
        }
    }

    /// <summary>An environment's plugin slot in its default cache directory, and the directory's preparation it relies on.</summary>
    private sealed record KnownDefault(EnvironmentPlugins State, int Forgotten);

    /// <summary>The plugins of one environment in one cache directory.</summary>
    internal sealed class EnvironmentPlugins : IDisposable
    {
        private readonly PluginSetProvider _owner;
        private readonly string _environmentPath;
        private readonly SemaphoreSlim _gate = new(1, 1);
        private readonly Debouncer _refresh;
        private readonly ITimer _retry;
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
            _retry = owner._timeProvider.CreateTimer(_ => _refresh.Trigger(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
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

                // Watch before reading, so an archive dropped in while extracting is not missed; a forgotten slot
                // (a request resolved just before its project left) watches nothing.
                if (!_disposed)
                {
                    _watch ??= ChangeToken.OnChange(() => _owner.Watch(_environmentPath), _refresh.Trigger);
                }

                var (set, pins, transient) = await _owner.BuildAsync(_environmentPath, CacheDirectory, cancellationToken);
                _current = set;
                _owner.Unpin(pins);
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
            if (transient && _owner._settings.Environment.RescanInterval > TimeSpan.Zero && !_disposed)
            {
                _retry.Change(_owner._settings.Environment.RescanInterval, Timeout.InfiniteTimeSpan);
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

                var (next, pins, transient) = await _owner.BuildAsync(_environmentPath, CacheDirectory, CancellationToken.None);
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
                        PluginCacheLog.PluginSetChanged(_owner._logger, _environmentPath, next.Plugins.Count);
                        previous.SignalReplaced();
                        if (_owner._settings.CleanupStale)
                        {
                            _owner.RemoveStale(CacheDirectory);
                        }
                    }
                }
                finally
                {
                    _owner.Unpin(pins);
                }

                ScheduleRetry(transient);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                PluginCacheLog.PluginSetRefreshFailed(_owner._logger, _environmentPath, e.Message);
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
