using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Common;

namespace Trac.Hosting.Login;

/// <summary>
/// The password-file authentication scheme: checks Basic credentials against the project's htpasswd (or htdigest)
/// file and Digest answers against its htdigest file, and challenges with the project's realm. One instance serves
/// one request, and judges credentials only when the remote-user stage asks on a login path (tracd's rule; a host's
/// <c>UseAuthentication()</c> gets no result elsewhere). It implements <see cref="IAuthenticationHandler"/> itself
/// rather than deriving from <c>AuthenticationHandler</c>, which keeps its first result for the request: a call made
/// before the environment stage has chosen the project must not decide for the whole request.
/// </summary>
internal sealed class TracLoginHandler(TracLogins logins) : IAuthenticationHandler
{
    /// <summary>The longest user name or password accepted: SHA crypt's work grows with the square of the password.</summary>
    internal const int MaxCredentialLength = 1024;

    private static readonly byte[] s_unauthorizedBody = Encoding.UTF8.GetBytes("Unauthorized: log in with your user name and password.");
    private static readonly byte[] s_forbiddenBody = Encoding.UTF8.GetBytes("Forbidden.");
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private HttpContext _context = null!;
    private AuthenticationScheme _scheme = null!;
    private AuthenticateResult? _result;
    private string? _malformed;
    private bool _stale;
    private bool _throttled;

    private string? Project => _context.GetTracEnvironment()?.Name;

