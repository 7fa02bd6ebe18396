using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Testing;
using Trac.Hosting.Common;

namespace Trac.Hosting.Benchmarks;

/// <summary>
/// The cost a request pays for the plugin cache once an environment's plugins are extracted (against the same
/// pipeline without the stage), and the time to extract a 20-plugin environment into an empty cache.
/// </summary>
[MemoryDiagnoser]
public class PluginCacheBenchmarks
{
    private TracTestDirectory _projects = null!;
    private ServiceProvider _withServices = null!;
    private ServiceProvider _withoutServices = null!;
    private RequestDelegate _withPluginCache = null!;
    private RequestDelegate _withoutPluginCache = null!;
    private DefaultHttpContext _context = null!;

    [GlobalSetup]
    public void Setup()
    {
        _projects = new TracTestDirectory("trac-bench-");
        TracPipelines.CreateEnvironmentWithPlugins(_projects, "alpha", 20);
        (_withPluginCache, _withServices) = TracPipelines.Build(_projects.Path, t => t.ResolveEnvironment().UsePluginCache());
        (_withoutPluginCache, _withoutServices) = TracPipelines.Build(_projects.Path, t => t.ResolveEnvironment());
        _context = new DefaultHttpContext();
        // Warm: the environment opened, its plugins extracted.
        Run(_withPluginCache).GetAwaiter().GetResult();
        Run(_withoutPluginCache).GetAwaiter().GetResult();
        var provider = _withServices.GetRequiredService<TracMarkerService>().Owned<Trac.Hosting.PluginCache.PluginSetProvider>().Single();
        var alpha = Path.Combine(_projects.Path, "alpha");
        if (!provider.TryGetState(alpha, provider.DefaultFor(alpha), out var state) || state.Current is not { Plugins.Count: 20, Errors.Count: 0 })
        {
            throw new InvalidOperationException("The warm-up did not extract the 20 plugins.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _withServices.Dispose();
        _withoutServices.Dispose();
        _projects.Dispose();
    }

    [Benchmark(Baseline = true, Description = "ResolveEnvironment only")]
    public Task EnvironmentOnly() => Run(_withoutPluginCache);

    [Benchmark(Description = "ResolveEnvironment + UsePluginCache, plugins extracted")]
    public Task WithPluginCache() => Run(_withPluginCache);

    private Task Run(RequestDelegate pipeline)
    {
        _context.Request.PathBase = PathString.Empty;
        _context.Request.Path = "/alpha/wiki/WikiStart";
        return pipeline(_context);
    }
}

/// <summary>Extracting a 20-plugin environment into an empty cache (hashing, validation, writing, renaming).</summary>
[MemoryDiagnoser]
[SimpleJob(invocationCount: 1, iterationCount: 15, warmupCount: 2)]
public class PluginExtractionBenchmarks
{
    private TracTestDirectory _projects = null!;
    private string[] _archives = [];
    private string _cache = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        _projects = new TracTestDirectory("trac-bench-");
        TracPipelines.CreateEnvironmentWithPlugins(_projects, "alpha", 20);
        _archives = Directory.GetFiles(Path.Combine(_projects.Path, "alpha", "plugins"), "*.zip");
        _cache = Path.Combine(_projects.Path, ".egg-cache");
    }

    [IterationSetup]
    public void EmptyCache()
    {
        if (Directory.Exists(_cache))
        {
            Directory.Delete(_cache, recursive: true);
        }

        Directory.CreateDirectory(_cache);
    }

    [GlobalCleanup]
    public void Cleanup() => _projects.Dispose();

    [Benchmark(Description = "Extract a 20-plugin environment, cold")]
    public async Task ExtractTwentyPluginsCold()
    {
        // A new extractor each time: no remembered hashes, as after a restart.
        var extractor = new PluginExtractor(new PluginArchiveLimits(10_000, 256L << 20, 100), null, TimeProvider.System, TimeSpan.FromMinutes(1), NullLogger.Instance);
        foreach (var archive in _archives)
        {
            await extractor.EnsureAsync(archive, _cache, CancellationToken.None);
        }
    }
}
