using Microsoft.AspNetCore.Builder;
using Trac.Hosting.Common;
using Trac.Hosting.Environments;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// Wires the plugin cache: its settings from the options and the environment settings, the extractor and the plugin
/// sets, every cache directory known at start-up prepared (so a bad one fails now, not on the first request), and
/// provides the <see cref="PluginSetProvider"/> to later stages.
/// </summary>
internal sealed class PluginCacheStage(PluginCacheOptions configured, Action<PluginCacheOptions>? configure) : ITracStage
{
    public TracStage Stage => TracStage.UsePluginCache;

    public IReadOnlyList<TracStage> Requires => [TracStage.ResolveEnvironment];

    public void Apply(TracPipelineContext context)
    {
        var options = configured.Clone();
        configure?.Invoke(options);
        var catalog = context.Require<EnvironmentCatalog>();
        var settings = PluginCacheSettings.Create(options, catalog.Settings, context.ProcessEnvironment.GetVariable);
        var logger = context.CreateLogger("Trac.Hosting.PluginCache");
        var extractor = new PluginExtractor(settings.Limits, settings.ConfigureExtractionPipeline, context.TimeProvider, settings.LockTimeout, logger, context.Metrics);
        var provider = new PluginSetProvider(settings, extractor, catalog, context.TimeProvider, logger);
        context.Owner.Own(provider);
        foreach (var directory in settings.KnownAtStartUp())
        {
            PluginCacheDirectory.Prepare(directory, settings.AllowInsecureDirectory, logger);
        }

        context.App.UseMiddleware<PluginCacheMiddleware>(provider);
        context.Provide(provider);
    }
}
