using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Testing.Tests;

/// <summary>The kit's inline test host, request helpers, recorder, logs, metrics and worker controls, used as a user would.</summary>
public sealed class TracTestHostTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public TracTestHostTests()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        _projects.CreateEnvironment("beta", e => e.WithProject("Beta").WithPlugin("Tool", ("lib/tool.txt", "t")));
    }

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task DefaultHost_ServesTheTestEnvironmentsAndRecordsDispatches()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var response = await host.Request("alpha", "/wiki/Start").SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("alpha#0 /alpha|/wiki/Start user=-", response.Body);
        var record = Assert.Single(host.Recorder.Dispatches);
        Assert.Equal(("alpha", "/alpha", "/wiki/Start", (string?)null), (record.Environment, record.PathBase, record.Path, record.RemoteUser));
        Assert.Equal("Alpha", record.ProjectName);
        Assert.Equal((null, null, 0), (record.WorkerEnvironment, record.WorkerProjectName, record.WorkerPluginAssemblies.Count));
    }

    [Fact]
    public async Task Recorder_RecordsWhatTheWorkerWasBuiltWith()
    {
        var assembly = Path.Combine(AppContext.BaseDirectory, "Trac.Hosting.TestPlugin.dll");
        _projects.CreateEnvironment("gamma", e => e.WithProject("Gamma").WithPluginAssembly("Greeter", assembly));
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().UsePluginCache().RecycleWorkers().Dispatch<TracRecordingApplication>())
            .StartAsync();

        await host.Request("gamma").SendAsync();

        var record = Assert.Single(host.Recorder.Dispatches);
        Assert.Equal(("gamma", "Gamma", 1L), (record.WorkerEnvironment, record.WorkerProjectName, record.Generation));
        Assert.Equal(["Trac.Hosting.TestPlugin"], record.WorkerPluginAssemblies);
    }

    [Theory]
    [InlineData(false, "alpha", "Alpha")]
    [InlineData(true, "shared", null)]
    public async Task Recorder_AsADelegate_RecordsTheWorkerServingTheRequest(bool shared, string worker, string? project)
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac((trac, recorder) => trac.ResolveEnvironment()
                .RecycleWorkers(o => o.Scope = shared ? WorkerScope.Shared : WorkerScope.PerEnvironment)
                .Dispatch(recorder.Dispatch))
            .StartAsync();

        await host.Request("alpha").SendAsync();

        var record = Assert.Single(host.Recorder.Dispatches);
        Assert.Equal(("alpha", "Alpha"), (record.Environment, record.ProjectName));
        Assert.Equal((worker, project, 1L), (record.WorkerEnvironment, record.WorkerProjectName, record.Generation));
        Assert.Empty(record.WorkerPluginAssemblies);
    }

    [Fact]
    public async Task RepeatedHeader_ArrivesWithEveryValue()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();
        var seen = Microsoft.Extensions.Primitives.StringValues.Empty;
        host.Recorder.OnDispatch = context =>
        {
            seen = context.Request.Headers["X-Many"];
            return Task.CompletedTask;
        };

        await host.Request("alpha").WithHeader("X-Many", "one", "two").SendAsync();

        Assert.Equal("one,two", seen.ToString());
        Assert.Equal(2, seen.Count);
        Assert.Throws<ArgumentException>(() => host.Request("alpha").WithHeader("X-None"));
    }

    [Theory]
    [InlineData(RemoteUserSource.Principal, null)]
    [InlineData(RemoteUserSource.ServerVariable, null)]
    [InlineData(RemoteUserSource.Header, "127.0.0.1")]
    public async Task AsUser_ReachesTheDispatchThroughEachSource(RemoteUserSource source, string? peer)
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => o.RemoteUser.KnownProxies.Add("127.0.0.1"))
            .UseTrac((trac, recorder) => trac.ResolveEnvironment().NormalizeRemoteUser().Dispatch(recorder.Dispatch))
            .StartAsync();
        var request = host.Request("alpha").AsUser(@"CORP\Alice", source);
        if (peer is not null)
        {
            request.FromPeer(peer);
        }

        var response = await request.SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("Alice", host.Recorder.Dispatches.Single().RemoteUser);
    }

    [Fact]
    public async Task AsUser_WithAPrincipal_KeepsItsRolesThroughNormalization()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac((trac, recorder) => trac.ResolveEnvironment().NormalizeRemoteUser().Dispatch(recorder.Dispatch))
            .StartAsync();
        var principal = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
            [new(System.Security.Claims.ClaimTypes.Name, @"CORP\Alice"), new(System.Security.Claims.ClaimTypes.Role, "developer")], "Negotiate"));
        bool? developer = null;
        host.Recorder.OnDispatch = context =>
        {
            developer = context.User.IsInRole("developer");
            return Task.CompletedTask;
        };

        await host.Request("alpha").AsUser(principal).SendAsync();

        Assert.Equal("Alice", host.Recorder.Dispatches.Single().RemoteUser);
        Assert.True(developer);
    }

    [Fact]
    public async Task HeaderFromAnUntrustedPeer_IsNotTheUser()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => o.RemoteUser.KnownProxies.Add("127.0.0.1"))
            .UseTrac((trac, recorder) => trac.ResolveEnvironment().NormalizeRemoteUser().Dispatch(recorder.Dispatch))
            .StartAsync();

        await host.Request("alpha").AsUser("admin", RemoteUserSource.Header).FromPeer("203.0.113.1").SendAsync();

        Assert.Null(host.Recorder.Dispatches.Single().RemoteUser);
    }

    [Fact]
    public async Task ServerVariables_ReachTheStages()
    {
        var other = _projects.CreateEnvironment("gamma", e => e.WithProject("Gamma"));
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var response = await host.Request("alpha").WithServerVariable("trac.env_path", other).SendAsync();

        Assert.Equal("gamma#0 |/alpha/ user=-", response.Body);
    }

    [Fact]
    public async Task WorkerControls_WaitForceAndRead()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().UsePluginCache().RecycleWorkers(o => o.IdleTimeout = TimeSpan.FromMinutes(10)).Dispatch<TracRecordingApplication>())
            .StartAsync();
        Assert.Equal(200, (await host.Request("beta").SendAsync()).StatusCode);
        Assert.Single(host.Recorder.Dispatches.Single().PluginFolders);

        var recycled = host.Workers.WaitForRecycleAsync("beta");
        await host.Workers.RecycleAsync("beta", "test");
        await recycled;
        await host.Recorder.WaitForDisposeAsync("beta", 1);
        Assert.StartsWith("beta#2 ", (await host.Request("beta").SendAsync()).Body, StringComparison.Ordinal);
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", "test")));
        Assert.Contains(host.Workers.State, w => w.Key == host.Workers.KeyOf("beta") && w.Generation == 2);

        var retired = host.Workers.WaitForRecycleAsync("beta");
        host.Workers.AdvancePast(TimeSpan.FromMinutes(10));
        await retired;
        await host.Recorder.WaitForDisposeAsync("beta", 2);
        Assert.DoesNotContain(host.Workers.State, w => w.Key == host.Workers.KeyOf("beta") && w.State == TracWorkerState.Serving);
    }

    [Fact]
    public async Task Recorder_BlocksFailsAndCountsDisposedDispatches()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            // Starts retry with back-off on the host's manual clock: no retries here, so a failure answers at once.
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o => o.ConfigureStartPipeline = (_, _) => { }).Dispatch<TracRecordingApplication>())
            .StartAsync();
        host.Recorder.FailStart = worker => worker.Environment?.Name == "beta" ? new InvalidOperationException("no beta") : null;

        var blocked = host.Recorder.BlockAsync();
        var request = host.Request("alpha").SendAsync();
        await blocked;
        Assert.False(request.IsCompleted);
        host.Recorder.Release();

        Assert.Equal(200, (await request).StatusCode);
        Assert.Equal(503, (await host.Request("beta").SendAsync()).StatusCode);
        Assert.Equal(0, host.Recorder.DispatchesAfterDispose);
    }

    [Fact]
    public async Task Kestrel_ServesOverLoopbackAndRefusesTestServerOnlyRequests()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects).UseKestrel().StartAsync();

        Assert.NotNull(host.BaseAddress);
        Assert.True(System.Net.IPAddress.IsLoopback(System.Net.IPAddress.Parse(host.BaseAddress.Host)));
        Assert.Equal("alpha#0 /alpha|/ user=-", (await host.Request("alpha").SendAsync()).Body);
        using var client = host.CreateClient();
        Assert.Equal("Environment not found", await (await client.GetAsync("/nosuch/")).Content.ReadAsStringAsync());
        await Assert.ThrowsAsync<NotSupportedException>(() => host.Request("alpha").AsUser("alice").SendAsync());
    }

    [Fact]
    public async Task MachineProcessVariables_NeverLeakIn()
    {
        // Whatever TRAC_ENV the machine has, the host serves the test directory in parent-directory mode.
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        Assert.Equal(404, (await host.Request("nosuch").SendAsync()).StatusCode);
        Assert.Equal(200, (await host.Request("beta").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task EggCacheServerVariable_AndLeakingDispatches()
    {
        var cache = Path.Combine(_projects.Path, "per-request-cache");
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac((trac, recorder) => trac.ResolveEnvironment().UsePluginCache().Dispatch(recorder.Dispatch))
            .StartAsync();
        host.Recorder.LeakPerRequest = 1024;

        await host.Request("beta").WithServerVariable("PYTHON_EGG_CACHE", cache).SendAsync();

        Assert.StartsWith(cache + Path.DirectorySeparatorChar, host.Recorder.Dispatches.Single().PluginFolders.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_WaitingForAnEntryThatNeverComes_TimesOut()
    {
        var logs = new TracTestLogs();

        await Assert.ThrowsAsync<TimeoutException>(() => logs.WaitForAsync("NeverLogged", TimeSpan.FromMilliseconds(1)));
    }

    [Fact]
    public async Task Metrics_SumByTag()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o => o.MaxRequests = 1).Dispatch<TracRecordingApplication>())
            .StartAsync();
        var recycled = host.Workers.WaitForRecycleAsync("alpha");

        await host.Request("alpha").SendAsync();
        await recycled;

        Assert.Equal(1, host.Metrics.Sum("trac.worker.requests"));
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", "maximum_requests")));
        Assert.Equal(0, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", "manual")));
    }

    [Fact]
    public async Task AnyTimeProvider_CanBeUsed()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects).UseTime(TimeProvider.System).StartAsync();

        Assert.Same(TimeProvider.System, host.TimeProvider);
        Assert.Throws<InvalidOperationException>(() => host.Time);
        Assert.Equal(200, (await host.Request("alpha").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task TheTestsOwnFakeTimeProvider_IsTheHostsClock()
    {
        var start = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(start);
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTime(time)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o => o.IdleTimeout = TimeSpan.FromMinutes(5)).Dispatch<TracRecordingApplication>())
            .StartAsync();
        await host.Request("alpha").SendAsync();
        var startedAt = host.Workers.Serving("alpha")?.StartedAt;
        var retired = host.Workers.WaitForRecycleAsync("alpha");

        time.Advance(TimeSpan.FromMinutes(6));
        await retired;

        Assert.Same(time, host.Time);
        Assert.Equal(start, startedAt);
        Assert.Null(host.Workers.Serving("alpha"));
    }

    [Fact]
    public async Task Logs_AreAFakeLogCollectorsRecords()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().Dispatch<TracRecordingApplication>()).StartAsync();

        await host.Request("alpha").SendAsync();
        var started = await host.Logs.WaitForAsync("WorkerStarted");

        Assert.Contains(started, host.Logs.Collector.GetSnapshot());
        Assert.Equal("Trac.Hosting.Workers", started.Category);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Information, started.Level);
        Assert.StartsWith("Started worker alpha #1 (first_request)", started.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_GiveEachInstrumentsMetricCollector()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().Dispatch<TracRecordingApplication>()).StartAsync();
        var requests = host.Metrics.Collector<long>("trac.worker.requests");
        var counted = requests.WaitForMeasurementsAsync(2);

        await host.Request("alpha").SendAsync();
        await host.Request("alpha").SendAsync();
        await counted.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, requests.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Single(host.Metrics.Collector<double>("trac.worker.start.duration").GetMeasurementSnapshot());
        var wrongType = Assert.Throws<InvalidOperationException>(() => host.Metrics.Collector<double>("trac.worker.requests"));
        Assert.Contains("does not measure Double", wrongType.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<InvalidOperationException>(() => host.Metrics.Collector<long>("trac.worker.request"));
        Assert.Contains("no instrument named 'trac.worker.request'", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("trac.worker.requests", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DisposingWhileAWorkerDrainsABlockedRequest_DoesNotHang()
    {
        var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().Dispatch<TracRecordingApplication>())
            .StartAsync();
        var blocked = host.Recorder.BlockAsync();
        var request = host.Request("alpha").SendAsync();
        await blocked;
        Assert.Same(blocked, host.Recorder.BlockAsync());
        await host.Workers.RecycleAsync("alpha");

        await host.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        await request.ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Metrics_AreThoseOfTheirOwnHost()
    {
        await using var first = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().Dispatch<TracRecordingApplication>()).StartAsync();
        await using var second = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().Dispatch<TracRecordingApplication>()).StartAsync();

        await first.Request("alpha").SendAsync();
        await first.Request("alpha").SendAsync();
        await second.Request("alpha").SendAsync();

        Assert.Equal(2, first.Metrics.Sum("trac.worker.requests"));
        Assert.Equal(1, second.Metrics.Sum("trac.worker.requests"));
    }

    [Fact]
    public async Task WaitForNext_IgnoresEarlierEntries()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().Dispatch<TracRecordingApplication>()).StartAsync();
        await host.Request("alpha").SendAsync();
        await host.Logs.WaitForAsync("WorkerStarted");

        var next = host.Logs.WaitForNextAsync("WorkerStarted");
        Assert.False(next.IsCompleted);
        await host.Workers.RecycleAsync("alpha");

        Assert.Contains("#2", (await next).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recorder_HoldsAReplacementInItsWarmUpWhileTheOldWorkerServes()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().Dispatch<TracRecordingApplication>())
            .StartAsync();
        await host.Request("alpha").SendAsync();
        var warming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var warm = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Recorder.WarmUp = (worker, cancellationToken) =>
        {
            warming.TrySetResult();
            return warm.Task.WaitAsync(cancellationToken);
        };

        var recycle = host.Workers.RecycleAsync("alpha");
        await warming.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var duringWarmUp = await host.Request("alpha").SendAsync();
        warm.SetResult();
        await recycle;
        await host.Recorder.WaitForDisposeAsync("alpha", 1);

        Assert.StartsWith("alpha#1 ", duringWarmUp.Body, StringComparison.Ordinal);
        Assert.StartsWith("alpha#2 ", (await host.Request("alpha").SendAsync()).Body, StringComparison.Ordinal);
        Assert.Equal(2, host.Recorder.Starts);
        Assert.Equal(
            ["Created alpha#1", "WarmingUp alpha#1", "Created alpha#2", "WarmingUp alpha#2", "Disposed alpha#1"],
            host.Recorder.WorkerEvents.Select(e => e.ToString()));
    }

    [Fact]
    public async Task Recorder_RunsExtraWorkInEveryDispatch()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();
        host.Recorder.OnDispatch = context =>
        {
            context.Response.Headers["X-Seen"] = context.Request.Method;
            return Task.CompletedTask;
        };

        var response = await host.Request("alpha").WithBody("x=1").SendAsync();

        Assert.Equal("POST", response.Headers["X-Seen"]);
    }

    [Fact]
    public async Task Kestrel_CarriesMethodAndBody()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects).UseKestrel().StartAsync();
        string? seen = null;
        host.Recorder.OnDispatch = async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            seen = $"{context.Request.Method} {context.Request.ContentType} {await reader.ReadToEndAsync()}";
        };

        var response = await host.Request("alpha").WithMethod("PUT").WithBody("{\"a\":1}", "application/json").SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("PUT application/json {\"a\":1}", seen);
    }

    [Fact]
    public async Task ProcessVariables_ReachTheHostAsFallbacks()
    {
        var alpha = Path.Combine(_projects.Path, "alpha");
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => o.Environment.ParentDirectory = null)
            .WithProcessVariable("TRAC_ENV", alpha)
            .StartAsync();

        var response = await host.RequestPath("/wiki").SendAsync();

        Assert.Equal("alpha#0 |/wiki user=-", response.Body);
        Assert.Equal(alpha, host.Workers.KeyOf("alpha"));
    }

    [Fact]
    public async Task WorkerClockHelpers_SayWhatIsMissing()
    {
        await using var plain = await TracTestHost.CreateBuilder(_projects).StartAsync();
        await using var recycling = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().Dispatch<TracRecordingApplication>())
            .StartAsync();

        Assert.Contains("RecycleWorkers()", Assert.Throws<InvalidOperationException>(() => plain.Workers.Limits).Message, StringComparison.Ordinal);
        Assert.Contains("IdleTimeout", Assert.Throws<InvalidOperationException>(recycling.Workers.AdvancePastIdleTimeout).Message, StringComparison.Ordinal);
        Assert.Contains("MaxLifetime", Assert.Throws<InvalidOperationException>(recycling.Workers.AdvancePastMaxLifetime).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordingApplication_FindsTheRecorderWhateverTheWorkersServices()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o => o.ConfigureServices = (s, _) => s.AddSingleton("own")).Dispatch<TracRecordingApplication>())
            .StartAsync();

        var response = await host.Request("alpha").SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Single(host.Recorder.Dispatches);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Redirects_AreAnsweredNotFollowed(bool kestrel)
    {
        var builder = TracTestHost.CreateBuilder(_projects);
        await using var host = await (kestrel ? builder.UseKestrel() : builder).StartAsync();
        host.Recorder.OnDispatch = context =>
        {
            if (context.Request.Path == "/login")
            {
                context.Response.Redirect("/alpha/wiki");
            }

            return Task.CompletedTask;
        };

        var response = await host.Request("alpha", "/login").SendAsync();

        Assert.Equal(302, response.StatusCode);
        Assert.Equal("/alpha/wiki", response.Headers["Location"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PercentEncodedPaths_AreDecodedAsAServerWould(bool kestrel)
    {
        var builder = TracTestHost.CreateBuilder(_projects);
        await using var host = await (kestrel ? builder.UseKestrel() : builder).StartAsync();

        await host.RequestPath("/alpha/wiki/A%20B?q=a%20b").SendAsync();

        Assert.Equal("/wiki/A B", host.Recorder.Dispatches.Single().Path);
    }
}
