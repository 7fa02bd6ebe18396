using System.Collections.Concurrent;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.FileProviders.Physical;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Environments;

/// <summary>
/// Change tokens for files under a few root directories, through one <see cref="PhysicalFileProvider"/> per root.
/// Falls back to polling for a root whose file-system watcher the operating system refuses (for example when the
/// inotify instance limit is reached), so changes are still noticed. Files inside the directories directly under a
/// root (the projects of a parent directory) are watched per pattern through <see cref="EntryWatch"/>, one token for
/// all of them.
/// </summary>
internal sealed class FileWatchers(bool usePolling, ILogger logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, PhysicalFileProvider> _providers = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<PhysicalFileProvider> _retired = [];
    private readonly ConcurrentDictionary<(string Root, string Pattern), EntryWatch> _entryWatches = new();
    private bool _disposed;

    /// <summary>Returns a token that fires when a file matching <paramref name="filter"/> under <paramref name="root"/> changes.</summary>
    public IChangeToken Watch(string root, string filter)
    {
        if (Volatile.Read(ref _disposed))
        {
            return NullChangeToken.Singleton;
        }

        PhysicalFileProvider provider;
        try
        {
            provider = _providers.GetOrAdd(root, r => Create(r, usePolling));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // The directory is gone or unreadable: nothing to watch until it is listed again.
            EnvironmentLog.WatchFailed(logger, root, e.Message);
            return NullChangeToken.Singleton;
        }

        try
        {
            return provider.Watch(filter);
        }
        catch (Exception e) when (!provider.UsePollingFileWatcher && e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            EnvironmentLog.FallingBackToPolling(logger, root, e.Message);
            var polling = Create(root, polling: true);
            if (_providers.TryUpdate(root, polling, provider))
            {
                // Not disposed yet: tokens it already handed out must stay valid until the end.
                _retired.Add(provider);
            }
            else
            {
                polling.Dispose();
            }

            return _providers[root].Watch(filter);
        }
    }

    /// <summary>
    /// Returns a token that fires when the files matching <paramref name="pattern"/> in <c>root/name</c> change, where
    /// <paramref name="name"/> is a directory directly under <paramref name="root"/>. Forgotten by <see cref="Retain"/>.
    /// </summary>
    private IChangeToken WatchEntry(string root, string name, string pattern)
    {
        if (Volatile.Read(ref _disposed))
        {
            return NullChangeToken.Singleton;
        }

        if (!_entryWatches.TryGetValue((root, pattern), out var watch))
        {
            // Made outside GetOrAdd, so that the one a concurrent caller lost with is disposed, not left subscribed.
            var created = new EntryWatch(this, root, pattern, logger);
            watch = _entryWatches.GetOrAdd((root, pattern), created);
            if (!ReferenceEquals(watch, created))
            {
                created.Dispose();
            }
        }

        return watch.Watch(name);
    }

    /// <summary>
    /// Returns a token that fires when the files matching <paramref name="pattern"/> inside the environment at
    /// <paramref name="environmentPath"/> change: through the parent's shared <see cref="EntryWatch"/> for an
    /// environment directly under <see cref="EnvironmentSettings.ParentDirectory"/> (no watcher per project), else
    /// through a provider on the environment itself.
    /// </summary>
    public IChangeToken WatchEnvironment(EnvironmentSettings settings, string environmentPath, string pattern)
    {
        var name = Path.GetFileName(environmentPath);
        return settings.IsDirectlyUnderParent(environmentPath) && !name.Contains('*', StringComparison.Ordinal)
            ? WatchEntry(settings.ParentDirectory!, name, pattern)
            : Watch(environmentPath, pattern);
    }

    /// <summary>Forgets the tokens of the directories under <paramref name="root"/> that <paramref name="listed"/> says are gone.</summary>
    public void Retain(string root, Func<string, bool> listed)
    {
        foreach (var ((watchedRoot, _), watch) in _entryWatches)
        {
            if (string.Equals(watchedRoot, root, StringComparison.Ordinal))
            {
                watch.Retain(listed);
            }
        }
    }

    /// <summary>Gets how many directory tokens are held for <see cref="WatchEntry"/>, for tests.</summary>
    internal int EntryCount => _entryWatches.Values.Sum(w => w.Count);

    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        foreach (var watch in _entryWatches.Values)
        {
            watch.Dispose();
        }

        foreach (var provider in _providers.Values.Concat(_retired))
        {
            provider.Dispose();
        }

        _providers.Clear();
    }

    private static PhysicalFileProvider Create(string root, bool polling) =>
        // ExclusionFilters.None: the default filters drop dot-files, and .tracignore is one.
        new(root, ExclusionFilters.None)
        {
            UsePollingFileWatcher = polling,
            UseActivePolling = polling,
        };
}
