using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting;
using Trac.Hosting.Common;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// Adds the Trac hosting pipeline to an application.
/// </summary>
public static class TracApplicationBuilderExtensions
{
    private const string UseTracKey = "Trac.Hosting.UseTrac";
    private const string EndpointRouteBuilderKey = "__EndpointRouteBuilder";
    private const string GlobalEndpointRouteBuilderKey = "__GlobalEndpointRouteBuilder";

    /// <summary>
    /// Adds every Trac stage whose options are configured, in order: environment resolution always; remote-user
    /// normalization, the plugin cache and worker recycling when their section (<c>Trac:RemoteUser</c>,
    /// <c>Trac:PluginCache</c>, <c>Trac:Workers</c>) is present or their options were set in code. Requests then continue to the rest of the pipeline.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The application builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="app"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException"><c>AddTrac</c> was not called, <c>UseTrac</c> was already called, or the options are invalid.</exception>
    public static IApplicationBuilder UseTrac(this IApplicationBuilder app) => app.UseTrac(trac =>
    {
        trac.ResolveEnvironment();
        if (trac.IsRemoteUserConfigured)
        {
            trac.NormalizeRemoteUser();
        }

        if (trac.IsPluginCacheConfigured)
        {
            trac.UsePluginCache();
        }

        if (trac.IsWorkersConfigured)
        {
            trac.RecycleWorkers();
        }
    });

    /// <summary>
    /// Adds the Trac pipeline described by <paramref name="configure"/>, for example
    /// <c>app.UseTrac(trac =&gt; trac.ResolveEnvironment().Dispatch(MyApp.HandleAsync))</c>.
    /// </summary>
    /// <remarks>
    /// Without <c>Dispatch</c>, requests continue to the rest of the pipeline with the environment-relative path.
    /// On a <c>WebApplication</c>, <c>UseTrac</c> then adds <c>UseRouting()</c> right after itself, so endpoints
    /// mapped with <c>app.MapGet(...)</c> match the path without the environment name. Calling
    /// <c>UseRouting()</c> before <c>UseTrac</c> is refused for that reason.
    /// </remarks>
    /// <param name="app">The application builder.</param>
    /// <param name="configure">Describes the pipeline.</param>
    /// <returns>The application builder, for chaining.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException"><c>AddTrac</c> was not called, <c>UseTrac</c> was already called,
    /// <c>UseRouting</c> was called first, a stage is out of order or misconfigured, or an environment configured
    /// at start-up cannot be opened. The message says which and how to fix it.</exception>
    public static IApplicationBuilder UseTrac(this IApplicationBuilder app, Action<TracPipelineBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(configure);

        if (app.ApplicationServices.GetService<TracMarkerService>() is null)
        {
            throw new InvalidOperationException(
                "Unable to find the Trac services. Call builder.Services.AddTrac(...) when configuring services, before app.UseTrac(...).");
        }

        if (app.Properties.ContainsKey(UseTracKey))
        {
            throw new InvalidOperationException(
                "UseTrac() was already called on this application. Describe the whole Trac pipeline in one UseTrac(...) call.");
        }

        var builder = new TracPipelineBuilder(app);
        configure(builder);

        var continues = !builder.HasDispatch;
        if (continues && app.Properties.ContainsKey(EndpointRouteBuilderKey))
        {
            throw new InvalidOperationException(
                "UseRouting() was called before UseTrac(), so endpoints would be matched against the path that still holds the " +
                "environment name. Call app.UseTrac(...) before app.UseRouting(), or drop the UseRouting() call: UseTrac adds it.");
        }

        builder.Build();
        app.Properties[UseTracKey] = true;

        if (continues && app.Properties.ContainsKey(GlobalEndpointRouteBuilderKey))
        {
            // A WebApplication would otherwise put routing first, in front of the PathBase rewrite.
            app.UseRouting();
        }

        return app;
    }
}
