using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>A project whose replacement cannot start: the others keep recycling, and nothing grows while it stays broken.</summary>
public sealed class RecycleUnderFailureTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public RecycleUnderFailureTests()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        _projects.CreateEnvironment("broken", e => e.WithProject("Broken"));
    }

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task FailingStartInItsBackOff_DoesNotDelayAnotherProjectsRecycle()
    {
        // One place in the gate, and a clock nobody advances: the broken project's retry back-off never ends.
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(o => o.MaxConcurrentRecycles = 1);
        host.Recorder.FailStart = worker =>
        {
            if (worker.Environment?.Name != "broken" || worker.Generation < 2)
            {
                return null;
            }

            failed.TrySetResult();
            return new InvalidOperationException("broken replacement");
        };

        Assert.StartsWith("broken#1 ", await BodyAsync(host, "broken"), StringComparison.Ordinal);
        await failed.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var switched = host.Workers.WaitForRecycleAsync("alpha", TimeSpan.FromSeconds(30));
        Assert.StartsWith("alpha#1 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        await switched;

        Assert.StartsWith("alpha#2 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        // The broken project's old worker still serves.
        Assert.StartsWith("broken#1 ", await BodyAsync(host, "broken"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenBreaker_KeepsOneRetryTimerPerWorkerWhileTheOldWorkerServes()
    {
        var clock = new TimerCountingClock();
        var breaks = true;
        await using var host = await StartAsync(o => o.MaxRequests = 1, clock, health: true);
        host.Recorder.FailStart = worker => worker.Generation >= 2 && Volatile.Read(ref breaks) ? new InvalidOperationException("broken") : null;

        Assert.StartsWith("alpha#1 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        // Three failed attempts (the first with its two retries, on the manual clock) open the breaker.
        await clock.Manual.AdvanceUntilAsync(host.Logs.WaitForAsync("WorkerStartFailed"), TimeSpan.FromMilliseconds(50));
        Assert.Equal(HealthStatus.Degraded, (await host.CheckHealthAsync()).Status);

        var timers = clock.LiveTimers;
        for (var i = 0; i < 200; i++)
        {
            Assert.StartsWith("alpha#1 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        }

        // Each finished request could ask for a recycle; the worker holds one retry timer whatever their number.
        Assert.InRange(clock.LiveTimers, 0, timers + 1);

        // Once the project is fixed, the pending retry starts the replacement after the break.
        Volatile.Write(ref breaks, false);
        var switched = host.Workers.WaitForRecycleAsync("alpha", TimeSpan.FromSeconds(30));
        await clock.Manual.AdvanceUntilAsync(switched, TimeSpan.FromSeconds(1));
        Assert.Matches("^alpha#([2-9]|[1-9][0-9]+) ", await BodyAsync(host, "alpha"));
        Assert.Equal(HealthStatus.Healthy, (await host.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task ConsecutiveFailures_OpenTheBreakerAfterManySuccessfulRecycles()
    {
        var breaks = false;
        await using var host = await StartAsync(o => o.MaxRequests = 1, health: true);
        host.Recorder.FailStart = _ => Volatile.Read(ref breaks) ? new InvalidOperationException("broken") : null;

        for (var generation = 1; generation <= 20; generation++)
        {
            var switched = host.Workers.WaitForRecycleAsync("alpha", TimeSpan.FromSeconds(30));
            Assert.StartsWith($"alpha#{generation} ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
            await switched;
        }

        Volatile.Write(ref breaks, true);
        Assert.StartsWith("alpha#21 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
        // Twenty successful starts within the minute do not outweigh three failed ones in a row.
        await host.Time.AdvanceUntilAsync(host.Logs.WaitForAsync("WorkerStartFailed"), TimeSpan.FromMilliseconds(50));

        var report = await host.CheckHealthAsync();
        Assert.Equal(HealthStatus.Degraded, report.Status);
        Assert.StartsWith("alpha#21 ", await BodyAsync(host, "alpha"), StringComparison.Ordinal);
    }

    private static async Task<string> BodyAsync(TracTestHost host, string environment)
    {
        var response = await host.Request(environment).SendAsync();
        Assert.Equal(200, response.StatusCode);
        return response.Body;
    }

    private Task<TracTestHost> StartAsync(Action<WorkerOptions> configure, TimeProvider? time = null, bool health = false)
    {
        var builder = TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o =>
            {
                o.MaxRequests = 1;
                o.MaxRequestsJitter = 0;
                configure(o);
            }).Dispatch<TracRecordingApplication>());
        if (health)
        {
            builder.ConfigureServices(s => s.AddHealthChecks().AddTracHealthChecks());
        }

        if (time is not null)
        {
            builder.UseTime(time);
        }

        return builder.StartAsync();
    }
}
