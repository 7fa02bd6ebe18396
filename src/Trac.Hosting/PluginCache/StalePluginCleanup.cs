using Microsoft.Extensions.Logging;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// The stale clean-up of a cache directory (<c>Trac:PluginCache:CleanupStale</c>): removes the extracted folders no
/// set references any more, and what extractions that did not finish left behind. Keeps the slots of projects that
/// left the listing while a set of theirs is leased, so that their folders stay referenced until released.
/// </summary>
internal sealed class StalePluginCleanup
{
    /// <summary>How old a temporary name or an unused lock file must be for the clean-up to remove it: far longer than an extraction takes.</summary>
    private static readonly TimeSpan StaleAge = TimeSpan.FromHours(1);

    // Slots of projects that left the listing while a set of theirs was leased. Guarded by itself.
    private readonly List<EnvironmentPlugins> _forgottenInUse = [];
    private readonly PluginExtractor _extractor;
    private readonly PluginFolderPins _pins;
    private readonly Func<IEnumerable<EnvironmentPlugins>> _slots;
    private readonly Func<string, IEnumerable<string>> _unopened;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <param name="extractor">Hashes the archives no slot has opened yet.</param>
    /// <param name="pins">The folders builds in progress are about to use.</param>
    /// <param name="slots">Returns the provider's slots (forgotten ones are kept here).</param>
    /// <param name="unopened">Returns the listed environments whose default cache is the given one and that have no
    /// slot there yet.</param>
    /// <param name="timeProvider">Tells the age of leftovers.</param>
    /// <param name="logger">Logs what is removed.</param>
    public StalePluginCleanup(
        PluginExtractor extractor, PluginFolderPins pins, Func<IEnumerable<EnvironmentPlugins>> slots,
        Func<string, IEnumerable<string>> unopened, TimeProvider timeProvider, ILogger logger)
    {
        _extractor = extractor;
        _pins = pins;
        _slots = slots;
        _unopened = unopened;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Keeps a slot taken out of the provider (already stopped) referenced while a set of it is leased.</summary>
    public void KeepWhileLeased(EnvironmentPlugins slot)
    {
        lock (_forgottenInUse)
        {
            _forgottenInUse.Add(slot);
        }
    }

    /// <summary>Drops the forgotten slots none of whose sets is leased any more; returns those that stay.</summary>
    public EnvironmentPlugins[] DropReleased()
    {
        lock (_forgottenInUse)
        {
            _forgottenInUse.RemoveAll(slot => !slot.InUse());
            return [.. _forgottenInUse];
        }
    }

    public void RemoveStale(string cacheDirectory)
    {
        // Referenced: every folder of a current set, of a retired set still leased, and of the archives of listed
        // environments sharing this cache that this process has not opened yet. Folders pinned by a build in
        // progress are skipped below, under the same lock the build pins them with.
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        var forgotten = DropReleased();
        foreach (var slot in _slots().Concat(forgotten).Where(s => s.CacheDirectory == cacheDirectory))
        {
            foreach (var set in slot.LiveSets())
            {
                referenced.UnionWith(set.Plugins.Select(p => p.Directory));
            }
        }

        foreach (var environmentPath in _unopened(cacheDirectory))
        {
            foreach (var archive in PluginSetBuilder.Archives(environmentPath))
            {
                try
                {
                    referenced.Add(Path.Combine(cacheDirectory, PluginExtractor.FolderName(Path.GetFileNameWithoutExtension(archive), _extractor.HashOf(archive))));
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
                ? _timeProvider.GetUtcNow() - Directory.GetLastWriteTimeUtc(folder) > StaleAge
                : PluginExtractor.IsComplete(folder) && !referenced.Contains(folder);
            if (stale)
            {
                Remove(folder);
            }
        }

        // Then the files that extractions which did not finish leave: copies of archives, lock files of no folder.
        RemoveLeftovers(cacheDirectory);
    }

    private void Remove(string folder)
    {
        // Under the folder's lock (another process may be extracting it) and the pin lock (a build here may be about
        // to use it). Renamed away first, so no one ever sees a half-deleted folder with its marker; then the lock retired.
        using var folderLock = PluginFolderLock.TryLock(folder);
        if (folderLock is null)
        {
            return;
        }

        var trash = Path.Combine(Path.GetDirectoryName(folder)!, $"{PluginExtractor.TemporaryPrefix}removed-{Guid.NewGuid():N}");
        try
        {
            if (!_pins.MoveUnlessPinned(folder, trash))
            {
                return;
            }

            Directory.Delete(trash, recursive: true);
            PluginFolderLock.Retire(folderLock);
            PluginCacheLog.StalePluginRemoved(_logger, folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            PluginCacheLog.PluginSetRefreshFailed(_logger, folder, e.Message);
        }
    }

    /// <summary>
    /// Removes from a cache directory what extractions that did not finish (a process killed meanwhile) left there,
    /// once older than <see cref="StaleAge"/>: temporary files such as private copies of archives, unless open (an
    /// extraction holds its copy open while writing and reading it), and lock files of folders that do not exist,
    /// unless held. Temporary folders are left to <see cref="RemoveStale"/>, which removes them like extracted folders.
    /// </summary>
    private void RemoveLeftovers(string cacheDirectory)
    {
        var now = _timeProvider.GetUtcNow();
        foreach (var file in Directory.EnumerateFiles(cacheDirectory))
        {
            var name = Path.GetFileName(file);
            try
            {
                if (now - File.GetLastWriteTimeUtc(file) <= StaleAge)
                {
                    continue;
                }

                if (name.EndsWith(PluginFolderLock.Suffix, StringComparison.Ordinal))
                {
                    var folder = file[..^PluginFolderLock.Suffix.Length];
                    if (!Directory.Exists(folder) && PluginFolderLock.TryLock(folder) is { } orphan)
                    {
                        // Checked again under the lock: only its holder makes the folder.
                        if (Directory.Exists(folder))
                        {
                            orphan.Dispose();
                        }
                        else
                        {
                            PluginFolderLock.Retire(orphan);
                        }
                    }
                }
                else if (name.StartsWith(PluginExtractor.TemporaryPrefix, StringComparison.Ordinal))
                {
                    // Opens only if no one else has it open; deleted when closed.
                    using (new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.None, 1, FileOptions.DeleteOnClose))
                    {
                    }

                    PluginCacheLog.PluginLeftoverRemoved(_logger, file);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use, or gone meanwhile: looked at again by the next clean-up.
            }
        }
    }
}
