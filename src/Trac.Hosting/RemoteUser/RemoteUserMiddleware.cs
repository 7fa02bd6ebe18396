using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Common;
using Trac.Hosting.Login;
using Microsoft.Net.Http.Headers;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// The remote-user normalization stage: takes the user name from the configured sources, in order, brings it to
/// its canonical spelling, and makes <see cref="ITracRemoteUserFeature"/> and <c>HttpContext.User</c> agree on
/// it. Refused values end the request with a fixed 400 or 403 that never echoes them, and are counted and logged by
/// <see cref="RemoteUserRefusals"/>.
/// </summary>
internal sealed class RemoteUserMiddleware
{
    internal const string RemoteUserServerVariable = "REMOTE_USER";
    internal const string AuthTypeServerVariable = "AUTH_TYPE";
    internal const string ServerVariableAuthenticationType = "ServerVariable";
    internal const string HeaderAuthenticationType = "TrustedProxyHeader";

    private static readonly byte[] s_malformedBody = Encoding.UTF8.GetBytes("Bad Request: the remote user name is malformed.");
    private static readonly byte[] s_refusedBody = Encoding.UTF8.GetBytes("Forbidden: the remote user is not allowed.");

    // The feature of a request for which no source had a value: the common anonymous case allocates nothing.
    private static readonly TracRemoteUserFeature s_noValue = new(null, null, null);

    private readonly RequestDelegate _next;
    private readonly RemoteUserSettings _settings;
    private readonly ILogger _logger;
    private readonly RemoteUserRefusals _refusals;
    private readonly AcceptedUsers _accepted = new();
    private readonly TracLogins? _logins;
    private int _loginWarned;

    public RemoteUserMiddleware(RequestDelegate next, RemoteUserSettings settings, ILogger logger, TimeProvider timeProvider, TracMetrics metrics,
        TracLogins? logins = null)
    {
        _next = next;
        _settings = settings;
        _logger = logger;
        _refusals = new RemoteUserRefusals(logger, timeProvider, metrics);
        _logins = logins;
    }

    public Task InvokeAsync(HttpContext context)
    {
        // Password-file credentials are checked on the login paths only, as tracd does: elsewhere Trac's own cookie
        // says who is logged in, and its logout works even while the browser still sends the credentials.
        if (_logins is not null && context.Request.Headers.ContainsKey(HeaderNames.Authorization) &&
            PeekUser(context)?.Identity?.IsAuthenticated != true && IsLoginPath(context.Request.Path))
        {
            return LogInAndNormalizeAsync(context, _logins.Scheme);
        }

        return NormalizeAsync(context);
    }

    private async Task LogInAndNormalizeAsync(HttpContext context, string scheme)
    {
        TracLogins.MarkAsked(context);
        var result = await context.AuthenticateAsync(scheme);
        if (result.Succeeded)
        {
            context.User = result.Principal;
        }

        await NormalizeAsync(context);
    }

    private Task NormalizeAsync(HttpContext context)
    {
        var (headerValue, headerRepeated) = TakeHeader(context);

        string? original = null;
        RemoteUserSource? originSource = null;
        foreach (var source in _settings.Sources)
        {
            var raw = source switch
            {
                RemoteUserSource.Principal => PeekUser(context)?.Identity is { IsAuthenticated: true } identity ? identity.Name ?? string.Empty : null,
                RemoteUserSource.ServerVariable => RequestFeatures.ServerVariable(context, RemoteUserServerVariable),
                _ => headerValue,
            };
            if (raw is null)
            {
                continue;
            }

            original ??= raw;
            originSource ??= source;
            var repeated = source == RemoteUserSource.Header && headerRepeated;
            if (!repeated && _accepted.TryGet(source, raw, out var known))
            {
                return AcceptAsync(context, known);
            }

            var result = repeated ? RemoteUserResult.Malformed(RemoteUserRefusalReason.RepeatedHeader) : _settings.Normalizer.Normalize(raw);
            switch (result.Outcome)
            {
                case RemoteUserOutcome.User:
                    return AcceptAsync(context, _accepted.Add(source, raw, result.Name!));
                case RemoteUserOutcome.Malformed:
                    _refusals.Record(source, result, raw, context.GetTracEnvironment()?.Name);
                    return TracResponses.WriteErrorAsync(context, StatusCodes.Status400BadRequest, TracErrors.RemoteUserMalformed, s_malformedBody);
                case RemoteUserOutcome.Refused:
                    _refusals.Record(source, result, raw, context.GetTracEnvironment()?.Name);
                    return TracResponses.WriteErrorAsync(context, StatusCodes.Status403Forbidden, TracErrors.RemoteUserRefused, s_refusedBody);
                default:
                    // Empty or anonymous: not a user (the seeds' IIS fix); the next source may still have one.
                    continue;
            }
        }

        RequestFeatures.Set<ITracRemoteUserFeature>(context, original is null ? s_noValue : new TracRemoteUserFeature(null, original, originSource));
        if (PeekUser(context)?.Identity?.IsAuthenticated == true)
        {
            // An authenticated principal without a usable name is anonymous to Trac, and so to [Authorize]. A new
            // one each time: a shared principal could be changed by one request and seen by the next.
            context.User = new ClaimsPrincipal(new ClaimsIdentity());
        }

        return IsLoginPath(context.Request.Path) ? ChallengeAsync(context) : _next(context);
    }

