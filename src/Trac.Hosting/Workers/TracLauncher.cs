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

    /// <summary>The CGI variable that marks the host's warm-up request (no client header can become it: they all start with <c>HTTP_</c>).</summary>
    public const string WarmUpVariable = "trac_hosting.warm_up";

    public const string Script = """
        import os, sys, threading, traceback

        def watch_host():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            finally:
                os._exit(0)

        threading.Thread(target=watch_host, daemon=True).start()

        from trac.env import open_environment
        from trac.web._fcgi import WSGIServer
        from trac.web.main import dispatch_request

        def application(environ, start_response):
            if environ.get('trac_hosting.warm_up') != '1':
                return dispatch_request(environ, start_response)
            path = environ.get('trac.env_path')
            if not path:
                # A process for every project: each opens on its first request, as under mod_wsgi.
                start_response('200 OK', [('Content-Type', 'text/plain')])
                return [b'ready']
            try:
                return dispatch_request(environ, start_response)
            finally:
                # The warm-up's URL must not become the links of Trac's notifications: the first real request sets them.
                env = open_environment(path, use_cache=True)
                del env.abs_href
                del env.href

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

            def error(self, req):
                # The traceback goes to the log (standard error), never to the client.
                traceback.print_exc(file=sys.stderr)
                sys.stderr.flush()
                req.stdout.write(b'Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
                                 b'Internal Server Error: the server log has the details.')

        Server(application, bindAddress=address, umask=0o077).run()
        """;
}
