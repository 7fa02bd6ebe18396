using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Support;

/// <summary>The health report of a test host that registered <c>AddTracHealthChecks()</c>.</summary>
internal static class HostHealth
{
    public static Task<HealthReport> CheckHealthAsync(this TracTestHost host) =>
        host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
}