    private Task AcceptAsync(HttpContext context, TracRemoteUserFeature feature)
    {
        RequestFeatures.Set<ITracRemoteUserFeature>(context, feature);
        var (name, source) = (feature.RemoteUser!, feature.Source);
        if (source == RemoteUserSource.Principal)
        {
            if (!string.Equals(context.User.Identity!.Name, name, StringComparison.Ordinal))
            {
                context.User = new TracRemoteUserPrincipal(context.User, name);
            }
        }
        else
        {
            var authenticationType = source == RemoteUserSource.Header
                ? HeaderAuthenticationType
                : RequestFeatures.ServerVariable(context, AuthTypeServerVariable) is { Length: > 0 } authType ? authType : ServerVariableAuthenticationType;
            RemoteUserAuthenticationFeature.SetUser(context, name, authenticationType);
        }

        return _next(context);
    }

    /// <summary>
    /// Returns the request's principal without making one: <see cref="DefaultHttpContext"/> creates an anonymous principal
    /// the first time <c>User</c> is read, which the stage does not need to find that nobody is authenticated.
    /// </summary>
    private static ClaimsPrincipal? PeekUser(HttpContext context) =>
        context is DefaultHttpContext ? RequestFeatures.Get<IHttpAuthenticationFeature>(context)?.User : context.User;

    // Reads the user header, removing it when it is not a source or the peer is not trusted, and removing look-alikes
    // in every case.
    private (string? Value, bool Repeated) TakeHeader(HttpContext context)
    {
        var headers = context.Request.Headers;
        if (MayHoldLookAlike(headers))
        {
            RemoveLookAlikes(headers);
        }

        if (!headers.TryGetValue(_settings.HeaderName, out var values))
        {
            return (null, false);
        }

        var peer = _settings.UsesHeader ? ConnectionPeer.Get(context) : null;
        if (!_settings.Proxies.IsTrusted(peer))
        {
            headers.Remove(_settings.HeaderName);
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                // Any client can send the header: Debug only, and the peer's text made only when it is written.
                RemoteUserLog.UntrustedUserHeaderRemoved(_logger, _settings.HeaderName, peer?.ToString() ?? "(none)");
            }

            return (null, false);
        }

        return (values.Count == 1 ? values[0] : string.Join(",", values.ToArray()), values.Count > 1);
    }

    // Asks for each look-alike spelling: going through every header would allocate an enumerator per request.
    private bool MayHoldLookAlike(IHeaderDictionary headers)
    {
        if (_settings.LookAlikeSpellings is not { } spellings)
        {
            return true;
        }

        foreach (var spelling in spellings)
        {
            if (headers.ContainsKey(spelling))
            {
                return true;
            }
        }

        return false;
    }

    private void RemoveLookAlikes(IHeaderDictionary headers)
    {
        List<string>? lookAlikes = null;
        foreach (var header in headers)
        {
            if (_settings.IsLookAlike(header.Key))
            {
                (lookAlikes ??= []).Add(header.Key);
            }
        }

        if (lookAlikes is not null)
        {
            foreach (var name in lookAlikes)
            {
                headers.Remove(name);
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    // The name is the client's: Debug only, escaped.
                    RemoteUserLog.LookAlikeHeaderRemoved(_logger, LogText.Escape(name));
                }
            }
        }
    }

    private bool IsLoginPath(PathString path)
    {
        foreach (var login in _settings.LoginPaths)
        {
            if (path.StartsWithSegments(login, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private async Task ChallengeAsync(HttpContext context)
    {
        if (_logins is not null && _logins.Find(context, out _) is not null)
        {
            // The project has a password file: its scheme challenges, whatever the host's default scheme is.
            await context.ChallengeAsync(_logins.Scheme);
            return;
        }

        var schemes = context.RequestServices?.GetService<IAuthenticationSchemeProvider>();
        if (schemes is null || await schemes.GetDefaultChallengeSchemeAsync() is null)
        {
            if (Interlocked.Exchange(ref _loginWarned, 1) == 0)
            {
                RemoteUserLog.LoginWithoutAuthentication(_logger, LogText.Escape(context.Request.Path.Value ?? string.Empty));
            }

            await TracResponses.WriteTracErrorAsync(context, TracErrors.LoginUnavailable, TracResponses.LoginUnavailable);
            return;
        }

        await context.ChallengeAsync();
    }
}
