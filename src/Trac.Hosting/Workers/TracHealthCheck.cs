using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Trac.Hosting.Workers;

/// <summary>
/// Reports the worker pool: unhealthy while process mode is replacing the process (so a load balancer drains it),
/// degraded while the workers of <see cref="WorkerOptions.Preload"/> are starting or a project's start circuit breaker
/// is open, healthy otherwise.
/// </summary>
internal sealed class TracHealthCheck(WorkerPoolAccessor accessor) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (accessor.Current is not { } pool)
        {
            return Task.FromResult(HealthCheckResult.Healthy("No worker pool in the Trac pipeline."));
        }

        var workers = pool.Workers;
        var breakers = pool.OpenBreakers;
        var data = new Dictionary<string, object>
        {
            ["mode"] = pool.Mode.ToString(),
            ["serving"] = workers.Count(w => w.State == TracWorkerState.Serving),
            ["draining"] = workers.Count(w => w.State == TracWorkerState.Draining),
            ["openBreakers"] = breakers,
        };
        var preloading = pool.Preloading;
        if (preloading is not null)
        {
            data["preloading"] = preloading;
        }

        if (pool.IsProcessRetiring)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The process is being replaced (worker recycling, process mode).", data: data));
        }

        if (preloading is not null)
        {
            return Task.FromResult(HealthCheckResult.Degraded(
                $"Starting the workers of Trac:Workers:Preload: {(preloading.Count == 0 ? "finding the projects" : string.Join(", ", preloading))}.", data: data));
        }

        return Task.FromResult(breakers.Count > 0
            ? HealthCheckResult.Degraded($"Workers cannot start for {breakers.Count} project(s): {string.Join(", ", breakers)}.", data: data)
            : HealthCheckResult.Healthy("Workers are serving.", data));
    }
}
