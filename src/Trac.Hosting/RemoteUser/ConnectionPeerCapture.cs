using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.RemoteUser;

/// <summary>Whether the peer must be recorded: set when a stage that needs it is built.</summary>
internal sealed class ConnectionPeerCapture
{
    private volatile bool _enabled;

    public bool Enabled => _enabled;

    public void Enable() => _enabled = true;
}
