using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Login;

/// <summary>The log messages of password-file logins; never a password or a hash.</summary>
internal static partial class LoginLog
{
    [LoggerMessage(EventIds.PasswordFileLoaded, LogLevel.Information, "Read the password file {Path}: {Users} users.",
        EventName = nameof(EventIds.PasswordFileLoaded))]
    public static partial void PasswordFileLoaded(ILogger logger, string path, int users);

    [LoggerMessage(EventIds.PasswordFileLineSkipped, LogLevel.Warning, "Password file {Path}, line {Line}: {Message}",
        EventName = nameof(EventIds.PasswordFileLineSkipped))]
    public static partial void LineSkipped(ILogger logger, string path, int line, string message);

    [LoggerMessage(EventIds.PasswordFileUserRefused, LogLevel.Error, "Password file {Path}, line {Line}: {Message}",
        EventName = nameof(EventIds.PasswordFileUserRefused))]
    public static partial void UserRefused(ILogger logger, string path, int line, string message);

    [LoggerMessage(EventIds.PasswordFileReloadFailed, LogLevel.Warning,
        "The password file {Path} changed but could not be read ({Error}); its last good content stays in use.",
        EventName = nameof(EventIds.PasswordFileReloadFailed))]
    public static partial void ReloadFailed(ILogger logger, string path, string error);

    [LoggerMessage(EventIds.PasswordFileNoUsersInRealm, LogLevel.Warning,
        "The htdigest file {Path} has no user in the realm '{Realm}' of Trac:Login:Files:{Project} (its realms: {Realms}); " +
        "nobody can log in there. Set Trac:Login:Files:{Project}:Realm to the realm given to htdigest.",
        EventName = nameof(EventIds.PasswordFileNoUsersInRealm))]
    public static partial void NoUsersInRealm(ILogger logger, string path, string realm, string project, string realms);

    [LoggerMessage(EventIds.LoginFailed, LogLevel.Debug, "A login as '{User}' from {Address} failed: {Reason}.",
        EventName = nameof(EventIds.LoginFailed))]
    public static partial void LoginFailed(ILogger logger, string user, string address, string reason);

    [LoggerMessage(EventIds.LoginsThrottled, LogLevel.Warning,
        "{Failures} failed logins from {Address} or as '{User}': further attempts are answered 429 until one failure is forgiven " +
        "(one per {Period}, Trac:Login:FailurePeriod).",
        EventName = nameof(EventIds.LoginsThrottled))]
    public static partial void Throttled(ILogger logger, int failures, string address, string user, TimeSpan period);

    [LoggerMessage(EventIds.BasicLoginOverPlainHttp, LogLevel.Warning,
        "A Basic login came over plain HTTP from {Address}: the password crossed the network readable. Serve the site over " +
        "HTTPS (or behind a proxy that does, with UseForwardedHeaders), or use an htdigest file. Logged once.",
        EventName = nameof(EventIds.BasicLoginOverPlainHttp))]
    public static partial void BasicOverPlainHttp(ILogger logger, string address);

    [LoggerMessage(EventIds.LoginWithoutPasswordFile, LogLevel.Warning,
        "A login was asked for project '{Project}', which has no password file: set Trac:Login:Files:{Project} or Trac:Login:Files:*. Logged once.",
        EventName = nameof(EventIds.LoginWithoutPasswordFile))]
    public static partial void NoPasswordFile(ILogger logger, string project);
}
