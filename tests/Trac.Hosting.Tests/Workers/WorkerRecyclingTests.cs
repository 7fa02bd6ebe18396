using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Polly;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>The recycling guarantees, on a manual clock: no sleeps, every wait bounded by an explicit signal.</summary>
public sealed class WorkerRecyclingTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public WorkerRecyclingTests()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        _projects.CreateEnvironment("beta", e => e.WithProject("Beta"));
    }

    public void Dispose() => _projects.Dispose();

    private string Key(string name) => Path.Combine(_projects.Path, name);

    [Fact]
    public async Task MaxRequests_ReplacesTheWorkerAndDisposesTheOldOne()
    {
        await using var host = await StartAsync(o => o.MaxRequests = 3);

        Assert.StartsWith("alpha#1 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        var switched = host.Workers.WaitForRecycleAsync("alpha");
        await BodyAsync(host, "alpha");
        await BodyAsync(host, "alpha");
        await switched;

        Assert.StartsWith("alpha#2 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        await host.Recorder.WaitForDisposeAsync("alpha", 1);
        Assert.False(host.Recorder.IsDisposed("alpha", 2));
        Assert.Equal(0, host.Recorder.DispatchesAfterDispose);
    }

    [Fact]
    public async Task Replacement_IsWarmedWhileTheOldWorkerServes()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var warming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync();
        host.Recorder.WarmUp = (worker, _) =>
        {
            if (worker.Generation == 1)
            {
                return Task.CompletedTask;
            }

            warming.TrySetResult();
            return release.Task;
        };
        await BodyAsync(host, "alpha");

        var recycle = host.Workers.RecycleAsync("alpha");
        await warming.Task.WaitAsync(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 5; i++)
        {
            // No request waits for the recycle: the old worker answers while the new one warms.
            Assert.StartsWith("alpha#1 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        }

        Assert.False(recycle.IsCompleted);
        release.SetResult();
        await recycle.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("alpha#2 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        await host.Recorder.WaitForDisposeAsync("alpha", 1);
        Assert.Equal(
            ["Created alpha#1", "WarmingUp alpha#1", "Created alpha#2", "WarmingUp alpha#2", "Disposed alpha#1"],
            host.Recorder.WorkerEvents.Where(e => e.Environment == "alpha").Select(e => e.ToString()).Take(5));
    }

    [Fact]
    public async Task Draining_FiresTheTokenAndWaitsForInFlightRequests()
    {
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken draining = default;
        await using var host = await StartAsync();
        host.Recorder.OnDispatch = async context =>
        {
            if (context.Request.Query.ContainsKey("slow"))
            {
                draining = context.GetTracWorker()!.Draining;
                inFlight.TrySetResult();
                await finish.Task;
            }
        };
        var slow = host.Request("alpha", "/?slow=1").SendAsync();
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await host.Workers.RecycleAsync("alpha");

        Assert.True(draining.IsCancellationRequested);
        Assert.StartsWith("alpha#2 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        Assert.False(host.Recorder.IsDisposed("alpha", 1));
        Assert.Contains(host.Workers.State, w => w.Generation == 1 && w.State == TracWorkerState.Draining && w.ActiveRequests == 1);
        finish.SetResult();
        Assert.Equal(200, (await slow).StatusCode);
        await host.Recorder.WaitForDisposeAsync("alpha", 1);
        Assert.Equal(0, host.Recorder.DispatchesAfterDispose);
    }

    [Fact]
    public async Task DrainTimeout_AbortsWhatIsStillRunningThenDisposes()
    {
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(o => o.DrainTimeout = TimeSpan.FromSeconds(30));
        host.Recorder.OnDispatch = async context =>
        {
            if (context.Request.Query.ContainsKey("stuck"))
            {
                inFlight.TrySetResult();
                // A request that ignores Draining; only the abort ends it.
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        };
        var stuck = host.Request("alpha", "/?stuck=1").SendAsync();
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.Workers.RecycleAsync("alpha");
        Assert.False(host.Recorder.IsDisposed("alpha", 1));

        host.Time.Advance(TimeSpan.FromSeconds(30));

        await host.Recorder.WaitForDisposeAsync("alpha", 1);
        var entry = await host.Logs.WaitForAsync(e => e.Id.Id == Diagnostics.EventIds.WorkerRequestsAborted);
        Assert.Contains("still had 1 requests", entry.Message, StringComparison.Ordinal);
        await stuck.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    [Fact]
    public async Task FirstStart_WaitsUpToStartTimeout_ThenAnswers503()
    {
        var warming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(o => o.StartTimeout = TimeSpan.FromSeconds(10));
        host.Recorder.WarmUp = (_, token) =>
        {
            warming.TrySetResult();
            return Task.Delay(Timeout.Infinite, token);
        };

        var first = host.Request("alpha").SendAsync();
        var second = host.Request("alpha").SendAsync();
        await warming.Task.WaitAsync(TimeSpan.FromSeconds(30));
        host.Time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        await Task.Yield();
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);
        host.Time.Advance(TimeSpan.FromTicks(1));

        foreach (var request in new[] { first, second })
        {
            var response = await request.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(503, response.StatusCode);
            Assert.StartsWith("Service Unavailable: the application for this project", response.Body, StringComparison.Ordinal);
            Assert.Equal("5", response.Headers["Retry-After"]);
        }

        // Both waited for one start, not one after the other.
        Assert.Equal(1, host.Recorder.Starts);

        // Once its attempts have all timed out, the log says which limit it ran into.
        await host.Time.AdvanceUntilAsync(host.Logs.WaitForAsync("WorkerStartFailed"), TimeSpan.FromSeconds(1));
        Assert.Contains("did not start within Trac:Workers:StartTimeout (00:00:10)", (await host.Logs.WaitForAsync("WorkerStartFailed")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReplacementThatFailsToStart_IsTriedAgainAndTheOldWorkerServesMeanwhile()
    {
        var generationTwoFails = 1;
        await using var host = await StartAsync(o =>
        {
            o.MaxRequests = 1;
            o.ConfigureStartPipeline = (_, _) => { };
        });
        host.Recorder.FailStart = worker => worker.Generation == 2 && Interlocked.Exchange(ref generationTwoFails, 0) == 1 ? new InvalidOperationException("once") : null;

        Assert.StartsWith("alpha#1 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        // The failed replacement leaves generation 1 serving; its next finished request triggers again. No request
        // ever meets the generation that failed to start: generation 1 answers until generation 3 takes over.
        string body;
        var i = 0;
        do
        {
            Assert.True(i++ < 1000, "The failed replacement was never tried again.");
            body = await BodyAsync(host, "alpha");
            Assert.Matches("^alpha#[13] ", body);
        }
        while (!body.StartsWith("alpha#3 ", StringComparison.Ordinal));

        // Generation 3 took over (and, at one request each, may already have handed over to later ones).
        Assert.Matches("^alpha#([3-9]|[1-9][0-9]+) ", await BodyAsync(host, "alpha"));
        Assert.Contains(host.Recorder.WorkerEvents, e => e.Kind == TracWorkerEventKind.Created && e.Generation == 2);
    }

    [Fact]
    public async Task WorkerServices_ReachTheHostSingletons()
    {
        object?[] seen = [];
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac((trac, recorder) => trac.ResolveEnvironment().RecycleWorkers(o => o.ConfigureServices = (s, c) =>
            {
                s.AddSingleton(recorder);
                seen = [c.HostServices.GetService<TimeProvider>()];
            }).Dispatch<TracRecordingApplication>())
            .StartAsync();
        await BodyAsync(host, "alpha");
        var worker = host.Workers.State.Single();
        IServiceProvider? services = null;
        host.Recorder.OnDispatch = c =>
        {
            services = c.GetTracWorker()!.Services;
            return Task.CompletedTask;
        };
        await BodyAsync(host, "alpha");

        Assert.NotNull(services);
        Assert.Same(host.Time, services.GetRequiredService<TimeProvider>());
        Assert.Same(host.Time, seen[0]);
        Assert.NotNull(services.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WorkerRecyclingTests>>());
        Assert.NotNull(services.GetRequiredService<IHostEnvironment>());
        Assert.NotNull(services.GetRequiredService<IHostApplicationLifetime>());
        Assert.Equal(Key("alpha"), services.GetRequiredService<TracWorkerContext>().Key);
        Assert.Equal(1, worker.Generation);
    }

    [Fact]
    public void EveryKey_BindsFromConfiguration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Trac:Workers:MaxRequests"] = "500",
            ["Trac:Workers:MaxRequestsJitter"] = "50",
            ["Trac:Workers:MaxLifetime"] = "01:00:00",
            ["Trac:Workers:MaxLifetimeJitter"] = "00:05:00",
            ["Trac:Workers:IdleTimeout"] = "00:20:00",
            ["Trac:Workers:StartTimeout"] = "00:00:45",
            ["Trac:Workers:DrainTimeout"] = "00:00:15",
            ["Trac:Workers:MaxConcurrentRecycles"] = "3",
            ["Trac:Workers:MaxConcurrentRequests"] = "10",
            ["Trac:Workers:QueueLimit"] = "20",
            ["Trac:Workers:Scope"] = "Shared",
            ["Trac:Workers:Mode"] = "Process",
            ["Trac:Workers:MemoryLimit"] = "1073741824",
        }).Build();
        using var services = new ServiceCollection().AddTrac(configuration.GetSection("Trac")).BuildServiceProvider();

        var o = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TracOptions>>().Value.Workers;

        Assert.Equal((500, 50, 3, 10, 20, 1073741824L), (o.MaxRequests, o.MaxRequestsJitter, o.MaxConcurrentRecycles, o.MaxConcurrentRequests, o.QueueLimit, o.MemoryLimit));
        Assert.Equal((TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(20), TimeSpan.FromSeconds(45), TimeSpan.FromSeconds(15)),
            (o.MaxLifetime, o.MaxLifetimeJitter, o.IdleTimeout, o.StartTimeout, o.DrainTimeout));
        Assert.Equal((WorkerScope.Shared, WorkerMode.Process), (o.Scope, o.Mode));
    }

    [Fact]
    public async Task Jitter_IsDrawnAgainForEachGeneration()
    {
        await using var host = await StartAsync(o =>
        {
            o.MaxRequests = 1000;
            o.MaxRequestsJitter = 1000;
        });
        var limits = new List<long>();
        await BodyAsync(host, "alpha");
        for (var i = 0; i < 8; i++)
        {
            limits.Add(host.Workers.Serving("alpha")!.RequestLimit);
            await host.Workers.RecycleAsync("alpha");
        }

        Assert.All(limits, l => Assert.InRange(l, 1000, 2000));
        Assert.True(limits.Distinct().Count() > 1);
    }

    [Fact]
    public async Task BrokenEnvironment_OpensItsBreakerWithoutAffectingOthers()
    {
        await using var host = await StartAsync(o => o.ConfigureStartPipeline = (builder, _) => builder.AddCircuitBreaker(new Polly.CircuitBreaker.CircuitBreakerStrategyOptions
        {
            FailureRatio = 1.0,
            MinimumThroughput = 2,
            BreakDuration = TimeSpan.FromMinutes(1),
        }));
        host.Recorder.FailStart = worker => worker.Environment?.Name == "beta" ? new InvalidOperationException("beta is broken") : null;

        Assert.Equal(503, (await host.Request("beta").SendAsync()).StatusCode);
        Assert.Equal(503, (await host.Request("beta").SendAsync()).StatusCode);
        var startsBefore = host.Recorder.Starts;
        var response = await host.Request("beta").SendAsync();

        Assert.Equal(503, response.StatusCode);
        Assert.StartsWith("Service Unavailable: the application for this project failed to start several times", response.Body, StringComparison.Ordinal);
        Assert.Equal(startsBefore, host.Recorder.Starts);
        Assert.Matches("^[0-9]+$", response.Headers["Retry-After"]);
        Assert.Equal(200, (await host.Request("alpha").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task DefaultStartPipeline_RetriesATransientFailure()
    {
        var failures = 0;
        await using var host = await StartAsync(time: TimeProvider.System);
        host.Recorder.FailStart = _ => Interlocked.Increment(ref failures) == 1 ? new IOException("transient") : null;

        Assert.StartsWith("alpha#2 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        Assert.Equal(2, host.Recorder.Starts);
    }

    [Fact]
    public async Task MaxConcurrentRecycles_MakesOthersWaitTheirTurn()
    {
        var warming = 0;
        var maxWarming = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstWarming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(o => o.MaxConcurrentRecycles = 1);
        host.Recorder.WarmUp = async (worker, _) =>
        {
            if (worker.Generation == 1)
            {
                return;
            }

            var now = Interlocked.Increment(ref warming);
            AtomicMax.Raise(ref maxWarming, now);
            firstWarming.TrySetResult();
            await release.Task;
            Interlocked.Decrement(ref warming);
        };
        await BodyAsync(host, "alpha");
        await BodyAsync(host, "beta");

        var alpha = host.Workers.RecycleAsync("alpha");
        var beta = host.Workers.RecycleAsync("beta");
        await firstWarming.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("alpha#1 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        Assert.StartsWith("beta#1 ", await BodyAsync(host, "beta"), StringComparison.Ordinal);
        release.SetResult();
        await Task.WhenAll(alpha, beta).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, maxWarming);
        Assert.StartsWith("alpha#2 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        Assert.StartsWith("beta#2 ", await BodyAsync(host, "beta"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxConcurrentRequests_RejectsBeyondTheQueueWith503()
    {
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(o =>
        {
            o.MaxConcurrentRequests = 1;
            o.QueueLimit = 0;
        });
        host.Recorder.OnDispatch = async context =>
        {
            if (context.Request.Query.ContainsKey("slow"))
            {
                inFlight.TrySetResult();
                await finish.Task;
            }
        };
        var slow = host.Request("alpha", "/?slow=1").SendAsync();
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var response = await host.Request("alpha").SendAsync();

        Assert.Equal(503, response.StatusCode);
        Assert.Equal("Service Unavailable: this project is busy; try again shortly.", response.Body);
        Assert.Equal("1", response.Headers["Retry-After"]);
        Assert.Equal(200, (await host.Request("beta").SendAsync()).StatusCode);
        finish.SetResult();
        Assert.Equal(200, (await slow).StatusCode);
        Assert.Equal(200, (await host.Request("alpha").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task IdleTimeout_RetiresTheWorkerAndTheNextRequestStartsAFreshOne()
    {
        await using var host = await StartAsync(o => o.IdleTimeout = TimeSpan.FromMinutes(5));
        await BodyAsync(host, "alpha");
        var retired = host.Workers.WaitForRecycleAsync("alpha");

        host.Time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(1, host.Workers.Serving("alpha")?.Generation);
        Assert.False(retired.IsCompleted);
        host.Time.Advance(TimeSpan.FromMinutes(1));

        await retired;
        await host.Recorder.WaitForDisposeAsync("alpha", 1);
        Assert.Null(host.Workers.Serving("alpha"));
        Assert.StartsWith("alpha#2 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdleTimeout_CountsFromTheLastRequest()
    {
        await using var host = await StartAsync(o => o.IdleTimeout = TimeSpan.FromMinutes(5));
        await BodyAsync(host, "alpha");
        var retired = host.Workers.WaitForRecycleAsync("alpha");

        host.Time.Advance(TimeSpan.FromMinutes(4));
        await BodyAsync(host, "alpha");
        host.Time.Advance(TimeSpan.FromMinutes(4));

        Assert.Equal(1, host.Workers.Serving("alpha")?.Generation);
        Assert.False(retired.IsCompleted);
        host.Time.Advance(TimeSpan.FromMinutes(1));
        await retired;
    }

    [Fact]
    public async Task MaxLifetime_ReplacesTheWorker()
    {
        await using var host = await StartAsync(o => o.MaxLifetime = TimeSpan.FromHours(1));
        await BodyAsync(host, "alpha");
        var switched = host.Workers.WaitForRecycleAsync("alpha");

        host.Time.Advance(TimeSpan.FromHours(1));

        await switched;
        Assert.StartsWith("alpha#2 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jitter_DrawsEachGenerationsLimitAboveTheFloor()
    {
        for (var i = 0; i < 20; i++)
        {
            _projects.CreateEnvironment($"p{i:D2}");
        }

        await using var host = await StartAsync(o =>
        {
            o.MaxRequests = 100;
            o.MaxRequestsJitter = 50;
        });
        for (var i = 0; i < 20; i++)
        {
            await BodyAsync(host, $"p{i:D2}");
        }

        var limits = host.Workers.State.Select(w => w.RequestLimit).ToArray();
        Assert.Equal(20, limits.Length);
        Assert.All(limits, l => Assert.InRange(l, 100, 150));
        // Twenty draws from 51 values are all equal with probability 51^-19: workers never recycle together.
        Assert.True(limits.Distinct().Count() > 1);
    }

    [Fact]
    public async Task ConfigChange_ReplacesTheWorkerWithTheNewConfiguration()
    {
        await using var host = await StartAsync(time: TimeProvider.System);
        await BodyAsync(host, "alpha");
        var switched = host.Workers.WaitForRecycleAsync("alpha");

        _projects.WriteTracIni("alpha", "[project]\nname = Renamed\n");

        await switched;
        Assert.StartsWith("alpha#2 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        Assert.Equal("Renamed", host.Recorder.Dispatches.Last().WorkerProjectName);
    }

    [Fact]
    public async Task PluginChange_ReplacesTheWorker()
    {
        _projects.WritePlugin("alpha", "One", ("a.txt", "1"));
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTime(TimeProvider.System)
            .UseTrac(t => t.ResolveEnvironment().UsePluginCache().RecycleWorkers().Dispatch<TracRecordingApplication>())
            .StartAsync();
        await BodyAsync(host, "alpha");
        var switched = host.Workers.WaitForRecycleAsync("alpha");

        _projects.WritePlugin("alpha", "Two", ("b.txt", "2"));

        await switched;
        Assert.StartsWith("alpha#2 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManualRecycle_AndMetricsTaggedByReason()
    {
        await using var host = await StartAsync();
        await BodyAsync(host, "alpha");

        await host.Workers.RecycleAsync("alpha", "deploy");

        Assert.StartsWith("alpha#2 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", "deploy")));
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles"));
    }

    [Fact]
    public async Task MemoryLimit_RecyclesTheOldestWorker()
    {
        await using var host = await StartAsync(o =>
        {
            o.MemoryLimit = 1;
            o.MemoryCheckInterval = TimeSpan.FromSeconds(10);
        });
        await BodyAsync(host, "alpha");
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await BodyAsync(host, "beta");
        var alphaSwitched = host.Workers.WaitForRecycleAsync("alpha");
        var betaSwitched = host.Workers.WaitForRecycleAsync("beta");

        host.Time.Advance(TimeSpan.FromSeconds(10));

        await alphaSwitched;
        Assert.Equal(1, host.Workers.Serving("beta")?.Generation);
        Assert.False(betaSwitched.IsCompleted);
    }

    [Fact]
    public async Task SharedScope_ServesEveryEnvironmentFromOneWorker()
    {
        await using var host = await StartAsync(o => o.Scope = WorkerScope.Shared);

        var alpha = await BodyAsync(host, "alpha");
        var beta = await BodyAsync(host, "beta");

        Assert.Equal("alpha#1 /alpha|/ user=-", alpha);
        Assert.Equal("beta#1 /beta|/ user=-", beta);
        Assert.Equal(
            [("alpha", "shared", 0, (string?)null), ("beta", "shared", 0, null)],
            host.Recorder.Dispatches.Select(d => (d.Environment, d.WorkerEnvironment, d.WorkerPluginAssemblies.Count, d.WorkerProjectName)));
        Assert.Equal(["shared"], host.Workers.State.Select(w => w.Key));
    }

    [Fact]
    public async Task DispatchDelegate_SeesTheWorkerThroughTheFeature()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o => o.MaxRequests = 2).Dispatch(c =>
            {
                var worker = c.GetTracWorker()!;
                return c.Response.WriteAsync($"{worker.Environment!.Name}#{worker.Generation} served {worker.RequestsServed}");
            }))
            .StartAsync();

        Assert.Equal("alpha#1 served 0", await BodyAsync(host, "alpha"));
        Assert.Equal("alpha#1 served 1", await BodyAsync(host, "alpha"));
    }

    [Fact]
    public async Task ProcessMode_TurnsUnhealthyThenStopsTheApplication()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .ConfigureServices(s => s.AddHealthChecks().AddTracHealthChecks())
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o =>
            {
                o.Mode = WorkerMode.Process;
                o.MaxRequests = 2;
                o.ProcessStopDelay = TimeSpan.FromSeconds(15);
            }).Dispatch<TracRecordingApplication>())
            .StartAsync();
        var health = host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

        await BodyAsync(host, "alpha");
        await BodyAsync(host, "beta");

        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);
        Assert.Equal(200, (await host.Request("alpha").SendAsync()).StatusCode);
        host.Time.Advance(TimeSpan.FromSeconds(14));
        Assert.False(stopping.IsCancellationRequested);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(stopping.IsCancellationRequested);
    }

    [Fact]
    public async Task HealthCheck_ReportsAnOpenBreakerAsDegraded()
    {
        // The default start pipeline retries with real back-off delays.
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTime(TimeProvider.System)
            .ConfigureServices(s => s.AddHealthChecks().AddTracHealthChecks())
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().Dispatch<TracRecordingApplication>())
            .StartAsync();
        host.Recorder.FailStart = _ => new InvalidOperationException("broken");
        var health = host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();

        // Three failed attempts (one request with its two retries) open the default breaker.
        Assert.Equal(503, (await host.Request("alpha").SendAsync()).StatusCode);

        var report = await health.CheckHealthAsync();
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, report.Status);
        Assert.Contains(Key("alpha"), report.Entries["trac"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DispatchOfAnApplication_NeedsRecycleWorkers()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().Dispatch<TracRecordingApplication>())
            .StartAsync());

        Assert.Equal("Dispatch() needs RecycleWorkers() earlier in the Trac pipeline: call .RecycleWorkers() before .Dispatch().", error.Message);
    }

    [Fact]
    public async Task InvalidOptions_FailAtStartUpNamingTheKey()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => o.Workers.MaxConcurrentRecycles = 0)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers())
            .StartAsync());

        Assert.Contains("Trac:Workers:MaxConcurrentRecycles 0 must be at least 1.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IWorkerPool_WithoutTheStage_SaysWhatToAdd()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects).UseTrac(t => t.ResolveEnvironment()).StartAsync();

        var error = Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<IWorkerPool>().Workers);

        Assert.Contains("add .RecycleWorkers()", error.Message, StringComparison.Ordinal);
    }

    private static async Task<string> BodyAsync(TracTestHost host, string environment) => (await host.Request(environment).SendAsync()).Body;

    private Task<TracTestHost> StartAsync(Action<WorkerOptions>? configure = null, TimeProvider? time = null)
    {
        var builder = TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(configure).Dispatch<TracRecordingApplication>());
        if (time is not null)
        {
            builder.UseTime(time);
        }

        return builder.StartAsync();
    }
}
