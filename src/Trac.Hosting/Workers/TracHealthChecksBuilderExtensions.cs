using Microsoft.Extensions.Diagnostics.HealthChecks;
using Trac.Hosting.Workers;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds the Trac worker pool's health check.
/// </summary>
public static class TracHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a health check reporting the worker pool: <c>Unhealthy</c> while process mode replaces the process,
    /// <c>Degraded</c> while a project's workers cannot start (circuit breaker open), <c>Healthy</c> otherwise.
    /// </summary>
    /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="name">The check's name.</param>
    /// <param name="tags">Tags to filter the check by, for example <c>"ready"</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static IHealthChecksBuilder AddTracHealthChecks(this IHealthChecksBuilder builder, string name = "trac", IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddCheck<TracHealthCheck>(name, failureStatus: null, tags ?? []);
    }
}
