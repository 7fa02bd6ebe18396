using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Environments;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// The current plugin set of every (environment, cache directory) pair a pipeline has served: built on first use,
/// rebuilt when an archive in <c>&lt;env&gt;/plugins</c> is added, replaced or removed. Readers never lock.
/// </summary>
internal sealed class PluginSetProvider : IPluginSetSource, IDisposable
{
    private readonly ConcurrentDictionary<(string Environment, string Cache), EnvironmentPlugins> _states = new();
    private readonly ConcurrentDictionary<string, bool> _prepared = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _defaults = new(StringComparer.Ordinal);
    // Per environment snapshot, its plugins in its default cache directory: requests of a known environment hash no path.
    private readonly ConditionalWeakTable<TracEnvironment, KnownDefault> _knownDefaults = new();
    private readonly PluginFolderPins _pins = new();
    private readonly PluginSetBuilder _builder;
    private readonly StalePluginCleanup _cleanup;
    private readonly PluginCacheSettings _settings;
    private readonly EnvironmentCatalog _catalog;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    // Counts the prepared directories forgotten (a cache directory deleted while running), which must be prepared again.
    private int _forgotten;

    public PluginSetProvider(PluginCacheSettings settings, PluginExtractor extractor, EnvironmentCatalog catalog, TimeProvider timeProvider, ILogger logger)
    {
        _settings = settings;
        _catalog = catalog;
        _timeProvider = timeProvider;
        _logger = logger;
        _builder = new PluginSetBuilder(extractor, _pins, logger);
        _cleanup = new StalePluginCleanup(extractor, _pins, () => _states.Values, Unopened, timeProvider, logger);
        _catalog.EnvironmentUnlisted += Forget;
    }

    /// <summary>Gets how many (environment, cache directory) slots the provider holds, for tests and benchmarks.</summary>
    internal int StateCount => _states.Count;

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

        state = _states.GetOrAdd((environmentPath, cacheDirectory), key => new EnvironmentPlugins(
            this, key.Environment, key.Cache, _timeProvider, _settings.Environment.ReloadDelay, _settings.Environment.RescanInterval, _logger));
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

    /// <summary>Returns the slot of an environment's plugins, for tests (and benchmarks) that wait for changes.</summary>
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

        _cleanup.DropReleased();

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
        _cleanup.KeepWhileLeased(state);
    }

    // Environments of the parent directory share the catalog's watcher on the parent: no watcher per project.
    IChangeToken IPluginSetSource.Watch(string environmentPath) =>
        _catalog.Watchers.WatchEnvironment(_catalog.Settings, environmentPath, "plugins/*.zip");

    async Task<(TracPluginSet Set, List<string> Pins, bool Transient)> IPluginSetSource.BuildAsync(
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

        return await _builder.BuildAsync(environmentPath, cacheDirectory, cancellationToken);
    }

    void IPluginSetSource.Unpin(IEnumerable<string> folders) => _pins.Unpin(folders);

    void IPluginSetSource.Replaced(string cacheDirectory)
    {
        if (_settings.CleanupStale)
        {
            _cleanup.RemoveStale(cacheDirectory);
        }
    }

    // The listed environments sharing a cache directory that no slot has opened there yet: the clean-up spares their folders.
    private IEnumerable<string> Unopened(string cacheDirectory) =>
        _catalog.Environments.Where(e => DefaultFor(e.Path) == cacheDirectory && !_states.ContainsKey((e.Path, cacheDirectory))).Select(e => e.Path);

    /// <summary>An environment's plugin slot in its default cache directory, and the directory's preparation it relies on.</summary>
    private sealed record KnownDefault(EnvironmentPlugins State, int Forgotten);
}
