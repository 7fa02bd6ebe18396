using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Environments;

/// <summary>
/// One file pattern (<c>conf/trac.ini</c>, <c>plugins/*.zip</c>) inside every directory directly under a root, watched
/// through a single wildcard token (<c>*/conf/trac.ini</c>) whatever the number of directories. A directory's token
/// fires when what the pattern matches in it differs from what it matched when the token was handed out (file, size,
/// last write); the comparison runs off the watcher's thread. Entries of directories no longer listed are dropped by
/// <see cref="Retain"/>, so projects that come and go leave nothing behind (a wildcard token per project would stay
/// in the file provider until a matching file changed, which for a deleted project is never).
/// </summary>
internal sealed class EntryWatch : IDisposable
{
    private static readonly EnumerationOptions s_files = new() { MatchCasing = MatchCasing.CaseInsensitive };

    private readonly string _root;
    private readonly string _pattern;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly IDisposable _subscription;
    // 0: no comparison running; 1: one running; 2: one running and another asked for after it.
    private int _checks;

    public EntryWatch(FileWatchers watchers, string root, string pattern, ILogger logger)
    {
        _root = root;
        _pattern = pattern;
        _logger = logger;
        _subscription = ChangeToken.OnChange(() => watchers.Watch(root, "*/" + pattern), RequestCheck);
    }

    /// <summary>Gets how many directories hold a token that has not fired.</summary>
    public int Count => _entries.Count;

    /// <summary>Returns a token that fires when the pattern's files in <c>root/name</c> change.</summary>
    public IChangeToken Watch(string name) =>
        // An entry holds no subscription: one a racing caller lost with is simply dropped.
        _entries.GetOrAdd(name, static (n, watch) => new Entry(watch.Fingerprint(n)), this).Token;

    /// <summary>Drops the tokens of directories <paramref name="listed"/> says are gone; they never fire.</summary>
    public void Retain(Func<string, bool> listed)
    {
        foreach (var name in _entries.Keys)
        {
            if (!listed(name))
            {
                _entries.TryRemove(name, out _);
            }
        }
    }

    public void Dispose() => _subscription.Dispose();

    private void RequestCheck()
    {
        while (true)
        {
            var checks = Volatile.Read(ref _checks);
            if (checks == 2)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _checks, checks + 1, checks) == checks)
            {
                if (checks == 0)
                {
                    ThreadPool.UnsafeQueueUserWorkItem(static watch => watch.CheckAll(), this, preferLocal: false);
                }

                return;
            }
        }
    }

    private void CheckAll()
    {
        do
        {
            foreach (var (name, entry) in _entries)
            {
                if (Fingerprint(name) != entry.Fingerprint && _entries.TryRemove(new KeyValuePair<string, Entry>(name, entry)))
                {
                    try
                    {
                        entry.Fire();
                    }
                    catch (Exception e)
                    {
                        // On a pool thread: a subscriber that throws must not stop the others, the later checks, nor
                        // the process.
                        EnvironmentLog.WatchFailed(_logger, Path.Combine(_root, name), (e as AggregateException)?.InnerException?.Message ?? e.Message);
                    }
                }
            }
        }
        while (Interlocked.Decrement(ref _checks) != 0);
    }

    private int Fingerprint(string name)
    {
        var path = Path.Combine(_root, name, _pattern);
        try
        {
            var fileName = Path.GetFileName(path);
            if (!fileName.Contains('*', StringComparison.Ordinal))
            {
                var file = new FileInfo(path);
                return file.Exists ? HashCode.Combine(file.Length, file.LastWriteTimeUtc.Ticks) : 0;
            }

            var directory = Path.GetDirectoryName(path)!;
            if (!Directory.Exists(directory))
            {
                return 0;
            }

            var hash = new HashCode();
            foreach (var file in new DirectoryInfo(directory).EnumerateFiles(fileName, s_files).OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                hash.Add(file.Name, StringComparer.Ordinal);
                hash.Add(file.Length);
                hash.Add(file.LastWriteTimeUtc.Ticks);
            }

            return hash.ToHashCode();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Unreadable is a state of its own: becoming readable again is a change.
            return -1;
        }
    }

    /// <summary>A handed-out token and the state of the files when it was made.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A CancellationTokenSource without a timer holds nothing to dispose.")]
    private sealed class Entry(int fingerprint)
    {
        private readonly CancellationTokenSource _fired = new();

        public int Fingerprint { get; } = fingerprint;

        public IChangeToken Token => new CancellationChangeToken(_fired.Token);

        public void Fire() => _fired.Cancel();
    }
}
