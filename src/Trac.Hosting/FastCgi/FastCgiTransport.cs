namespace Trac.Hosting.FastCgi;

/// <summary>How the host reaches a FastCGI worker process.</summary>
public enum FastCgiTransport
{
    /// <summary>
    /// A Unix domain socket in a private directory (mode <c>0700</c>) made for the process: no other user can connect
    /// to it. The default, except on Windows.
    /// </summary>
    UnixSocket,

    /// <summary>
    /// A TCP port on the loopback address (<c>127.0.0.1</c>), for Windows, where Trac's FastCGI server cannot listen on a
    /// Unix socket. Any local user can connect to a loopback port: prefer <see cref="UnixSocket"/> where it works.
    /// </summary>
    Tcp,
}
