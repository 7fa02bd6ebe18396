namespace Trac.Hosting.Login;

/// <summary>The values of the <c>trac.login.result</c> tag of the <c>trac.login.attempts</c> counter.</summary>
internal static class LoginResult
{
    public const string Tag = "trac.login.result";

    /// <summary>The user name and password (or Digest response) were right.</summary>
    public const string Success = "success";

    /// <summary>Unknown user, wrong password or wrong Digest response.</summary>
    public const string Failure = "failure";

    /// <summary>Refused before any check: too many failures from the address or for the user.</summary>
    public const string Throttled = "throttled";

    /// <summary>A right Digest response with an expired nonce: challenged again with <c>stale=true</c>.</summary>
    public const string Stale = "stale";

    /// <summary>A Digest nonce count used before: a replayed request.</summary>
    public const string Replayed = "replayed";

    /// <summary>Credentials that cannot be read: bad Base64 or UTF-8, a Digest answer missing parameters, another realm or URI.</summary>
    public const string Malformed = "malformed";
}
