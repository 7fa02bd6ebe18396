using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Http.Features;
using Trac.Hosting.Common;

namespace Trac.Hosting.Login;

/// <summary>
/// The password-file authentication scheme: checks Basic credentials against the project's htpasswd (or htdigest)
/// file and Digest answers against its htdigest file, and challenges with the project's realm. One instance serves
/// one request. It implements <see cref="IAuthenticationHandler"/> itself rather than deriving from
/// <c>AuthenticationHandler</c>, which keeps its first result for the request: a call made before the environment
/// stage has chosen the project (a host's <c>UseAuthentication()</c> first) must not decide for the whole request.
/// </summary>
internal sealed class TracLoginHandler(TracLogins logins) : IAuthenticationHandler
{
    private static readonly byte[] s_unauthorizedBody = Encoding.UTF8.GetBytes("Unauthorized: log in with your user name and password.");
    private static readonly byte[] s_forbiddenBody = Encoding.UTF8.GetBytes("Forbidden.");
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private HttpContext _context = null!;
    private AuthenticationScheme _scheme = null!;
    private AuthenticateResult? _result;
    private bool _stale;
    private bool _throttled;

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
            if (undecided)
            {
                // Asked before the project is known: not kept, the remote-user stage asks again.
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            _result = realm is null || _context.Request.Headers.Authorization is not [{ } header] ? AuthenticateResult.NoResult() : Check(realm, header);
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
            return TracResponses.WriteTracErrorAsync(_context, TracResponses.LoginUnavailable);
        }

        var headers = _context.Response.Headers;
        if (_throttled)
        {
            var seconds = (long)Math.Ceiling(logins.Throttle.Period.TotalSeconds);
            headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return TracResponses.WriteAsync(_context, StatusCodes.Status429TooManyRequests, "text/plain; charset=utf-8",
                Encoding.UTF8.GetBytes($"Too Many Requests: too many failed logins; try again in {seconds} seconds."));
        }

        headers.WWWAuthenticate = realm.File.IsDigest
            ? $"Digest realm=\"{realm.Realm}\", qop=\"auth\", algorithm=MD5, nonce=\"{logins.Nonces.Create()}\"{(_stale ? ", stale=true" : string.Empty)}"
            : $"Basic realm=\"{realm.Realm}\", charset=\"UTF-8\"";
        return TracResponses.WriteAsync(_context, StatusCodes.Status401Unauthorized, "text/plain; charset=utf-8", s_unauthorizedBody);
    }

    public Task ForbidAsync(AuthenticationProperties? properties) =>
        _context.Response.HasStarted ? Task.CompletedTask :
        TracResponses.WriteAsync(_context, StatusCodes.Status403Forbidden, "text/plain; charset=utf-8", s_forbiddenBody);

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
            return Refuse(LoginResult.Malformed, string.Empty, "the Basic credentials are not Base64 of UTF-8 user:password");
        }

        var (user, password) = (credentials[..colon], credentials[(colon + 1)..]);
        var address = Address();
        if (!_context.Request.IsHttps && _context.Connection.RemoteIpAddress is { } peer && !IPAddress.IsLoopback(peer))
        {
            logins.WarnPlainHttp(address);
        }

        if (logins.Throttle.IsThrottled(address, user))
        {
            _throttled = true;
            return Refuse(LoginResult.Throttled, user, "too many failed logins");
        }

        var key = realm.File.Path + "\n" + realm.Realm;
        if (logins.Verified?.Contains(key, user, password) == true)
        {
            return Succeed(user, "Basic");
        }

        var verified = realm.File.Current switch
        {
            HtpasswdFile passwords => passwords.Verify(user, password),
            HtdigestFile digests => digests.Verify(user, realm.Realm, password),
            _ => false,
        };
        if (!verified)
        {
            return Fail(LoginResult.Failure, user, address, "unknown user or wrong password");
        }

        logins.Verified?.Add(key, user, password);
        return Succeed(user, "Basic");
    }

    private AuthenticateResult CheckDigest(LoginRealm realm, string parameters)
    {
        if (DigestResponse.Parse(parameters) is not { } response)
        {
            return Refuse(LoginResult.Malformed, string.Empty, "the Digest answer lacks a parameter, or is not MD5 with qop=auth");
        }

        var user = response.User;
        if (!string.Equals(response.Realm, realm.Realm, StringComparison.Ordinal) || !string.Equals(response.Uri, RequestTarget(), StringComparison.Ordinal))
        {
            return Refuse(LoginResult.Malformed, user, "the Digest answer is for another realm or URI");
        }

        var address = Address();
        if (logins.Throttle.IsThrottled(address, user))
        {
            _throttled = true;
            return Refuse(LoginResult.Throttled, user, "too many failed logins");
        }

        if (((HtdigestFile)realm.File.Current).KeyOf(user, realm.Realm) is not { } ha1 || !response.IsValid(ha1, _context.Request.Method))
        {
            return Fail(LoginResult.Failure, user, address, "unknown user or wrong Digest response");
        }

        switch (logins.Nonces.Check(response.Nonce, response.NonceCount))
        {
            case DigestNonceCheck.Valid:
                return Succeed(user, "Digest");
            case DigestNonceCheck.Replayed:
                return Fail(LoginResult.Replayed, user, address, "the nonce count was used before (a replayed request)");
            default:
                // Expired, or signed by an earlier run of the host: the answer proves the password, so the client is
                // told to answer a fresh nonce without asking the user again.
                _stale = true;
                return Refuse(LoginResult.Stale, user, "the nonce is stale");
        }
    }

    private AuthenticateResult Succeed(string user, string authenticationType)
    {
        logins.Metrics.Logins.Add(1, new KeyValuePair<string, object?>(LoginResult.Tag, LoginResult.Success));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user)], authenticationType);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), _scheme.Name));
    }

    // A failure that counts against the address and the user.
    private AuthenticateResult Fail(string result, string user, string address, string reason)
    {
        if (logins.Throttle.Failed(address, user))
        {
            LoginLog.Throttled(logins.Logger, logins.Throttle.MaxFailures, address, LogText.Escape(user), logins.Throttle.Period);
        }

        return Refuse(result, user, reason);
    }

    private AuthenticateResult Refuse(string result, string user, string reason)
    {
        logins.Metrics.Logins.Add(1, new KeyValuePair<string, object?>(LoginResult.Tag, result));
        LoginLog.LoginFailed(logins.Logger, LogText.Escape(user), Address(), reason);
        return AuthenticateResult.Fail(reason);
    }

    private string Address() => _context.Connection.RemoteIpAddress?.ToString() ?? "local";

    // What the client put on the request line: the Digest answer names it as its uri.
    private string RequestTarget() =>
        _context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } target ? target : _context.Request.GetEncodedPathAndQuery();
}
