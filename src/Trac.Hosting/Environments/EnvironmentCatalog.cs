using Trac.Hosting.Common;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Environments;

/// <summary>
/// Every environment one resolution stage can serve, cached: the listing of the multi-project modes (kept as an
/// immutable snapshot, rebuilt when the parent directory changes), the single environment, and environments
/// chosen per request. Lookups of a known name do no file-system work.
/// </summary>
internal sealed class EnvironmentCatalog : IDisposable
{
    private readonly EnvironmentSettings _settings;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly FileWatchers _watchers;
    private readonly ConcurrentDictionary<string, EnvironmentSlot> _slotsByPath = new(StringComparer.Ordinal);
    private readonly object _listingGate = new();
    private volatile Listing _listing = Listing.Empty;
    private readonly ChangeSignal _listingChanged = new();
    private IDisposable? _listingWatch;
    private Debouncer? _listingRefresh;
    private ITimer? _rescan;

    public EnvironmentCatalog(EnvironmentSettings settings, TimeProvider timeProvider, ILogger logger)
    {
        _settings = settings;
        _timeProvider = timeProvider;
        _logger = logger;
        _watchers = new FileWatchers(settings.UsePollingFileWatcher, logger);

        if (settings.SinglePath is { } single)
        {
            Single = GetByPath(single);
        }

        if (settings.IsMultiProject)
        {
            _listingRefresh = new Debouncer(timeProvider, settings.ReloadDelay, RefreshListing);
            if (settings.ParentDirectory is { } parent)
            {
                // Registered before the first listing, so no change between the two is missed.
                _listingWatch = ChangeToken.OnChange(
                    () => new CompositeChangeToken([_watchers.Watch(parent, "*"), _watchers.Watch(parent, "*/VERSION")]),
                    _listingRefresh.Trigger);
            }

            lock (_listingGate)
            {
                _listing = BuildListing(logSkipped: true);
            }

            if (settings.RescanInterval > TimeSpan.Zero)
            {
                // The safety net for what watchers miss: list entries created later, polling that only sees files.
                _rescan = timeProvider.CreateTimer(_ => RefreshListing(), null, settings.RescanInterval, settings.RescanInterval);
            }
        }
    }

    /// <summary>Gets the single environment, or <see langword="null"/> in the multi-project modes.</summary>
    public EnvironmentSlot? Single { get; }

    public EnvironmentSettings Settings => _settings;

    /// <summary>Gets the file watchers of this catalog, shared with the project index.</summary>
    public FileWatchers Watchers => _watchers;

    /// <summary>Gets the listed environments in directory order (the index sorts them itself).</summary>
    public IReadOnlyList<EnvironmentSlot> Environments => _listing.InOrder;

    public bool TryFind(ReadOnlySpan<char> name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EnvironmentSlot? slot) =>
        _listing.TryFind(name, out slot);

    /// <summary>Returns the slot of the environment at a full, normalized path, creating it on first use.</summary>
    public EnvironmentSlot GetByPath(string fullPath) =>
        _slotsByPath.GetOrAdd(fullPath, CreateSlot);

    /// <summary>Returns the slot of an environment the catalog knows (listed, single or chosen before), making none.</summary>
    public bool TryGetByPath(string fullPath, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EnvironmentSlot? slot) =>
        _slotsByPath.TryGetValue(fullPath, out slot);

    /// <summary>Returns whether the catalog knows the environment at a full path: a dropped one it has forgotten.</summary>
    /// <summary>Finds a project by name: a listed one, or the single environment.</summary>
    public bool TryFindProject(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EnvironmentSlot? slot)
    {
        if (TryFind(name, out slot))
        {
            return true;
        }

        slot = Single is { } single && single.Name == name ? single : null;
        return slot is not null;
    }

    public bool Knows(string fullPath) => _slotsByPath.ContainsKey(fullPath);

    /// <summary>Gets how many environments the catalog holds state for, for tests.</summary>
    internal int SlotCount => _slotsByPath.Count;

    /// <summary>
    /// Raised after a listing refresh with the path of each environment it no longer lists (removed, renamed, ignored),
    /// on the refresh's thread: never on a request's.
    /// </summary>
    public event Action<string>? EnvironmentUnlisted;

    /// <summary>Returns a token that fires when the listing is rebuilt.</summary>
    public IChangeToken GetListingChangeToken() => _listingChanged.GetChangeToken();

    public void Dispose()
    {
        _rescan?.Dispose();
        _listingRefresh?.Dispose();
        _listingWatch?.Dispose();
        _watchers.Dispose();
        foreach (var slot in _slotsByPath.Values)
        {
            slot.Dispose();
        }
    }

    private EnvironmentSlot CreateSlot(string path)
    {
        var name = System.IO.Path.GetFileName(path);
        Uri? baseUrl = _settings.BaseUrl;
        if (baseUrl is not null && _settings.IsMultiProject)
        {
            baseUrl = new Uri(baseUrl.AbsoluteUri.TrimEnd('/') + "/" + Uri.EscapeDataString(name));
        }

        return new EnvironmentSlot(name, path, baseUrl, WatchEnvironment, _settings, _timeProvider, _logger);
    }

