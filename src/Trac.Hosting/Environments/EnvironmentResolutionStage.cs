using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Trac.Hosting.Common;

namespace Trac.Hosting.Environments;

/// <summary>
/// Wires environment resolution: builds the catalog and the project index from the options, fails at start-up for a
/// configured environment that cannot be opened, and provides the <see cref="EnvironmentCatalog"/> to later stages.
/// </summary>
internal sealed class EnvironmentResolutionStage(EnvironmentOptions configured, Action<EnvironmentOptions>? configure) : ITracStage
{
    public TracStage Stage => TracStage.ResolveEnvironment;

    public IReadOnlyList<TracStage> Requires => [];

    public void Apply(TracPipelineContext context)
    {
        var options = configured.Clone();
        configure?.Invoke(options);
        var services = context.Services;
        var contentRoot = services.GetService<IHostEnvironment>()?.ContentRootPath ?? Directory.GetCurrentDirectory();
        var settings = EnvironmentSettings.Create(options, context.ProcessEnvironment.GetVariable, contentRoot);

        if (settings.ParentDirectory is { } parent && !Directory.Exists(parent))
        {
            throw new InvalidOperationException(
                $"The environment parent directory '{parent}' (Trac:Environment:ParentDirectory or TRAC_ENV_PARENT_DIR) does not exist. " +
                "Create it or correct the setting.");
        }

        var logger = context.CreateLogger("Trac.Hosting.Environments");
        var catalog = new EnvironmentCatalog(settings, context.TimeProvider, logger);
        context.Owner.Own(catalog);

        if (catalog.Single?.State.Error is { } error)
        {
            throw new InvalidOperationException(
                $"The Trac environment at '{catalog.Single.Path}' cannot be opened: {error}. " +
                "Fix the environment, or point Trac:Environment:Path (or TRAC_ENV) at a valid one.");
        }

        var index = new ProjectIndex(settings.IndexTemplate, catalog.Watchers, context.TimeProvider, settings.ReloadDelay, logger);
        context.Owner.Own(index);
        context.App.UseMiddleware<EnvironmentResolutionMiddleware>(catalog, index, logger, context.Metrics);
        context.Provide(catalog);
        context.Provide(settings);
    }
}
