using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Benchmarks;

/// <summary>
/// What each stage adds to a warm request for a known environment, stage by stage, up to the full pipeline of the load
/// run: a parent directory of 1,000 environments, the trusted user header from 127.0.0.1, a plugin cache (the served
/// environment has one plugin), and workers
/// (without recycling, then with <c>MaxRequests=500</c>, whose recycles are paid for by the requests that trigger them).
/// Every pipeline ends with a dispatch that does nothing, so the differences are the stages' own.
/// </summary>
[MemoryDiagnoser]
public class StageBenchmarks
{
    private const string RequestPath = "/alpha/wiki/WikiStart";

    private readonly List<ServiceProvider> _services = [];
    private TracTestDirectory _projects = null!;
    private RequestDelegate _dispatchOnly = null!;
    private RequestDelegate _environment = null!;
    private RequestDelegate _remoteUser = null!;
    private RequestDelegate _pluginCache = null!;
    private RequestDelegate _workers = null!;
    private RequestDelegate _recycling = null!;
    private RequestDelegate _listened = null!;
    private MeterListener _listener = null!;
    private long _measured;
    private DefaultHttpContext _context = null!;
    private DefaultHttpContext _dualStackContext = null!;

    [GlobalSetup]
    public void Setup()
    {
        _projects = new TracTestDirectory("trac-bench-");
        TracPipelines.CreateEnvironments(_projects.Path, 999);
        // A plugin of templates and static files: no assembly to load, so its workers make no load context.
        _projects.CreateEnvironment("alpha", e => e.WithPlugin("Theme", ("templates/site.html", "<html></html>"), ("htdocs/site.css", "body { }")));
        _dispatchOnly = static _ => Task.CompletedTask;
        _environment = Build(t => t.ResolveEnvironment());
        _remoteUser = Build(t => t.ResolveEnvironment().NormalizeRemoteUser(TracPipelines.TrustLoopback));
        _pluginCache = Build(t => t.ResolveEnvironment().NormalizeRemoteUser(TracPipelines.TrustLoopback).UsePluginCache());
        _workers = Build(t => t.ResolveEnvironment().NormalizeRemoteUser(TracPipelines.TrustLoopback).UsePluginCache()
            .RecycleWorkers().Dispatch<NullApplication>());
        _recycling = Build(t => t.ResolveEnvironment().NormalizeRemoteUser(TracPipelines.TrustLoopback).UsePluginCache()
            .RecycleWorkers(o => o.MaxRequests = 500).Dispatch<NullApplication>());
        // The same as _workers, with trac.project on and its meter listened to, as an exporter listens (the callback
        // adds up, as an aggregation does): what telemetry costs a request when it is collected.
        (_listened, var listenedServices) = TracPipelines.Build(
            _projects.Path,
            t => t.ResolveEnvironment().NormalizeRemoteUser(TracPipelines.TrustLoopback).UsePluginCache().RecycleWorkers().Dispatch<NullApplication>(),
            o => o.Telemetry.ProjectAttribute = true);
        _services.Add(listenedServices);
        var meter = listenedServices.GetRequiredService<TracMetrics>().Requests.Meter;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter == meter)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) => _measured += value + tags.Length);
        _listener.Start();
        _context = TracPipelines.CreateContext();
        _dualStackContext = TracPipelines.CreateContext(System.Net.IPAddress.Loopback.MapToIPv6());
        // Warm: the environment opened, its plugin extracted, its workers started.
        Run(_environment).GetAwaiter().GetResult();
        foreach (var pipeline in new[] { _remoteUser, _pluginCache, _workers, _recycling, _listened })
        {
            Run(pipeline).GetAwaiter().GetResult();
            if (_context.Response.StatusCode != StatusCodes.Status200OK || _context.GetRemoteUser() != "admin")
            {
                throw new InvalidOperationException($"The warm-up request failed: {_context.Response.StatusCode}, user {_context.GetRemoteUser()}.");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener.Dispose();
        foreach (var services in _services)
        {
            services.Dispose();
        }

        _projects.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Dispatch only (no UseTrac)")]
    public Task DispatchOnly() => Run(_dispatchOnly);

    [Benchmark(Description = "ResolveEnvironment")]
    public Task Environment() => Run(_environment);

    [Benchmark(Description = "+ NormalizeRemoteUser (trusted header)")]
    public Task RemoteUser() => Run(_remoteUser);

    [Benchmark(Description = "+ NormalizeRemoteUser, peer ::ffff:127.0.0.1 (dual-stack listener)")]
    public Task RemoteUserDualStack()
    {
        TracPipelines.NextRequest(_dualStackContext, RequestPath);
        return _remoteUser(_dualStackContext);
    }

    [Benchmark(Description = "+ UsePluginCache")]
    public Task PluginCache() => Run(_pluginCache);

    [Benchmark(Description = "+ RecycleWorkers, no recycling")]
    public Task Workers() => Run(_workers);

    [Benchmark(Description = "+ RecycleWorkers, no recycling, meter listened, trac.project on")]
    public Task Listened() => Run(_listened);

    [Benchmark(Description = "+ RecycleWorkers, MaxRequests=500")]
    public Task Recycling() => Run(_recycling);

    [Benchmark(Description = "+ RecycleWorkers, MaxRequests=500, no plugins")]
    public Task RecyclingNoPlugins()
    {
        TracPipelines.NextRequest(_context, "/p0001/wiki/WikiStart");
        return _recycling(_context);
    }

    private RequestDelegate Build(Action<TracPipelineBuilder> stages)
    {
        var (pipeline, services) = TracPipelines.Build(_projects.Path, stages);
        _services.Add(services);
        return pipeline;
    }

    private Task Run(RequestDelegate pipeline)
    {
        TracPipelines.NextRequest(_context, RequestPath);
        return pipeline(_context);
    }

    /// <summary>A worker's application that answers nothing, like the other pipelines' dispatch.</summary>
    internal sealed class NullApplication : ITracApplication
    {
        public Task DispatchAsync(HttpContext context) => Task.CompletedTask;
    }
}
