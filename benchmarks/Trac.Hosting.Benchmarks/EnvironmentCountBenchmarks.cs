using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Benchmarks;

/// <summary>
/// Environment resolution for a known environment in a parent directory of 10 and of 10,000 environments: the
/// lookup must not depend on how many there are.
/// </summary>
[MemoryDiagnoser]
public class EnvironmentCountBenchmarks
{
    private TracTestDirectory _projects = null!;
    private ServiceProvider _services = null!;
    private RequestDelegate _pipeline = null!;
    private DefaultHttpContext _context = null!;
    private string _path = string.Empty;

    [Params(10, 10_000)]
    public int Environments { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _projects = new TracTestDirectory("trac-bench-");
        TracPipelines.CreateEnvironments(_projects.Path, Environments);
        // The one in the middle of the listing.
        _path = $"/p{Environments / 2:D4}/wiki/WikiStart";
        (_pipeline, _services) = TracPipelines.Build(_projects.Path, t => t.ResolveEnvironment());
        _context = new DefaultHttpContext();
        Resolve().GetAwaiter().GetResult();
        if (_context.Response.StatusCode != StatusCodes.Status200OK)
        {
            throw new InvalidOperationException($"The warm-up request failed with {_context.Response.StatusCode}.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _services.Dispose();
        _projects.Dispose();
    }

    [Benchmark(Description = "ResolveEnvironment, known environment")]
    public Task Resolve()
    {
        _context.Request.PathBase = PathString.Empty;
        _context.Request.Path = _path;
        return _pipeline(_context);
    }
}
