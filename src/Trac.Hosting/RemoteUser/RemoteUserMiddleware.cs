using System.Globalization;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// The remote-user normalization stage: takes the user name from the configured sources, in order, brings it to
/// its canonical spelling, and makes <see cref="ITracRemoteUserFeature"/> and <c>HttpContext.User</c> agree on
/// it. Refused values end the request with a fixed 400 or 403 that never echoes them.
/// </summary>
internal sealed class RemoteUserMiddleware
{
    internal const string RemoteUserServerVariable = "REMOTE_USER";
    internal const string AuthTypeServerVariable = "AUTH_TYPE";
    internal const string ServerVariableAuthenticationType = "ServerVariable";
    internal const string HeaderAuthenticationType = "TrustedProxyHeader";
    internal const string LoginUnavailableMessage = "Authentication information not available. Please refer to the installation documentation.";

    private static readonly byte[] s_malformedBody = Encoding.UTF8.GetBytes("Bad Request: the remote user name is malformed.");
    private static readonly byte[] s_refusedBody = Encoding.UTF8.GetBytes("Forbidden: the remote user is not allowed.");

    private readonly RequestDelegate _next;
    private readonly RemoteUserSettings _settings;
    private readonly ILogger _logger;
    private int _loginWarned;

    public RemoteUserMiddleware(RequestDelegate next, RemoteUserSettings settings, ILogger logger)
    {
        _next = next;
        _settings = settings;
        _logger = logger;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var (headerValue, headerRepeated) = TakeHeader(context);

        string? original = null;
        RemoteUserSource? originSource = null;
        foreach (var source in _settings.Sources)
        {
            var raw = source switch
            {
                RemoteUserSource.Principal => context.User.Identity is { IsAuthenticated: true } identity ? identity.Name ?? string.Empty : null,
                RemoteUserSource.ServerVariable => context.GetServerVariable(RemoteUserServerVariable),
                _ => headerValue,
            };
            if (raw is null)
            {
                continue;
            }

            original ??= raw;
            originSource ??= source;
            var result = source == RemoteUserSource.Header && headerRepeated
                ? RemoteUserResult.Malformed("the header was sent more than once")
                : _settings.Normalizer.Normalize(raw);
            switch (result.Outcome)
            {
                case RemoteUserOutcome.User:
                    return AcceptAsync(context, source, raw, result.Name!);
                case RemoteUserOutcome.Malformed:
                    Log.RemoteUserMalformed(_logger, source, result.Reason!, Escape(raw));
                    return TracResponses.WriteAsync(context, StatusCodes.Status400BadRequest, "text/plain; charset=utf-8", s_malformedBody);
                case RemoteUserOutcome.Refused:
                    Log.RemoteUserRefused(_logger, source, result.Reason!, Escape(raw));
                    return TracResponses.WriteAsync(context, StatusCodes.Status403Forbidden, "text/plain; charset=utf-8", s_refusedBody);
                default:
                    // Empty or anonymous: not a user (the seeds' IIS fix); the next source may still have one.
                    continue;
            }
        }

        context.Features.Set<ITracRemoteUserFeature>(new TracRemoteUserFeature(null, original, originSource));
        if (context.User.Identity?.IsAuthenticated == true)
        {
            // An authenticated principal without a usable name is anonymous to Trac, and so to [Authorize]. A new
            // one each time: a shared principal could be changed by one request and seen by the next.
            context.User = new ClaimsPrincipal(new ClaimsIdentity());
        }

        return IsLoginPath(context.Request.Path) ? ChallengeAsync(context) : _next(context);
    }

    private Task AcceptAsync(HttpContext context, RemoteUserSource source, string raw, string name)
    {
        context.Features.Set<ITracRemoteUserFeature>(new TracRemoteUserFeature(name, raw, source));
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
                : context.GetServerVariable(AuthTypeServerVariable) is { Length: > 0 } authType ? authType : ServerVariableAuthenticationType;
            context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], authenticationType));
        }

        return _next(context);
    }

    // Reads the user header, removing it when it is not a source or the peer is not trusted, and removing look-alikes
    // in every case.
    private (string? Value, bool Repeated) TakeHeader(HttpContext context)
    {
        var headers = context.Request.Headers;
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
                Log.LookAlikeHeaderRemoved(_logger, name);
            }
        }

        if (!headers.TryGetValue(_settings.HeaderName, out var values))
        {
            return (null, false);
        }

        var peer = _settings.UsesHeader ? ConnectionPeer.Get(context) : null;
        if (!_settings.Proxies.IsTrusted(peer))
        {
            headers.Remove(_settings.HeaderName);
            Log.UntrustedUserHeaderRemoved(_logger, _settings.HeaderName, peer?.ToString() ?? "(none)");
            return (null, false);
        }

        return (values.Count == 1 ? values[0] : string.Join(",", values.ToArray()), values.Count > 1);
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
        var schemes = context.RequestServices?.GetService<IAuthenticationSchemeProvider>();
        if (schemes is null || await schemes.GetDefaultChallengeSchemeAsync() is null)
        {
            if (Interlocked.Exchange(ref _loginWarned, 1) == 0)
            {
                Log.LoginWithoutAuthentication(_logger, Escape(context.Request.Path.Value ?? string.Empty));
            }

            await TracResponses.WriteTracErrorAsync(context, LoginUnavailableMessage);
            return;
        }

        await context.ChallengeAsync();
    }

    /// <summary>Makes a client-supplied value safe for a log line: no control characters, bounded length.</summary>
    internal static string Escape(string value)
    {
        const int Limit = 300;
        var escaped = new StringBuilder(Math.Min(value.Length, Limit) + 16);
        foreach (var c in value.AsSpan(0, Math.Min(value.Length, Limit)))
        {
            if (char.IsControl(c) || char.IsSurrogate(c) || c is '"' or '\\' or '\u2028' or '\u2029' ||
                CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                escaped.Append(c);
            }
        }

        return value.Length > Limit ? escaped.Append("...").ToString() : escaped.ToString();
    }
}
