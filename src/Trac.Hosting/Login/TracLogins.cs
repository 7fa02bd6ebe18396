using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Environments;

namespace Trac.Hosting.Login;

/// <summary>
/// What the password-file scheme keeps for the life of the host: the files (each read once, shared by the projects
/// that name it, re-read on change), the realm of each project, the failure throttle, the Digest nonces and the
/// verified-login cache. Made when the Trac pipeline is built, so a missing file stops start-up.
/// </summary>
internal sealed class TracLogins : IDisposable
{
    private static readonly object s_asked = new();

    // Case-insensitive, as configuration keys are: Files:Alpha must not silently fall back to '*' for the alpha project.
    private readonly Dictionary<string, LoginRealm> _realms = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<IDisposable> _owned = [];
    private readonly ConcurrentDictionary<string, bool> _noFileWarned = new(StringComparer.Ordinal);
    private readonly FileWatchers _watchers;
    private readonly LoginRealm? _anyProject;
    private int _plainHttpWarned;

    /// <remarks>The options were checked by <see cref="LoginSettings.Validate"/> (the options validator runs it).</remarks>
    /// <exception cref="InvalidOperationException">A file cannot be read; the message names the key.</exception>
    public TracLogins(string scheme, LoginOptions options, string contentRoot, TimeProvider timeProvider, ILogger logger, TracMetrics metrics)
    {
        if (options.Files.Count == 0)
        {
            throw new InvalidOperationException(
                "AddTracLogin() was called, but Trac:Login:Files names no password file: set Trac:Login:Files:*:Path (every " +
                "project) or Trac:Login:Files:<project>:Path to an htpasswd or htdigest file.");
        }

        Scheme = scheme;
        Logger = logger;
        Metrics = metrics;
        Throttle = new LoginThrottle(timeProvider, options.MaxFailures, options.FailurePeriod);
        Nonces = new DigestNonces(timeProvider, options.NonceLifetime);
        Verified = options.VerifiedLoginLifetime > TimeSpan.Zero ? new VerifiedLogins(timeProvider, options.VerifiedLoginLifetime, 10_000) : null;
        _watchers = new FileWatchers(usePolling: false, logger);
        _owned.Add(_watchers);
        try
        {
            var files = new Dictionary<(string, PasswordFileFormat), PasswordFile>();
            foreach (var (project, file) in options.Files)
            {
                var path = Path.GetFullPath(file.Path!, contentRoot);
                if (!files.TryGetValue((path, file.Format), out var passwords))
                {
                    passwords = Open(project, path, file.Format, timeProvider);
                    files[(path, file.Format)] = passwords;
                }

                _realms[project] = new LoginRealm(project, passwords, file.Realm);
                WarnIfRealmIsEmpty(project, passwords, file.Realm);
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        _anyProject = _realms.GetValueOrDefault(LoginOptions.AnyProject);
        HasProjectFiles = _realms.Count > (_anyProject is null ? 0 : 1);
    }

    /// <summary>Gets the name of the authentication scheme.</summary>
    public string Scheme { get; }

    public ILogger Logger { get; }

    public TracMetrics Metrics { get; }

    public LoginThrottle Throttle { get; }

    public DigestNonces Nonces { get; }

    /// <summary>Gets the verified-login cache, or <see langword="null"/> when <c>VerifiedLoginLifetime</c> is zero.</summary>
    public VerifiedLogins? Verified { get; }

    /// <summary>Gets whether some project has a file of its own (so the project must be known to choose one).</summary>
    public bool HasProjectFiles { get; }

    /// <summary>
    /// Returns the realm of the request's project (its own file, else <c>*</c>), or <see langword="null"/> when it has
    /// none. <paramref name="undecided"/> is set when the project is not resolved yet and the choice depends on it.
    /// </summary>
    public LoginRealm? Find(HttpContext context, out bool undecided)
    {
        var environment = context.GetTracEnvironment();
        undecided = environment is null && HasProjectFiles;
        if (environment is null)
        {
            return undecided ? null : _anyProject;
        }

        return _realms.GetValueOrDefault(environment.Name) ?? _anyProject;
    }

    /// <summary>Logs, once, that Basic credentials came over plain HTTP from another machine.</summary>
    public void WarnPlainHttp(string address)
    {
        if (Interlocked.Exchange(ref _plainHttpWarned, 1) == 0)
        {
            LoginLog.BasicOverPlainHttp(Logger, address);
        }
    }

    /// <summary>Logs, once per project, that a login was asked for a project without a file.</summary>
    public void WarnNoFile(string project)
    {
        if (_noFileWarned.Count < 1000 && _noFileWarned.TryAdd(project, true))
        {
            LoginLog.NoPasswordFile(Logger, project);
        }
    }

    /// <summary>Marks the request as one the remote-user stage asks to log in (a login path).</summary>
    public static void MarkAsked(HttpContext context) => context.Features[typeof(TracLogins)] = s_asked;

    /// <summary>Returns whether the remote-user stage asks this request to log in.</summary>
    public static bool IsAsked(HttpContext context) => ReferenceEquals(context.Features[typeof(TracLogins)], s_asked);

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        _owned.Clear();
    }

    private PasswordFile Open(string project, string path, PasswordFileFormat format, TimeProvider timeProvider)
    {
        PasswordFile passwords;
        try
        {
            passwords = new PasswordFile(path, format == PasswordFileFormat.Htdigest, Logger, timeProvider, _watchers);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            var tool = format == PasswordFileFormat.Htdigest ? "htdigest -c <file> <realm> <user>" : "htpasswd -c -B <file> <user>";
            throw new InvalidOperationException(
                $"Trac:Login:Files:{project}:Path '{path}' cannot be read: {e.Message} Create the file ({tool}) or correct the path.", e);
        }

        _owned.Add(passwords);
        if (Verified is { } verified)
        {
            // A changed file may have dropped a user or changed a password: nothing verified before stays.
            _owned.Add(ChangeToken.OnChange(passwords.GetReloadedToken, verified.Forget));
        }

        return passwords;
    }

    private void WarnIfRealmIsEmpty(string project, PasswordFile passwords, string realm)
    {
        if (passwords.Current is HtdigestFile digest && !digest.Users.Any(u => u.Realm == realm))
        {
            var realms = digest.Users.Select(u => "'" + u.Realm + "'").Distinct().Order(StringComparer.Ordinal).ToArray();
            LoginLog.NoUsersInRealm(Logger, passwords.Path, realm, project, realms.Length == 0 ? "none" : string.Join(", ", realms));
        }
    }
}

/// <summary>The password file and realm that check the logins of a project.</summary>
internal sealed record LoginRealm(string Project, PasswordFile File, string Realm);
