using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Trac.Hosting.Common;

namespace Trac.Hosting.Testing;

/// <summary>What request helpers and worker controls need of a host, whichever kind it is.</summary>
internal interface ITracTestTarget
{
    /// <summary>Gets the host's services (building the host if it is not built yet).</summary>
    IServiceProvider Services { get; }

    /// <summary>Gets the host's fake clock, or throws if it runs on another kind of clock.</summary>
    FakeTimeProvider Time { get; }

    /// <summary>
    /// Creates a client for the request helpers, for a host on Kestrel: it neither follows redirects nor keeps
    /// cookies, so a request sees exactly the response TestServer would give.
    /// </summary>
    HttpClient CreateRequestClient();
}
