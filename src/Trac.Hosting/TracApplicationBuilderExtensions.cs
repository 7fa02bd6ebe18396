using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Trac.Hosting.Environments;
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

        // Built on a branch, so that requests under Trac:Environment:HostPaths can go around it.
        var branch = app.New();
        var builder = new TracPipelineBuilder(branch);
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
        app.Use(next =>
        {
            branch.Run(next);
            var trac = branch.Build();
            var environment = builder.Environment;
            if (builder.HasDispatch)
            {
                WarnAboutUnreachableEndpoints(app, environment);
            }

            return environment is not { HostPaths.Length: > 0 }
                ? trac
                : context => environment.IsHostPath(context.Request.Path) ? next(context) : trac(context);
        });

        if (continues && app.Properties.ContainsKey(GlobalEndpointRouteBuilderKey))
        {
            // A WebApplication would otherwise put routing first, in front of the PathBase rewrite.
            app.UseRouting();
        }

        return app;
    }

    // Endpoints the host mapped (they are all mapped by the time the pipeline is built) that a terminal Dispatch hides.
    private static void WarnAboutUnreachableEndpoints(IApplicationBuilder app, EnvironmentSettings? environment)
    {
        if (!app.Properties.TryGetValue(GlobalEndpointRouteBuilderKey, out var value) || value is not IEndpointRouteBuilder routes)
        {
            return;
        }

        var unreachable = routes.DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Where(e => environment?.IsHostPath(LiteralPrefix(e.RoutePattern)) != true)
            .Select(e => e.RoutePattern.RawText ?? e.DisplayName ?? "?")
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (unreachable.Count > 0)
        {
            var logger = app.ApplicationServices.GetService<ILoggerFactory>()?.CreateLogger("Trac.Hosting") ?? NullLogger.Instance;
            var hostPaths = environment is { HostPaths.Length: > 0 } e ? string.Join(", ", e.HostPaths.Select(p => p.Value)) : "none";
            EnvironmentLog.UnreachableEndpoints(logger, hostPaths, string.Join(", ", unreachable));
        }
    }

    // The leading literal segments of a route: /healthz/{check} gives /healthz.
    private static PathString LiteralPrefix(RoutePattern pattern)
    {
        var prefix = PathString.Empty;
        foreach (var segment in pattern.PathSegments)
        {
            if (segment.Parts is not [RoutePatternLiteralPart literal])
            {
                break;
            }

            prefix = prefix.Add("/" + literal.Content);
        }

        return prefix;
    }
}
