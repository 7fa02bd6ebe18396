using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
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
    private readonly ManualTimeProvider _time = new();
    private readonly Recorder _recorder = new();

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
        using var host = await StartAsync(o => o.MaxRequests = 3);
        var pool = Pool(host);

        Assert.StartsWith("gen=1;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        var switched = pool.GetChangeToken(Key("alpha"));
        await host.GetAsync("/alpha/");
        await host.GetAsync("/alpha/");
        await switched.WaitAsync("the recycle");

        Assert.StartsWith("gen=2;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        await _recorder.WaitDisposedAsync("alpha#1");
        Assert.False(_recorder.IsDisposed("alpha#2"));
        Assert.Equal(0, _recorder.Violations);
    }

    [Fact]
    public async Task Replacement_IsWarmedWhileTheOldWorkerServes()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var warming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _recorder.WarmUp = (worker, _) =>
        {
            if (worker.Generation == 1)
            {
                return Task.CompletedTask;
            }

            warming.TrySetResult();
            return release.Task;
        };
        using var host = await StartAsync();
        var pool = Pool(host);
        await host.GetAsync("/alpha/");

        var recycle = pool.RecycleAsync(Key("alpha"));
        await warming.Task.WaitAsync(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 5; i++)
        {
            // No request waits for the recycle: the old worker answers while the new one warms.
            Assert.StartsWith("gen=1;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        }

        Assert.False(recycle.IsCompleted);
        release.SetResult();
        await recycle.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("gen=2;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        await _recorder.WaitDisposedAsync("alpha#1");
        Assert.Equal(["warm alpha#1", "warm alpha#2", "dispose alpha#1"], _recorder.Log.Where(l => l.Contains("alpha", StringComparison.Ordinal)).Take(3));
    }

    [Fact]
    public async Task Draining_FiresTheTokenAndWaitsForInFlightRequests()
    {
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken draining = default;
        _recorder.OnDispatch = async context =>
        {
            if (context.Request.Query.ContainsKey("slow"))
            {
                draining = context.GetTracWorker()!.Draining;
                inFlight.TrySetResult();
                await finish.Task;
            }
        };
        using var host = await StartAsync();
        var pool = Pool(host);
        var slow = host.GetAsync("/alpha/?slow=1");
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await pool.RecycleAsync(Key("alpha"));

        Assert.True(draining.IsCancellationRequested);
        Assert.StartsWith("gen=2;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        Assert.False(_recorder.IsDisposed("alpha#1"));
        Assert.Contains(pool.Workers, w => w.Generation == 1 && w.State == TracWorkerState.Draining && w.ActiveRequests == 1);
        finish.SetResult();
        Assert.Equal(200, (await slow).Status);
        await _recorder.WaitDisposedAsync("alpha#1");
        Assert.Equal(0, _recorder.Violations);
    }

    [Fact]
    public async Task DrainTimeout_AbortsWhatIsStillRunningThenDisposes()
    {
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var logs = new TracTestLogs();
        _recorder.OnDispatch = async context =>
        {
            if (context.Request.Query.ContainsKey("stuck"))
            {
                inFlight.TrySetResult();
                // A request that ignores Draining; only the abort ends it.
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        };
        using var host = await StartAsync(o => o.DrainTimeout = TimeSpan.FromSeconds(30), logs: logs);
        var pool = Pool(host);
        var stuck = host.GetTestServer().SendAsync(c =>
        {
            c.Request.Path = "/alpha/";
            c.Request.QueryString = new QueryString("?stuck=1");
        });
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await pool.RecycleAsync(Key("alpha"));
        Assert.False(_recorder.IsDisposed("alpha#1"));

        _time.Advance(TimeSpan.FromSeconds(30));

        await _recorder.WaitDisposedAsync("alpha#1");
        var entry = await logs.WaitForAsync(e => e.EventId.Id == Diagnostics.EventIds.WorkerRequestsAborted);
        Assert.Contains("still had 1 requests", entry.Message, StringComparison.Ordinal);
        await stuck.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    [Fact]
    public async Task FirstStart_WaitsUpToStartTimeout_ThenAnswers503()
    {
        var warming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _recorder.WarmUp = (_, token) =>
        {
            warming.TrySetResult();
            return Task.Delay(Timeout.Infinite, token);
        };
        using var host = await StartAsync(o => o.StartTimeout = TimeSpan.FromSeconds(10));

        var first = host.GetAsync("/alpha/");
        var second = host.GetAsync("/alpha/");
        await warming.Task.WaitAsync(TimeSpan.FromSeconds(30));
        _time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        await Task.Yield();
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);
        _time.Advance(TimeSpan.FromTicks(1));

        foreach (var request in new[] { first, second })
        {
            var (status, body, response) = await request.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(503, status);
            Assert.StartsWith("Service Unavailable: the application for this project", body, StringComparison.Ordinal);
            Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
        }

        // Both waited for one start, not one after the other.
        Assert.Equal(1, _recorder.Starts);
    }

    [Fact]
    public async Task ReplacementThatFailsToStart_IsTriedAgainAndTheOldWorkerServesMeanwhile()
    {
        var generationTwoFails = 1;
        _recorder.FailStart = worker => worker.Generation == 2 && Interlocked.Exchange(ref generationTwoFails, 0) == 1 ? new InvalidOperationException("once") : null;
        using var host = await StartAsync(o =>
        {
            o.MaxRequests = 1;
            o.ConfigureStartPipeline = (_, _) => { };
        });
        var pool = Pool(host);

        Assert.StartsWith("gen=1;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        var switched = pool.GetChangeToken(Key("alpha"));
        // The failed replacement leaves generation 1 serving; its next finished request triggers again. No request
        // ever meets the generation that failed to start.
        for (var i = 0; !switched.HasChanged; i++)
        {
            Assert.True(i < 1000, "The failed replacement was never tried again.");
            Assert.Matches("^gen=[13];", (await host.GetAsync("/alpha/")).Body);
            await Task.Yield();
        }

        // Generation 3 took over (and, at one request each, may already have handed over to later ones).
        Assert.Matches("^gen=([3-9]|[1-9][0-9]+);", (await host.GetAsync("/alpha/")).Body);
    }

    [Fact]
    public async Task WorkerServices_ReachTheHostSingletons()
    {
        object?[] seen = [];
        using var host = await StartAsync(o => o.ConfigureServices = (s, c) =>
        {
            s.AddSingleton(_recorder);
            seen = [c.HostServices.GetService<TimeProvider>()];
        });
        await host.GetAsync("/alpha/");
        var worker = Pool(host).Workers.Single();
        IServiceProvider? services = null;
        _recorder.OnDispatch = c =>
        {
            services = c.GetTracWorker()!.Services;
            return Task.CompletedTask;
        };
        await host.GetAsync("/alpha/");

        Assert.NotNull(services);
        Assert.Same(_time, services.GetRequiredService<TimeProvider>());
        Assert.Same(_time, seen[0]);
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
        using var host = await StartAsync(o =>
        {
            o.MaxRequests = 1000;
            o.MaxRequestsJitter = 1000;
        });
        var pool = Pool(host);
        var limits = new List<long>();
        await host.GetAsync("/alpha/");
        for (var i = 0; i < 8; i++)
        {
            limits.Add(pool.Workers.Single(w => w.State == TracWorkerState.Serving).RequestLimit);
            await pool.RecycleAsync(Key("alpha"));
        }

        Assert.All(limits, l => Assert.InRange(l, 1000, 2000));
        Assert.True(limits.Distinct().Count() > 1);
    }

    [Fact]
    public async Task BrokenEnvironment_OpensItsBreakerWithoutAffectingOthers()
    {
        _recorder.FailStart = worker => worker.Environment?.Name == "beta" ? new InvalidOperationException("beta is broken") : null;
        using var host = await StartAsync(o => o.ConfigureStartPipeline = (builder, _) => builder.AddCircuitBreaker(new Polly.CircuitBreaker.CircuitBreakerStrategyOptions
        {
            FailureRatio = 1.0,
            MinimumThroughput = 2,
            BreakDuration = TimeSpan.FromMinutes(1),
        }));

        Assert.Equal(503, (await host.GetAsync("/beta/")).Status);
        Assert.Equal(503, (await host.GetAsync("/beta/")).Status);
        var startsBefore = _recorder.Starts;
        var (status, body, response) = await host.GetAsync("/beta/");

        Assert.Equal(503, status);
        Assert.StartsWith("Service Unavailable: the application for this project failed to start several times", body, StringComparison.Ordinal);
        Assert.Equal(startsBefore, _recorder.Starts);
        Assert.NotNull(response.Headers.RetryAfter?.Delta);
        Assert.Equal(200, (await host.GetAsync("/alpha/")).Status);
    }

    [Fact]
    public async Task DefaultStartPipeline_RetriesATransientFailure()
    {
        var failures = 0;
        _recorder.FailStart = _ => Interlocked.Increment(ref failures) == 1 ? new IOException("transient") : null;
        using var host = await StartAsync(time: TimeProvider.System);

        Assert.StartsWith("gen=2;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        Assert.Equal(2, _recorder.Starts);
    }

    [Fact]
    public async Task MaxConcurrentRecycles_MakesOthersWaitTheirTurn()
    {
        var warming = 0;
        var maxWarming = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstWarming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _recorder.WarmUp = async (worker, _) =>
        {
            if (worker.Generation == 1)
            {
                return;
            }

            var now = Interlocked.Increment(ref warming);
            InterlockedMax(ref maxWarming, now);
            firstWarming.TrySetResult();
            await release.Task;
            Interlocked.Decrement(ref warming);
        };
        using var host = await StartAsync(o => o.MaxConcurrentRecycles = 1);
        var pool = Pool(host);
        await host.GetAsync("/alpha/");
        await host.GetAsync("/beta/");

        var alpha = pool.RecycleAsync(Key("alpha"));
        var beta = pool.RecycleAsync(Key("beta"));
        await firstWarming.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("gen=1;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        Assert.StartsWith("gen=1;", (await host.GetAsync("/beta/")).Body, StringComparison.Ordinal);
        release.SetResult();
        await Task.WhenAll(alpha, beta).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, maxWarming);
        Assert.StartsWith("gen=2;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        Assert.StartsWith("gen=2;", (await host.GetAsync("/beta/")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxConcurrentRequests_RejectsBeyondTheQueueWith503()
    {
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _recorder.OnDispatch = async context =>
        {
            if (context.Request.Query.ContainsKey("slow"))
            {
                inFlight.TrySetResult();
                await finish.Task;
            }
        };
        using var host = await StartAsync(o =>
        {
            o.MaxConcurrentRequests = 1;
            o.QueueLimit = 0;
        });
        var slow = host.GetAsync("/alpha/?slow=1");
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var (status, body, response) = await host.GetAsync("/alpha/");

        Assert.Equal(503, status);
        Assert.Equal("Service Unavailable: this project is busy; try again shortly.", body);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.Equal(200, (await host.GetAsync("/beta/")).Status);
        finish.SetResult();
        Assert.Equal(200, (await slow).Status);
        Assert.Equal(200, (await host.GetAsync("/alpha/")).Status);
    }

    [Fact]
    public async Task IdleTimeout_RetiresTheWorkerAndTheNextRequestStartsAFreshOne()
    {
        using var host = await StartAsync(o => o.IdleTimeout = TimeSpan.FromMinutes(5));
        var pool = Pool(host);
        await host.GetAsync("/alpha/");
        var retired = pool.GetChangeToken(Key("alpha"));

        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.False(retired.HasChanged);
        _time.Advance(TimeSpan.FromMinutes(1));

        await retired.WaitAsync("the idle retirement");
        await _recorder.WaitDisposedAsync("alpha#1");
        Assert.DoesNotContain(pool.Workers, w => w.Key == Key("alpha") && w.State == TracWorkerState.Serving);
        Assert.StartsWith("gen=2;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdleTimeout_CountsFromTheLastRequest()
    {
        using var host = await StartAsync(o => o.IdleTimeout = TimeSpan.FromMinutes(5));
        var pool = Pool(host);
        await host.GetAsync("/alpha/");
        var retired = pool.GetChangeToken(Key("alpha"));

        _time.Advance(TimeSpan.FromMinutes(4));
        await host.GetAsync("/alpha/");
        _time.Advance(TimeSpan.FromMinutes(4));

        Assert.False(retired.HasChanged);
        _time.Advance(TimeSpan.FromMinutes(1));
        await retired.WaitAsync("the idle retirement");
    }

    [Fact]
    public async Task MaxLifetime_ReplacesTheWorker()
    {
        using var host = await StartAsync(o => o.MaxLifetime = TimeSpan.FromHours(1));
        var pool = Pool(host);
        await host.GetAsync("/alpha/");
        var switched = pool.GetChangeToken(Key("alpha"));

        _time.Advance(TimeSpan.FromHours(1));

        await switched.WaitAsync("the lifetime recycle");
        Assert.StartsWith("gen=2;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jitter_DrawsEachGenerationsLimitAboveTheFloor()
    {
        for (var i = 0; i < 20; i++)
        {
            _projects.CreateEnvironment($"p{i:D2}");
        }

        using var host = await StartAsync(o =>
        {
            o.MaxRequests = 100;
            o.MaxRequestsJitter = 50;
        });
        for (var i = 0; i < 20; i++)
        {
            await host.GetAsync($"/p{i:D2}/");
        }

        var limits = Pool(host).Workers.Select(w => w.RequestLimit).ToArray();
        Assert.Equal(20, limits.Length);
        Assert.All(limits, l => Assert.InRange(l, 100, 150));
        // Twenty draws from 51 values are all equal with probability 51^-19: workers never recycle together.
        Assert.True(limits.Distinct().Count() > 1);
    }

    [Fact]
    public async Task ConfigChange_ReplacesTheWorkerWithTheNewConfiguration()
    {
        using var host = await StartAsync(time: TimeProvider.System);
        var pool = Pool(host);
        await host.GetAsync("/alpha/");
        var switched = pool.GetChangeToken(Key("alpha"));

        _projects.WriteTracIni("alpha", "[project]\nname = Renamed\n");

        await switched.WaitAsync("the config_changed recycle");
        var body = (await host.GetAsync("/alpha/")).Body;
        Assert.StartsWith("gen=2;", body, StringComparison.Ordinal);
        Assert.EndsWith(";project=Renamed", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PluginChange_ReplacesTheWorker()
    {
        _projects.WritePlugin("alpha", "One", ("a.txt", "1"));
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().UsePluginCache().RecycleWorkers(o => o.ConfigureServices = (s, _) => s.AddSingleton(_recorder)).Dispatch<RecordingApplication>());
        var pool = Pool(host);
        await host.GetAsync("/alpha/");
        var switched = pool.GetChangeToken(Key("alpha"));

        _projects.WritePlugin("alpha", "Two", ("b.txt", "2"));

        await switched.WaitAsync("the plugins_changed recycle");
        Assert.StartsWith("gen=2;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManualRecycle_AndMetricsTaggedByReason()
    {
        var recycles = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Trac.Hosting" && instrument.Name == "trac.worker.recycles")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            lock (recycles)
            {
                recycles.Add(tags.ToArray().Single(t => t.Key == "reason").Value as string ?? "?");
            }
        });
        listener.Start();
        using var host = await StartAsync();
        await host.GetAsync("/alpha/");

        await Pool(host).RecycleAsync(Key("alpha"), "deploy");

        Assert.StartsWith("gen=2;", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        lock (recycles)
        {
            Assert.Contains("deploy", recycles);
        }
    }

    [Fact]
    public async Task MemoryLimit_RecyclesTheOldestWorker()
    {
        using var host = await StartAsync(o =>
        {
            o.MemoryLimit = 1;
            o.MemoryCheckInterval = TimeSpan.FromSeconds(10);
        });
        var pool = Pool(host);
        await host.GetAsync("/alpha/");
        _time.Advance(TimeSpan.FromSeconds(1));
        await host.GetAsync("/beta/");
        var alphaSwitched = pool.GetChangeToken(Key("alpha"));
        var betaSwitched = pool.GetChangeToken(Key("beta"));

        _time.Advance(TimeSpan.FromSeconds(10));

        await alphaSwitched.WaitAsync("the memory_limit recycle");
        Assert.False(betaSwitched.HasChanged);
    }

    [Fact]
    public async Task SharedScope_ServesEveryEnvironmentFromOneWorker()
    {
        using var host = await StartAsync(o => o.Scope = WorkerScope.Shared);

        var alpha = (await host.GetAsync("/alpha/")).Body;
        var beta = (await host.GetAsync("/beta/")).Body;

        Assert.Equal("gen=1;env=alpha;worker=shared;plugins=0;project=", alpha);
        Assert.Equal("gen=1;env=beta;worker=shared;plugins=0;project=", beta);
        Assert.Equal(["shared"], Pool(host).Workers.Select(w => w.Key));
    }

    [Fact]
    public async Task DispatchDelegate_SeesTheWorkerThroughTheFeature()
    {
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().RecycleWorkers(o => o.MaxRequests = 2).Dispatch(c =>
            {
                var worker = c.GetTracWorker()!;
                return c.Response.WriteAsync($"{worker.Environment!.Name}#{worker.Generation} served {worker.RequestsServed}");
            }),
            services: s => s.AddSingleton<TimeProvider>(_time));

        Assert.Equal("alpha#1 served 0", (await host.GetAsync("/alpha/")).Body);
        Assert.Equal("alpha#1 served 1", (await host.GetAsync("/alpha/")).Body);
    }

    [Fact]
    public async Task ProcessMode_TurnsUnhealthyThenStopsTheApplication()
    {
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().RecycleWorkers(o =>
            {
                o.Mode = WorkerMode.Process;
                o.MaxRequests = 2;
                o.ProcessStopDelay = TimeSpan.FromSeconds(15);
                o.ConfigureServices = (s, _) => s.AddSingleton(_recorder);
            }).Dispatch<RecordingApplication>(),
            services: s =>
            {
                s.AddSingleton<TimeProvider>(_time);
                s.AddHealthChecks().AddTracHealthChecks();
            });
        var health = host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

        await host.GetAsync("/alpha/");
        await host.GetAsync("/beta/");

        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);
        Assert.Equal(200, (await host.GetAsync("/alpha/")).Status);
        _time.Advance(TimeSpan.FromSeconds(14));
        Assert.False(stopping.IsCancellationRequested);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(stopping.IsCancellationRequested);
    }

    [Fact]
    public async Task HealthCheck_ReportsAnOpenBreakerAsDegraded()
    {
        _recorder.FailStart = _ => new InvalidOperationException("broken");
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().RecycleWorkers(o => o.ConfigureServices = (s, _) => s.AddSingleton(_recorder)).Dispatch<RecordingApplication>(),
            services: s => s.AddHealthChecks().AddTracHealthChecks());
        var health = host.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();

        // Three failed attempts (one request with its two retries) open the default breaker.
        Assert.Equal(503, (await host.GetAsync("/alpha/")).Status);

        var report = await health.CheckHealthAsync();
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, report.Status);
        Assert.Contains(Key("alpha"), report.Entries["trac"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DispatchOfAnApplication_NeedsRecycleWorkers()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().Dispatch<RecordingApplication>()));

        Assert.Equal("Dispatch() needs RecycleWorkers() earlier in the Trac pipeline: call .RecycleWorkers() before .Dispatch().", error.Message);
    }

    [Fact]
    public async Task InvalidOptions_FailAtStartUpNamingTheKey()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => TestHosts.StartAsync(
            o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.Workers.MaxConcurrentRecycles = 0;
            },
            t => t.ResolveEnvironment().RecycleWorkers()));

        Assert.Contains("Trac:Workers:MaxConcurrentRecycles 0 must be at least 1.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IWorkerPool_WithoutTheStage_SaysWhatToAdd()
    {
        using var host = await TestHosts.StartAsync(o => o.Environment.ParentDirectory = _projects.Path, t => t.ResolveEnvironment());

        var error = Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<IWorkerPool>().Workers);

        Assert.Contains("add .RecycleWorkers()", error.Message, StringComparison.Ordinal);
    }

    private static IWorkerPool Pool(IHost host) => host.Services.GetRequiredService<IWorkerPool>();

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private Task<IHost> StartAsync(Action<WorkerOptions>? configure = null, TracTestLogs? logs = null, TimeProvider? time = null) =>
        TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().RecycleWorkers(o =>
            {
                o.ConfigureServices = (s, _) => s.AddSingleton(_recorder);
                configure?.Invoke(o);
            }).Dispatch<RecordingApplication>(),
            services: s => s.AddSingleton(time ?? _time),
            logs: logs);
}
