using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// Records the TCP peer of each request before any of the application's middleware runs, so the trust decision
/// for a proxy's user header is made on the real peer even after <c>UseForwardedHeaders</c> rewrote
/// <c>RemoteIpAddress</c> from a client-controlled <c>X-Forwarded-For</c>. Registered first among the startup
/// filters; does nothing until a remote-user stage that reads the header is built.
/// </summary>
internal sealed class ConnectionPeerStartupFilter(ConnectionPeerCapture capture) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            if (capture.Enabled)
            {
                ConnectionPeer.Set(context, context.Connection.RemoteIpAddress);
            }

            return nextMiddleware(context);
        });
        next(app);
    };
}
