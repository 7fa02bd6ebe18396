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
}
