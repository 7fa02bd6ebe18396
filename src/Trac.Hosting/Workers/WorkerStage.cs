using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Trac.Hosting.Common;
using Trac.Hosting.Environments;
using Trac.Hosting.PluginCache;

namespace Trac.Hosting.Workers;

/// <summary>
/// Wires worker recycling: its settings from the options (checked once), the pool (with the plugin cache stage's
/// sets, when the pipeline has one), the host's <see cref="IWorkerPool"/>, and the middleware; provides the
/// <see cref="WorkerPool"/> to the dispatch stage.
/// </summary>
internal sealed class WorkerStage(WorkerOptions configured, Action<WorkerOptions>? configure) : ITracStage
{
    public TracStage Stage => TracStage.RecycleWorkers;

    public IReadOnlyList<TracStage> Requires => [TracStage.ResolveEnvironment];

    /// <summary>Registers what the stage needs from the host's services (called by <c>AddTrac</c>).</summary>
    public static void AddServices(IServiceCollection services)
    {
        services.AddSingleton<WorkerPoolAccessor>();
        services.AddSingleton<IWorkerPool>(sp => sp.GetRequiredService<WorkerPoolAccessor>());
    }

    public void Apply(TracPipelineContext context)
    {
        var options = configured.Clone();
        configure?.Invoke(options);
        var services = context.Services;
        var settings = WorkerSettings.Create(options, services.GetService<WorkerJitter>());
        var pool = new WorkerPool(
            settings, services, context.Require<EnvironmentCatalog>(), context.Find<PluginSetProvider>(), context.TimeProvider,
            context.CreateLogger("Trac.Hosting.Workers"), context.Metrics);
        context.Owner.Own(pool);
        services.GetRequiredService<WorkerPoolAccessor>().Set(pool);
        context.App.UseMiddleware<WorkerMiddleware>(pool, context.Metrics);
        context.Provide(pool);
        if (settings.Preload.Count > 0)
        {
            pool.PreloadWhenStarted(services.GetService<IHostApplicationLifetime>());
        }
    }
}
