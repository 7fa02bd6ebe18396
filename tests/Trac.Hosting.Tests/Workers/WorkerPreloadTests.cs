using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>
/// Trac:Workers:Preload starts the listed projects' workers once the host has started, in the background and bounded,
/// with the health check degraded until they are done; requests meanwhile share those starts.
/// </summary>
public sealed class WorkerPreloadTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public WorkerPreloadTests()
    {
        _projects.CreateEnvironment("alpha");
        _projects.CreateEnvironment("beta");
        _projects.CreateEnvironment("gamma");
    }

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task Everything_StartsEveryListedProject_BeforeAnyRequest()
    {
        await using var host = await StartAsync(o => o.Preload.Add("*"));

        var done = await host.Logs.WaitForAsync("WorkersPreloaded");

        Assert.Equal(["alpha", "beta", "gamma"], host.Workers.State.Select(w => Path.GetFileName(w.Key)).Order(StringComparer.Ordinal));
        Assert.Equal(3, host.Recorder.Starts);
        Assert.Contains("Started the workers of 3 project(s)", done.Message, StringComparison.Ordinal);
        Assert.Equal(3, host.Logs.Entries.Count(e => e.Id.Name == "WorkerStarted" && e.Message.Contains("(preload)", StringComparison.Ordinal)));
        // The first request finds its worker warm.
        Assert.StartsWith("beta#1 ", (await host.Request("beta").SendAsync()).Body, StringComparison.Ordinal);
        Assert.Equal(3, host.Recorder.Starts);
        Assert.Equal(HealthStatus.Healthy, (await host.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task AList_StartsOnlyThoseProjects_AndSkipsANameThatIsNoProject()
    {
        await using var host = await StartAsync(o =>
        {
            o.Preload.Add("gamma");
            o.Preload.Add("demo");
        });

        await host.Logs.WaitForAsync("WorkersPreloaded");

        Assert.Equal(["gamma"], host.Workers.State.Select(w => Path.GetFileName(w.Key)));
        var skipped = Assert.Single(host.Logs.Entries, e => e.Id.Name == "WorkerPreloadSkipped");
        Assert.Contains("'demo'", skipped.Message, StringComparison.Ordinal);
        Assert.Contains("no project of that name is listed", skipped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WhileStarting_HealthIsDegraded_StartsAreBounded_AndARequestSharesTheStart()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var twoWarming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var warmingNames = new ConcurrentQueue<string>();
        var warming = 0;
        var mostAtOnce = 0;
        await using var host = await StartAsync(
            o =>
            {
                o.Preload.Add("*");
                o.MaxConcurrentPreloads = 2;
            },
            recorder => recorder.WarmUp = async (context, token) =>
            {
                AtomicMax.Raise(ref mostAtOnce, Interlocked.Increment(ref warming));
                warmingNames.Enqueue(context.Environment!.Name);
                if (warmingNames.Count == 2)
                {
                    twoWarming.TrySetResult();
                }

                try
                {
                    await release.Task.WaitAsync(token);
                }
                finally
                {
                    Interlocked.Decrement(ref warming);
                }
            });
        await twoWarming.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var startsWhileTwoWarm = host.Recorder.Starts;
        var starting = await host.CheckHealthAsync();
        warmingNames.TryPeek(out var project);

        // A request for a project whose preload is warming waits for that start instead of making its own.
        var request = host.Request(project!).SendAsync();
        release.SetResult();
        var response = await request;
        await host.Logs.WaitForAsync("WorkersPreloaded");

        Assert.Equal(2, startsWhileTwoWarm);
        Assert.Equal(HealthStatus.Degraded, starting.Status);
        var entry = starting.Entries.Single().Value;
        Assert.StartsWith("Starting the workers of Trac:Workers:Preload: ", entry.Description, StringComparison.Ordinal);
        Assert.Equal(["alpha", "beta", "gamma"], ((IReadOnlyList<string>)entry.Data["preloading"]).Order(StringComparer.Ordinal));
        Assert.Equal(2, mostAtOnce);
        Assert.StartsWith($"{project}#1 ", response.Body, StringComparison.Ordinal);
        Assert.Equal(3, host.Recorder.Starts);
        Assert.Contains(host.Logs.Entries, e => e.Id.Name == "WorkerStarted" && e.Message.StartsWith($"Started worker {project} #1 (preload)", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Logs.Entries, e => e.Id.Name == "WorkerStarted" && e.Message.Contains("(first_request)", StringComparison.Ordinal));
        Assert.Equal(HealthStatus.Healthy, (await host.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task AStartThatNeedsARetry_IsWaitedFor_PastStartTimeout()
    {
        // Each attempt gets StartTimeout (10 s); two attempts of 8 s, the first failing, take longer than one of them.
        var time = TracTestTime.StartingNow();
        var attempts = 0;
        await using var host = await StartAsync(
            o =>
            {
                o.Preload.Add("alpha");
                o.StartTimeout = TimeSpan.FromSeconds(10);
            },
            recorder => recorder.WarmUp = async (_, token) =>
            {
                var attempt = Interlocked.Increment(ref attempts);
                await Task.Delay(TimeSpan.FromSeconds(8), time, token);
                if (attempt == 1)
                {
                    throw new InvalidOperationException("first attempt");
                }
            },
            time);

        var done = host.Logs.WaitForAsync("WorkersPreloaded");
        await time.AdvanceUntilAsync(done, TimeSpan.FromSeconds(1), limit: TimeSpan.FromMinutes(2));

        Assert.Contains("Started the workers of 1 project(s)", (await done).Message, StringComparison.Ordinal);
        Assert.Equal(2, attempts);
        Assert.NotNull(host.Workers.Serving("alpha"));
        Assert.Equal(HealthStatus.Healthy, (await host.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task AStartThatFails_IsReported_AndTheProjectsNextRequestTriesAgain()
    {
        var fail = 1;
        await using var host = await StartAsync(
            o =>
            {
                o.Preload.Add("beta");
                o.ConfigureStartPipeline = (_, _) => { }; // no retries: the first failure is the start's
            },
            recorder => recorder.FailStart = _ => Interlocked.Exchange(ref fail, 0) == 1 ? new InvalidOperationException("broken plugin") : null);

        var done = await host.Logs.WaitForAsync("WorkersPreloaded");

        Assert.Contains("0 project(s)", done.Message, StringComparison.Ordinal);
        Assert.Contains("1 could not start: beta", done.Message, StringComparison.Ordinal);
        Assert.Contains(host.Logs.Entries, e => e.Id.Name == "WorkerStartFailed" && e.Message.Contains("broken plugin", StringComparison.Ordinal));
        Assert.Equal(HealthStatus.Healthy, (await host.CheckHealthAsync()).Status);
        Assert.StartsWith("beta#", (await host.Request("beta").SendAsync()).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxWorkers_BoundsWhatIsStarted()
    {
        await using var host = await StartAsync(o =>
        {
            o.Preload.Add("*");
            o.MaxWorkers = 2;
        });

        await host.Logs.WaitForAsync("WorkersPreloaded");

        Assert.Equal(2, host.Workers.State.Count);
        var skipped = Assert.Single(host.Logs.Entries, e => e.Id.Name == "WorkerPreloadSkipped");
        Assert.Contains("Trac:Workers:MaxWorkers lets 2", skipped.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Id.Name == "WorkerSwitched");
    }

    [Fact]
    public async Task Shared_StartsTheOneSharedWorker()
    {
        await using var host = await StartAsync(o =>
        {
            o.Preload.Add("*");
            o.Scope = WorkerScope.Shared;
        });

        await host.Logs.WaitForAsync("WorkersPreloaded");

        Assert.Equal(["shared"], host.Workers.State.Select(w => w.Key));
        Assert.Equal(1, host.Recorder.Starts);
    }

    [Fact]
    public async Task StoppingTheHostWhilePreloading_EndsCleanly_AndStopsWhatFinishedStartingLate()
    {
        var warming = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = await StartAsync(
            o => o.Preload.Add("alpha"),
            recorder => recorder.WarmUp = async (_, token) =>
            {
                using var registration = token.Register(() => stopping.TrySetResult());
                warming.TrySetResult();
                await release.Task; // a warm-up that ignores its cancellation
            });
        await warming.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var disposed = host.DisposeAsync().AsTask();
        await stopping.Task.WaitAsync(TimeSpan.FromSeconds(30));
        release.SetResult();
        await disposed.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, host.Recorder.Starts);
        Assert.True(host.Recorder.IsDisposed("alpha", 1));
        Assert.DoesNotContain(host.Logs.Entries, e => e.Id.Name == "WorkersPreloaded");
    }

    [Theory]
    [InlineData("", "Trac:Workers:Preload:0 is empty")]
    [InlineData("/srv/trac/demo", "Trac:Workers:Preload:0 '/srv/trac/demo' is not a project name")]
    public async Task ABadName_StopsStartUp_SayingWhatToGive(string name, string expected)
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(o => o.Preload.Add(name)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("or * for every project", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoConcurrency_StopsStartUp()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(o => o.MaxConcurrentPreloads = 0));

        Assert.Contains("Trac:Workers:MaxConcurrentPreloads 0 must be at least 1.", error.Message, StringComparison.Ordinal);
    }

    private Task<TracTestHost> StartAsync(Action<WorkerOptions> configure, Action<TracRecorder>? recorder = null, TimeProvider? time = null) =>
        TracTestHost.CreateBuilder(_projects)
            .UseTime(time ?? TracTestTime.StartingNow())
            .ConfigureServices(s => s.AddHealthChecks().AddTracHealthChecks())
            .UseTrac((t, r) =>
            {
                recorder?.Invoke(r);
                t.ResolveEnvironment().RecycleWorkers(configure).Dispatch<TracRecordingApplication>();
            })
            .StartAsync();
}
