using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// The log messages of remote-user normalization; their ids are kept with every other stage's in <see cref="EventIds"/>.
/// Per-request messages are at Debug level; Information and above are kept for events that happen once or on a change.
/// </summary>
internal static partial class RemoteUserLog
{
    [LoggerMessage(EventIds.RemoteUserMalformed, LogLevel.Debug,
        "Refused a malformed remote user from {Source} with 400 ({Reason}): \"{Value}\"",
        EventName = nameof(EventIds.RemoteUserMalformed))]
    public static partial void RemoteUserMalformed(ILogger logger, RemoteUserSource source, string reason, string value);

    [LoggerMessage(EventIds.RemoteUserRefused, LogLevel.Debug,
        "Refused the remote user from {Source} with 403 ({Reason}): \"{Value}\"",
        EventName = nameof(EventIds.RemoteUserRefused))]
    public static partial void RemoteUserRefused(ILogger logger, RemoteUserSource source, string reason, string value);

    [LoggerMessage(EventIds.UntrustedUserHeaderRemoved, LogLevel.Debug,
        "Removed the {Header} header sent by '{Peer}', which is not a trusted proxy.",
        EventName = nameof(EventIds.UntrustedUserHeaderRemoved))]
    public static partial void UntrustedUserHeaderRemoved(ILogger logger, string header, string peer);

    [LoggerMessage(EventIds.LoginWithoutAuthentication, LogLevel.Error,
        "The login path '{Path}' was requested without a user, and no authentication scheme is registered to challenge it. " +
        "Call builder.Services.AddAuthentication(...) with a default challenge scheme (Negotiate, a cookie scheme, ...), or authenticate " +
        "the login path in a reverse proxy and trust its user header with Trac:RemoteUser:KnownProxies.",
        EventName = nameof(EventIds.LoginWithoutAuthentication))]
    public static partial void LoginWithoutAuthentication(ILogger logger, string path);

    [LoggerMessage(EventIds.HeaderSourceTrustsNoProxy, LogLevel.Warning,
        "The remote user may come from the {Header} header, but no proxy is trusted (Trac:RemoteUser:KnownProxies, KnownIPNetworks), " +
        "so the header is ignored and removed from every request.",
        EventName = nameof(EventIds.HeaderSourceTrustsNoProxy))]
    public static partial void HeaderSourceTrustsNoProxy(ILogger logger, string header);

    [LoggerMessage(EventIds.LookAlikeHeaderRemoved, LogLevel.Debug,
        "Removed the header '{Header}', a look-alike of the user header that CGI-style gateways would confuse with it.",
        EventName = nameof(EventIds.LookAlikeHeaderRemoved))]
    public static partial void LookAlikeHeaderRemoved(ILogger logger, string header);

    [LoggerMessage(EventIds.RemoteUserRefusalsSummarized, LogLevel.Warning,
        "Remote user values refused with {StatusCode} for {Reason} ({Description}) since the last such warning: {Count}. Each refusal is " +
        "logged at Debug level only (events RemoteUserMalformed, RemoteUserRefused) and counted in trac.remote_user.refusals; this " +
        "warning is written at most once every {Interval} for each reason.",
        EventName = nameof(EventIds.RemoteUserRefusalsSummarized))]
    public static partial void RemoteUserRefusalsSummarized(ILogger logger, long count, int statusCode, string reason, string description, TimeSpan interval);
}
