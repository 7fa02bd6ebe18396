using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Common;

/// <summary>
/// What the stages of one Trac pipeline share while it is built: the application, the host's services, and what
/// each stage built for the stages after it (the environment catalog, the plugin sets, the worker pool), by type.
/// </summary>
internal sealed class TracPipelineContext(IApplicationBuilder app)
{
    private readonly Dictionary<Type, object> _products = [];

    public IApplicationBuilder App { get; } = app;

    public IServiceProvider Services => App.ApplicationServices;

    public TimeProvider TimeProvider => Services.GetRequiredService<TimeProvider>();

    public TracProcessEnvironment ProcessEnvironment => Services.GetRequiredService<TracProcessEnvironment>();

    public TracMetrics Metrics => Services.GetRequiredService<TracMetrics>();

    /// <summary>Gets what owns (and disposes with the host's services) what the stages build.</summary>
    public TracMarkerService Owner => Services.GetRequiredService<TracMarkerService>();

    public ILogger CreateLogger(string category) => (Services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger(category);

    /// <summary>Makes what a stage built available to the stages after it.</summary>
    public void Provide<T>(T product)
        where T : class => _products[typeof(T)] = product;

    /// <summary>Returns what an earlier stage built, or <see langword="null"/> when the pipeline has no such stage.</summary>
    public T? Find<T>()
        where T : class => _products.TryGetValue(typeof(T), out var product) ? (T)product : null;

    /// <summary>Returns what a required earlier stage built (the builder has checked the stage is there).</summary>
    public T Require<T>()
        where T : class => Find<T>() ?? throw new InvalidOperationException($"The Trac pipeline has no {typeof(T).Name}: a required stage is missing.");
}
