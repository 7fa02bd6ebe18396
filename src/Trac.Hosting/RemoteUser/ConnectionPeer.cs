using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.RemoteUser;

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
