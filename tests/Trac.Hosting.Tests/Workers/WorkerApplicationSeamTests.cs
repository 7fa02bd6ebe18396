using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Tests.Support;
using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>
/// The seam a second kind of worker plugs into: an application that can end on its own and report its own memory,
/// the jitter pinned like the clock, the pool's public limits and keys, and the worker's plugins taken from the
/// request's cache directory.
/// </summary>
public sealed class WorkerApplicationSeamTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();
    private readonly TracTestDirectory _caches = new();

    public WorkerApplicationSeamTests()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        _projects.CreateEnvironment("beta", e => e.WithProject("Beta"));
    }

    public void Dispose()
    {
        _projects.Dispose();
        _caches.Dispose();
    }

    /// <summary>An application that ended on its own (crashed) or whose own dependencies changed (outdated) is replaced.</summary>
    [Theory]
    [InlineData(WorkerRecycleReasons.Crashed)]
    [InlineData(WorkerRecycleReasons.PluginsChanged)]
    public async Task ApplicationThatEndsOrIsOutdated_IsReplaced_ForThatReason(string reason)
    {
        var applications = new EndingApplications();
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().DispatchTo(applications))
            .StartAsync();
        Assert.Equal("alpha#1", (await host.Request("alpha").SendAsync()).Body);
        var switched = host.Workers.WaitForRecycleAsync("alpha");

        if (reason == WorkerRecycleReasons.Crashed)
        {
            applications.Made.Single().End();
        }
        else
        {
            applications.Made.Single().Outdate();
        }

        await switched;
        Assert.Equal("alpha#2", (await host.Request("alpha").SendAsync()).Body);
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", reason)));
        Assert.Equal(2, applications.Made.Count);
        await applications.Made[0].Disposed.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ApplicationOverItsOwnMemory_IsReplaced_WhileTheProcessIsUnderTheLimit()
    {
        const long limit = 1L << 40;
        var applications = new EndingApplications { MemoryOf = name => name == "alpha" ? 2 * limit : 1 };
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o =>
            {
                o.MemoryLimit = limit;
                o.MemoryCheckInterval = TimeSpan.FromSeconds(10);
            }).DispatchTo(applications))
            .StartAsync();
        await host.Request("alpha").SendAsync();
        await host.Request("beta").SendAsync();
        var alphaSwitched = host.Workers.WaitForRecycleAsync("alpha");
        var betaSwitched = host.Workers.WaitForRecycleAsync("beta");

        host.Time.Advance(TimeSpan.FromSeconds(10));

        await alphaSwitched;
        Assert.Equal(2, host.Workers.Serving("alpha")?.Generation);
        Assert.Equal(1, host.Workers.Serving("beta")?.Generation);
        Assert.False(betaSwitched.IsCompleted);
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.MemoryLimit)));
    }

    [Theory]
    [InlineData(0, 100)]
    [InlineData(250, 350)]
    [InlineData(9999, 350)]
    public async Task PinnedJitter_DecidesTheRequestLimit(long drawn, long expected)
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .ConfigureServices(s => s.AddSingleton(new WorkerJitter(_ => drawn)))
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o =>
            {
                o.MaxRequests = 100;
                o.MaxRequestsJitter = 250;
            }).Dispatch<TracRecordingApplication>())
            .StartAsync();

        await host.Request("alpha").SendAsync();

        Assert.Equal(expected, host.Workers.Serving("alpha")!.RequestLimit);
    }

    [Fact]
    public async Task Limits_AreASnapshotOfTheAdjustedOptions()
    {
        WorkerOptions? captured = null;
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o =>
            {
                o.MaxRequests = 3;
                o.IdleTimeout = TimeSpan.FromMinutes(5);
                captured = o;
            }).Dispatch<TracRecordingApplication>())
            .StartAsync();
        var pool = host.Services.GetRequiredService<IWorkerPool>();

        captured!.MaxRequests = 7;

        Assert.Equal((3, TimeSpan.FromMinutes(5)), (pool.Limits.MaxRequests, pool.Limits.IdleTimeout));
        Assert.Equal(pool.Limits, host.Workers.Limits);
    }

    [Fact]
    public async Task GetKey_FindsAProjectByName_AndRefusesAnUnknownOne()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().Dispatch<TracRecordingApplication>())
            .StartAsync();
        var pool = host.Services.GetRequiredService<IWorkerPool>();
        var alpha = Path.Combine(_projects.Path, "alpha");

        Assert.Equal(alpha, pool.GetKey("alpha"));
        Assert.Equal(alpha, pool.GetKey(alpha));
        var error = Assert.Throws<ArgumentException>(() => pool.GetKey("gamma"));
        Assert.Contains("'gamma'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkerPlugins_ComeFromTheRequestsCacheDirectory()
    {
        _projects.WritePlugin("alpha", "One", ("a.txt", "1"));
        var first = Path.Combine(_caches.Path, "first");
        var second = Path.Combine(_caches.Path, "second");
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().UsePluginCache().RecycleWorkers().Dispatch(context =>
            {
                var worker = (Worker)context.GetTracWorker()!;
                return context.Response.WriteAsync(
                    $"{worker.Generation} {worker.PluginSet!.CacheDirectory} {context.GetTracPluginCache()!.CacheDirectory}");
            }))
            .StartAsync();

        var one = (await host.Request("alpha").WithServerVariable("PYTHON_EGG_CACHE", first).SendAsync()).Body;
        var again = (await host.Request("alpha").WithServerVariable("PYTHON_EGG_CACHE", first).SendAsync()).Body;
        var two = (await host.Request("alpha").WithServerVariable("PYTHON_EGG_CACHE", second).SendAsync()).Body;

        Assert.Equal($"1 {first} {first}", one);
        Assert.Equal($"1 {first} {first}", again);
        Assert.Equal($"2 {second} {second}", two);
        Assert.True(File.Exists(Path.Combine(second, Directory.GetDirectories(second).Select(Path.GetFileName).Single(d => d!.StartsWith("One", StringComparison.Ordinal))!, "a.txt")));
    }

    [Fact]
    public async Task ApplicationThatEndsWhileItWarms_IsReplacedOnceInstalled()
    {
        var applications = new EndingApplications { EndsInWarmUp = generation => generation == 1 };
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().DispatchTo(applications))
            .StartAsync();
        var switched = host.Workers.WaitForRecycleAsync("alpha");

        await host.Request("alpha").SendAsync();

        await switched;
        Assert.Equal("alpha#2", (await host.Request("alpha").SendAsync()).Body);
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.Crashed)));
    }

    [Fact]
    public async Task ApplicationThatEnds_InProcessMode_ReplacesTheWorkerNotTheProcess()
    {
        var applications = new EndingApplications();
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o => o.Mode = WorkerMode.Process).DispatchTo(applications))
            .StartAsync();
        await host.Request("alpha").SendAsync();
        var switched = host.Workers.WaitForRecycleAsync("alpha");

        applications.Made.Single().End();

        await switched;
        Assert.Equal("alpha#2", (await host.Request("alpha").SendAsync()).Body);
        Assert.False(host.Pool().IsProcessRetiring);
    }

    [Fact]
    public async Task SwitchToAnotherCacheDirectory_InProcessMode_ReplacesTheWorkerNotTheProcess_AndARecycleKeepsTheDirectory()
    {
        _projects.WritePlugin("alpha", "One", ("a.txt", "1"));
        var first = Path.Combine(_caches.Path, "first");
        var second = Path.Combine(_caches.Path, "second");
        await using var host = await StartWithPluginHeaderAsync(o => o.Mode = WorkerMode.Process);

        Assert.Equal($"1 {first}", await WorkerPluginsAsync(host, first));
        Assert.Equal($"2 {second}", await WorkerPluginsAsync(host, second));
        Assert.False(host.Pool().IsProcessRetiring);
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.PluginCacheDirectoryChanged)));

        await host.Recorder.WaitForDisposeAsync("alpha", 1);
    }

    [Fact]
    public async Task RecycleOfAWorkerOnAnotherCacheDirectory_KeepsThatDirectory()
    {
        _projects.WritePlugin("alpha", "One", ("a.txt", "1"));
        var first = Path.Combine(_caches.Path, "first");
        var second = Path.Combine(_caches.Path, "second");
        await using var host = await StartWithPluginHeaderAsync();
        await WorkerPluginsAsync(host, first);
        await WorkerPluginsAsync(host, second);

        await host.Workers.RecycleAsync("alpha");

        Assert.Equal($"3 {second}", await WorkerPluginsAsync(host, second));
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.PluginCacheDirectoryChanged)));
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.Manual)));
    }

    [Fact]
    public async Task SwitchThatCannotStart_FailsTheRequest_AndTheOldWorkerServesOn()
    {
        _projects.WritePlugin("alpha", "One", ("a.txt", "1"));
        var first = Path.Combine(_caches.Path, "first");
        var second = Path.Combine(_caches.Path, "second");
        await using var host = await StartWithPluginHeaderAsync(o => o.ConfigureStartPipeline = (_, _) => { });
        host.Recorder.FailStart = worker => worker.Plugins?.CacheDirectory == second ? new InvalidOperationException("no plugins here") : null;
        await WorkerPluginsAsync(host, first);

        var failed = await host.Request("alpha").WithServerVariable("PYTHON_EGG_CACHE", second).SendAsync();

        Assert.Equal(503, failed.StatusCode);
        Assert.Equal("Service Unavailable: the application for this project could not be started.", failed.Body);
        Assert.Equal($"1 {first}", await WorkerPluginsAsync(host, first));
        Assert.Equal(0, host.Metrics.Sum("trac.worker.recycles"));
    }

    private Task<TracTestHost> StartWithPluginHeaderAsync(Action<WorkerOptions>? configure = null) =>
        TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().UsePluginCache().RecycleWorkers(configure)
                .Use(next => context =>
                {
                    var worker = (Worker)context.GetTracWorker()!;
                    context.Response.Headers["X-Worker-Plugins"] = $"{worker.Generation} {worker.PluginSet!.CacheDirectory}";
                    return next(context);
                })
                .Dispatch<TracRecordingApplication>())
            .StartAsync();

    private static async Task<string> WorkerPluginsAsync(TracTestHost host, string cacheDirectory)
    {
        var response = await host.Request("alpha").WithServerVariable("PYTHON_EGG_CACHE", cacheDirectory).SendAsync();
        Assert.Equal(200, response.StatusCode);
        return response.Headers["X-Worker-Plugins"];
    }

    /// <summary>Applications that end when told to, and report the memory they are given.</summary>
    private sealed class EndingApplications : IWorkerApplicationFactory
    {
        private readonly object _gate = new();
        private readonly List<EndingApplication> _made = [];

        public Func<string, long?> MemoryOf { get; init; } = _ => null;

        public Func<long, bool> EndsInWarmUp { get; init; } = _ => false;

        public IReadOnlyList<EndingApplication> Made
        {
            get
            {
                lock (_gate)
                {
                    return [.. _made];
                }
            }
        }

        public IWorkerApplication Create(IServiceProvider services, TracWorkerContext context)
        {
            var application = new EndingApplication(
                $"{context.Environment!.Name}#{context.Generation}", MemoryOf(context.Environment.Name), EndsInWarmUp(context.Generation));
            lock (_gate)
            {
                _made.Add(application);
            }

            return application;
        }
    }

    private sealed class EndingApplication(string name, long? memory, bool endsInWarmUp) : IWorkerApplication
    {
        private readonly CancellationTokenSource _exited = new();
        private readonly CancellationTokenSource _outdated = new();

        public TaskCompletionSource Disposed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationToken Exited => _exited.Token;

        public CancellationToken Outdated => _outdated.Token;

        public long? MemoryBytes => memory;

        public void End() => _exited.Cancel();

        public void Outdate() => _outdated.Cancel();

        public Task WarmUpAsync(CancellationToken cancellationToken)
        {
            if (endsInWarmUp)
            {
                End();
            }

            return Task.CompletedTask;
        }

        public Task DispatchAsync(HttpContext context) => context.Response.WriteAsync(name);

        public ValueTask DisposeAsync()
        {
            _exited.Dispose();
            Disposed.TrySetResult();
            return ValueTask.CompletedTask;
        }
    }
}