    public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context)
    {
        _scheme = scheme;
        _context = context;
        return Task.CompletedTask;
    }

    public Task<AuthenticateResult> AuthenticateAsync()
    {
        if (_result is null)
        {
            var realm = logins.Find(_context, out var undecided);
            if (undecided || !TracLogins.IsAsked(_context))
            {
                // Before the project is known, or not on a login path: not kept, the remote-user stage asks there.
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            _result = realm is null ? AuthenticateResult.NoResult() : _context.Request.Headers.Authorization switch
            {
                [] => AuthenticateResult.NoResult(),
                [{ } header] => Check(realm, header),
                _ => Malformed(string.Empty, "the request has more than one Authorization header"),
            };
        }

        return Task.FromResult(_result);
    }

    public Task ChallengeAsync(AuthenticationProperties? properties)
    {
        if (_context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }

        var realm = logins.Find(_context, out _);
        if (realm is null)
        {
            logins.WarnNoFile(_context.GetTracEnvironment()?.Name ?? LoginOptions.AnyProject);
            return TracResponses.WriteTracErrorAsync(_context, TracErrors.LoginUnavailable, TracResponses.LoginUnavailable);
        }

        if (_malformed is { } reason)
        {
            // A fixed text per reason: nothing of the client's header is repeated.
            return TracResponses.WriteErrorAsync(_context, StatusCodes.Status400BadRequest, TracErrors.CredentialsMalformed,
                Encoding.UTF8.GetBytes($"Bad Request: {reason}."));
        }

        var headers = _context.Response.Headers;
        if (_throttled)
        {
            var seconds = (long)Math.Ceiling(logins.Throttle.Period.TotalSeconds);
            headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return TracResponses.WriteErrorAsync(_context, StatusCodes.Status429TooManyRequests, TracErrors.TooManyFailedLogins,
                Encoding.UTF8.GetBytes($"Too Many Requests: too many failed logins; try again in {seconds} seconds."));
        }

        headers.WWWAuthenticate = realm.File.IsDigest
            ? $"Digest realm=\"{realm.Realm}\", qop=\"auth\", algorithm=MD5, nonce=\"{logins.Nonces.Create()}\"{(_stale ? ", stale=true" : string.Empty)}"
            : $"Basic realm=\"{realm.Realm}\", charset=\"UTF-8\"";
        return TracResponses.WriteErrorAsync(_context, StatusCodes.Status401Unauthorized, TracErrors.LoginRequired, s_unauthorizedBody);
    }

    public Task ForbidAsync(AuthenticationProperties? properties) =>
        _context.Response.HasStarted ? Task.CompletedTask :
        TracResponses.WriteErrorAsync(_context, StatusCodes.Status403Forbidden, TracErrors.Forbidden, s_forbiddenBody);

    private AuthenticateResult Check(LoginRealm realm, string header)
    {
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return CheckBasic(realm, header.AsSpan(6).Trim());
        }

        if (realm.File.IsDigest && header.StartsWith("Digest ", StringComparison.OrdinalIgnoreCase))
        {
            return CheckDigest(realm, header[7..]);
        }

        // Another scheme's credentials (a bearer token, say): not ours to judge.
        return AuthenticateResult.NoResult();
    }

    private AuthenticateResult CheckBasic(LoginRealm realm, ReadOnlySpan<char> encoded)
    {
        if (encoded.Length > MaxCredentialLength * 4)
        {
            return Malformed(string.Empty, $"the Basic credentials are longer than {MaxCredentialLength} characters each");
        }

        var bytes = new byte[(encoded.Length * 3 / 4) + 3];
        string credentials;
        try
        {
            credentials = Convert.TryFromBase64Chars(encoded, bytes, out var length) ? s_strictUtf8.GetString(bytes, 0, length) : string.Empty;
        }
        catch (DecoderFallbackException)
        {
            credentials = string.Empty;
        }

        var colon = credentials.IndexOf(':', StringComparison.Ordinal);
        if (colon < 1)
        {
            return Malformed(string.Empty, "the Basic credentials are not Base64 of UTF-8 user:password");
        }

        var (user, password) = (credentials[..colon], credentials[(colon + 1)..]);
        if (user.Length > MaxCredentialLength || password.Length > MaxCredentialLength)
        {
            return Malformed(string.Empty, $"the Basic credentials are longer than {MaxCredentialLength} characters each");
        }

        if (!_context.Request.IsHttps && _context.Connection.RemoteIpAddress is { } peer && !IPAddress.IsLoopback(peer))
        {
            logins.WarnPlainHttp(peer.ToString());
        }

        // A login verified a moment ago passes without hash work, also while guessers throttle its user.
        var key = realm.File.Path + "\n" + realm.Realm;
        if (logins.Verified?.Contains(key, user, password) == true)
        {
            return Succeed(user, "Basic");
        }

        if (!Begin(user))
        {
            return _result!;
        }

        var content = realm.File.Current;
        var verified = content switch
        {
            HtpasswdFile passwords => passwords.Verify(user, password),
            HtdigestFile digests => digests.Verify(user, realm.Realm, password),
            _ => false,
        };
        if (!verified)
        {
            return Fail(LoginResult.Failure, user, "unknown user or wrong password");
        }

        logins.Throttle.Succeeded(_context.Connection.RemoteIpAddress, user);
        if (ReferenceEquals(content, realm.File.Current))
        {
            // Not when the file changed during the check: its reload has just forgotten what was verified before.
            logins.Verified?.Add(key, user, password);
        }

        return Succeed(user, "Basic");
    }

    private AuthenticateResult CheckDigest(LoginRealm realm, string parameters)
    {
        if (parameters.Length > MaxCredentialLength * 8 || DigestResponse.Parse(parameters) is not { } response)
        {
            return Malformed(string.Empty, "the Digest answer lacks a parameter, repeats one, or is not MD5 with qop=auth and an 8-digit nc");
        }

        var user = response.User;
        if (!string.Equals(response.Realm, realm.Realm, StringComparison.Ordinal))
        {
            return Malformed(user, "the Digest answer is for another realm than this project's");
        }

        if (!string.Equals(response.Uri, RequestTarget(), StringComparison.Ordinal))
        {
            return Malformed(user, "the Digest answer is for another URI than this request's");
        }

        if (!Begin(user))
        {
            return _result!;
        }

        if (((HtdigestFile)realm.File.Current).KeyOf(user, realm.Realm) is not { } ha1 || !response.IsValid(ha1, _context.Request.Method))
        {
            return Fail(LoginResult.Failure, user, "unknown user or wrong Digest response");
        }

        switch (logins.Nonces.Check(response.Nonce, response.NonceCount))
        {
            case DigestNonceCheck.Valid:
                logins.Throttle.Succeeded(_context.Connection.RemoteIpAddress, user);
                return Succeed(user, "Digest");
            case DigestNonceCheck.Replayed:
                return Fail(LoginResult.Replayed, user, "the nonce count was used before (a replayed request)");
            default:
                // Expired, or signed by an earlier run of the host: the answer proves the password, so the client is
                // told to answer a fresh nonce without asking the user again.
                logins.Throttle.Succeeded(_context.Connection.RemoteIpAddress, user);
                _stale = true;
                return Refuse(LoginResult.Stale, user, "the nonce is stale");
        }
    }

    // Takes the attempt's throttle tokens; when there are none, sets the throttled result.
    private bool Begin(string user)
    {
        if (logins.Throttle.TryBegin(_context.Connection.RemoteIpAddress, user))
        {
            return true;
        }

        _throttled = true;
        _result = Refuse(LoginResult.Throttled, user, "too many failed logins");
        return false;
    }

    private AuthenticateResult Succeed(string user, string authenticationType)
    {
        logins.Metrics.Logins.Add(1, logins.Metrics.Tags(Project, new KeyValuePair<string, object?>(LoginResult.Tag, LoginResult.Success)));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user)], authenticationType);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), _scheme.Name));
    }

    // A failed attempt: its tokens stay taken.
    private AuthenticateResult Fail(string result, string user, string reason)
    {
        var address = _context.Connection.RemoteIpAddress;
        if (logins.Throttle.IsThrottled(address, user))
        {
            LoginLog.Throttled(logins.Logger, logins.Throttle.MaxFailures, Address(), LogText.Escape(user), logins.Throttle.Period);
        }

        return Refuse(result, user, reason);
    }

    private AuthenticateResult Malformed(string user, string reason)
    {
        _malformed = reason;
        return Refuse(LoginResult.Malformed, user, reason);
    }

    private AuthenticateResult Refuse(string result, string user, string reason)
    {
        logins.Metrics.Logins.Add(1, logins.Metrics.Tags(Project, new KeyValuePair<string, object?>(LoginResult.Tag, result)));
        if (logins.Logger.IsEnabled(LogLevel.Debug))
        {
            // Any client can cause it: Debug only, the name escaped, and made only when it is written.
            LoginLog.LoginFailed(logins.Logger, LogText.Escape(user), Address(), reason);
        }

        return AuthenticateResult.Fail(reason);
    }

    private string Address() => _context.Connection.RemoteIpAddress?.ToString() ?? "local";

    // What the client put on the request line: the Digest answer names it as its uri.
    private string RequestTarget() =>
        _context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } target ? target : _context.Request.GetEncodedPathAndQuery();
}
