namespace Trac.Hosting.Workers;

/// <summary>
/// The Python program a Trac worker process runs (<c>python -c</c>): Trac's own FastCGI server
/// (<c>trac.web._fcgi.WSGIServer</c> around <c>trac.web.main.dispatch_request</c>, as the FastCGI guide's
/// <c>trac.fcgi</c> runs it), listening on the address in its first argument (a Unix socket's path, or
/// <c>tcp:host:port</c>, port 0 for any free one), which announces where it listens on standard output, and which
/// exits when its standard input closes: the host holds the other end, so a host that dies, even killed, takes its
/// Trac processes with it.
/// </summary>
internal static class TracLauncher
{
    /// <summary>The line prefix with which the process announces the address it listens on.</summary>
    public const string ListeningPrefix = "trac-fastcgi-listening ";

    public const string Script = """
        import os, sys, threading

        def watch_host():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            finally:
                os._exit(0)

        threading.Thread(target=watch_host, daemon=True).start()

        from trac.web._fcgi import WSGIServer
        from trac.web.main import dispatch_request

        address = sys.argv[1]
        if address.startswith('tcp:'):
            host, _, port = address[4:].rpartition(':')
            address = (host, int(port))

        class Server(WSGIServer):
            def _setupSocket(self):
                sock = super()._setupSocket()
                name = sock.getsockname()
                where = name if isinstance(name, str) else '%s:%d' % (name[0], name[1])
                print('trac-fastcgi-listening ' + where, flush=True)
                return sock

        Server(dispatch_request, bindAddress=address, umask=0o077).run()
        """;
}
