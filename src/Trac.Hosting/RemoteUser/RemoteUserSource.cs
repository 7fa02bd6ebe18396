namespace Trac.Hosting.RemoteUser;

/// <summary>Where a remote user name can come from.</summary>
public enum RemoteUserSource
{
    /// <summary>The authenticated principal, <c>HttpContext.User</c> (Negotiate/Windows, a cookie, Basic, ...).</summary>
    Principal,

    /// <summary>The server variable <c>REMOTE_USER</c> (IIS in-process, HTTP.sys); never present on Kestrel.</summary>
    ServerVariable,

    /// <summary>A header set by a trusted reverse proxy (<see cref="RemoteUserOptions.HeaderName"/>).</summary>
    Header,
}
