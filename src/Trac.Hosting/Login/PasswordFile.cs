using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Common;
using Trac.Hosting.Environments;

namespace Trac.Hosting.Login;

/// <summary>
/// One password file (htpasswd or htdigest), read when it is made and again whenever it changes, once the change has
/// been quiet for <see cref="ReloadDelay"/> (<c>htpasswd</c> empties the file before it writes it again), on a timer's
/// thread, never on a request's: a request reads <see cref="Current"/>. A change that cannot be read (the file removed,
/// half written, unreadable) keeps the last good content and logs why. Problems of a content (a skipped line, a refused
/// user) are logged each time it is read.
/// </summary>
internal sealed class PasswordFile : IDisposable
{
    /// <summary>The largest file read: a password file is small, and a huge one would be read into memory whole.</summary>
    internal const long MaxLength = 16 * 1024 * 1024;

    private readonly ILogger _logger;
    private readonly IDisposable _watch;
    private readonly ChangeSignal _reloaded = new();
    private readonly Debouncer _reload;
    private volatile object _current;

    /// <exception cref="IOException">The file cannot be read at all: a login with it would always fail.</exception>
    /// <param name="path">The file.</param>
    /// <param name="isDigest">Whether it is an htdigest file (else htpasswd).</param>
    /// <param name="logger">Where its problems and reloads are logged.</param>
    /// <param name="timeProvider">The clock of the quiet period.</param>
    /// <param name="watchers">The watchers of its directory (dot-files included; polling where the system refuses a watcher).</param>
    public PasswordFile(string path, bool isDigest, ILogger logger, TimeProvider timeProvider, FileWatchers watchers)
    {
        Path = System.IO.Path.GetFullPath(path);
        IsDigest = isDigest;
        _logger = logger;
        _current = Read();
        _reload = new Debouncer(timeProvider, ReloadDelay, Reload);
        var (directory, name) = (System.IO.Path.GetDirectoryName(Path)!, System.IO.Path.GetFileName(Path));
        _watch = ChangeToken.OnChange(() => watchers.Watch(directory, name), _reload.Trigger);
    }

    /// <summary>Gets how long a change must be quiet before the file is read again.</summary>
    public static TimeSpan ReloadDelay { get; } = TimeSpan.FromMilliseconds(200);

    public string Path { get; }

    /// <summary>Gets whether this is an htdigest file (else htpasswd).</summary>
    public bool IsDigest { get; }

    /// <summary>Gets the content in use: an <see cref="HtpasswdFile"/> or an <see cref="HtdigestFile"/>.</summary>
    public object Current => _current;

    /// <summary>Gets a token that fires after the next attempt to read the file again (for tests and the host's own watchers).</summary>
    public IChangeToken GetReloadedToken() => _reloaded.GetChangeToken();

    public void Dispose()
    {
        _watch.Dispose();
        _reload.Dispose();
    }

    private void Reload()
    {
        try
        {
            _current = Read();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or OutOfMemoryException)
        {
            // On a timer's thread: an escaping exception would end the process.
            LoginLog.ReloadFailed(_logger, Path, e.Message);
        }
        finally
        {
            _reloaded.Signal();
        }
    }

    private object Read()
    {
        if (new FileInfo(Path) is { Exists: true, Length: > MaxLength } large)
        {
            throw new InvalidDataException($"the file is {large.Length} bytes; a password file of more than {MaxLength} bytes is not read");
        }

        IReadOnlyList<PasswordFileProblem> problems;
        int users;
        object content;
        if (IsDigest)
        {
            var digest = HtdigestFile.Load(Path);
            (content, problems, users) = (digest, digest.Problems, digest.Users.Count);
        }
        else
        {
            var basic = HtpasswdFile.Load(Path);
            (content, problems, users) = (basic, basic.Problems, basic.Users.Count);
        }

        foreach (var problem in problems)
        {
            if (problem.IsError)
            {
                LoginLog.UserRefused(_logger, problem.Path, problem.Line, problem.Message);
            }
            else
            {
                LoginLog.LineSkipped(_logger, problem.Path, problem.Line, problem.Message);
            }
        }

        LoginLog.PasswordFileLoaded(_logger, Path, users);
        return content;
    }
}