    // Environments directly under the parent share the parent's watcher: one watcher for thousands of projects.
    private CompositeChangeToken WatchEnvironment(EnvironmentSlot slot) =>
        new([_watchers.WatchEnvironment(_settings, slot.Path, "conf/trac.ini"), _watchers.WatchEnvironment(_settings, slot.Path, "VERSION")]);

    private void RefreshListing()
    {
        Listing listing;
        var unlisted = new List<string>();
        lock (_listingGate)
        {
            // Built under the lock, so a slow refresh can never overwrite a newer listing.
            try
            {
                listing = BuildListing(logSkipped: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                EnvironmentLog.ListingFailedKeepingLastGood(_logger, _settings.ParentDirectory ?? string.Empty, e.Message);
                return;
            }

            var previous = _listing;
            if (listing.InOrder.AsSpan().SequenceEqual(previous.InOrder))
            {
                return;
            }

            _listing = listing;
            foreach (var removed in previous.InOrder.Where(slot => !listing.Contains(slot)))
            {
                unlisted.Add(removed.Path);
                if (!Directory.Exists(removed.Path))
                {
                    removed.ReportRemoved();
                }

                // Forgotten when unlisted (and reopened if it returns); the single environment is never unlisted.
                if (_slotsByPath.TryRemove(new KeyValuePair<string, EnvironmentSlot>(removed.Path, removed)))
                {
                    removed.Dispose();
                }
            }

            if (unlisted.Count > 0 && _settings.ParentDirectory is { } parent)
            {
                // Also drops a token a removed project's watch took again while it was being disposed. Environments the
                // catalog still holds (listed, or chosen per request though not listed) keep theirs.
                _watchers.Retain(parent, name => _slotsByPath.ContainsKey(System.IO.Path.Combine(parent, name)));
            }
        }

        EnvironmentLog.ListingRefreshed(_logger, listing.InOrder.Length);
        _listingChanged.Signal();
        foreach (var path in unlisted)
        {
            EnvironmentUnlisted?.Invoke(path);
        }
    }

    private Listing BuildListing(bool logSkipped)
    {
        var byName = new Dictionary<string, EnvironmentSlot>(StringComparer.Ordinal);
        var inOrder = new List<EnvironmentSlot>();

        void Add(string path)
        {
            var name = System.IO.Path.GetFileName(path);
            if (!EnvironmentNames.IsValid(name, _settings.NamePattern))
            {
                EnvironmentLog.EnvironmentNameSkipped(_logger, path);
                return;
            }

            if (byName.TryGetValue(name, out var existing))
            {
                if (logSkipped)
                {
                    EnvironmentLog.EnvironmentConflict(_logger, path, existing.Path);
                }

                return;
            }

            var slot = GetByPath(path);
            byName.Add(name, slot);
            inOrder.Add(slot);
        }

        foreach (var path in _settings.Paths)
        {
            if (Directory.Exists(path))
            {
                Add(path);
            }
            else if (logSkipped)
            {
                EnvironmentLog.EnvironmentPathMissing(_logger, path);
            }
        }

        if (_settings.ParentDirectory is { } parent)
        {
            var ignore = ReadTracIgnore(parent);
            foreach (var directory in Directory.EnumerateDirectories(parent).Order(StringComparer.Ordinal))
            {
                if (!ignore.IsIgnored(System.IO.Path.GetFileName(directory)))
                {
                    Add(directory);
                }
            }
        }

        return new Listing(byName, [.. inOrder]);
    }

    private TracIgnore ReadTracIgnore(string parent)
    {
        var file = System.IO.Path.Combine(parent, TracIgnore.FileName);
        try
        {
            return TracIgnore.Parse(File.ReadAllText(file));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return TracIgnore.Default;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Trac treats an unreadable .tracignore as a missing one.
            EnvironmentLog.TracIgnoreUnreadable(_logger, file, e.Message);
            return TracIgnore.Default;
        }
    }

    /// <summary>An immutable snapshot of the multi-project listing.</summary>
    private sealed class Listing
    {
        private readonly Dictionary<string, EnvironmentSlot> _byName;
#if NET9_0_OR_GREATER
        private readonly Dictionary<string, EnvironmentSlot>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
#endif

        public Listing(Dictionary<string, EnvironmentSlot> byName, EnvironmentSlot[] inOrder)
        {
            _byName = byName;
            InOrder = inOrder;
#if NET9_0_OR_GREATER
            _bySpan = byName.GetAlternateLookup<ReadOnlySpan<char>>();
#endif
        }

        public static Listing Empty { get; } = new(new Dictionary<string, EnvironmentSlot>(StringComparer.Ordinal), []);

        public EnvironmentSlot[] InOrder { get; }

        public bool Contains(EnvironmentSlot slot) => _byName.TryGetValue(slot.Name, out var found) && found == slot;

        public bool TryFind(ReadOnlySpan<char> name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out EnvironmentSlot? slot)
        {
#if NET9_0_OR_GREATER
            return _bySpan.TryGetValue(name, out slot);
#else
            return _byName.TryGetValue(name.ToString(), out slot);
#endif
        }
    }
}
