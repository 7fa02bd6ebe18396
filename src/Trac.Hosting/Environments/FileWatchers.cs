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
/// inotify instance limit is reached), so changes are still noticed.
/// </summary>
internal sealed class FileWatchers(bool usePolling, ILogger logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, PhysicalFileProvider> _providers = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<PhysicalFileProvider> _retired = [];
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
            Log.WatchFailed(logger, root, e.Message);
            return NullChangeToken.Singleton;
        }

        try
        {
            return provider.Watch(filter);
        }
        catch (Exception e) when (!provider.UsePollingFileWatcher && e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            Log.FallingBackToPolling(logger, root, e.Message);
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

    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
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
