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

/// <summary>Whether the peer must be recorded: set when a stage that needs it is built.</summary>
internal sealed class ConnectionPeerCapture
{
    private volatile bool _enabled;

    public bool Enabled => _enabled;

    public void Enable() => _enabled = true;
}

/// <summary>The recorded TCP peer of a request, kept in the feature collection under a private key.</summary>
internal static class ConnectionPeer
{
    public static void Set(HttpContext context, IPAddress? peer)
    {
        // Keyed by this type, valued by the address itself: no wrapper object per request. A connection without an
        // IP peer (a Unix socket) records nothing, and is never trusted.
        if (peer is not null)
        {
            context.Features[typeof(ConnectionPeer)] = peer;
        }
    }

    /// <summary>
    /// Gets the peer recorded at the start of the pipeline, or <see langword="null"/> (never trusted) when none was:
    /// falling back to <c>RemoteIpAddress</c> could trust an address taken from <c>X-Forwarded-For</c>.
    /// </summary>
    public static IPAddress? Get(HttpContext context) => context.Features[typeof(ConnectionPeer)] as IPAddress;
}
