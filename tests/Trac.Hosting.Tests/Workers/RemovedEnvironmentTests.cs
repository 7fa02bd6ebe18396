using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>
/// A project that leaves the listing answers 404, and its worker is retired with it, instead of keeping its application,
/// services and plugins until a trigger that never comes. The listing is refreshed by the re-scan on the manual clock.
/// </summary>
public sealed class RemovedEnvironmentTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private readonly TracTestDirectory _projects = new();

    public void Dispose() => _projects.Dispose();

    [Theory]
    [InlineData("directory removed")]
    [InlineData("hidden by .tracignore")]
    public async Task AProjectLeavingTheListing_HasItsWorkerRetired(string how)
    {
        var gone = _projects.CreateEnvironment("gone");
        _projects.CreateEnvironment("stays");
        await using var host = await StartAsync();
        Assert.Equal(200, (await host.Request("gone").SendAsync()).StatusCode);
        Assert.Equal(200, (await host.Request("stays").SendAsync()).StatusCode);

        switch (how)
        {
            case "directory removed":
                Directory.Delete(gone, recursive: true);
                break;
            default:
                _projects.WriteTracIgnore("gone\n");
                break;
        }

        host.Time.Advance(Interval);

        var stopped = await host.Logs.WaitForAsync(e => e.Id.Id == Diagnostics.EventIds.WorkerStopped);
        Assert.Contains("environment_removed", stopped.Message, StringComparison.Ordinal);
        Assert.Contains("Stopped worker gone #1", stopped.Message, StringComparison.Ordinal);
        Assert.Equal(404, (await host.Request("gone").SendAsync()).StatusCode);
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.EnvironmentRemoved)));
        // The other project keeps its worker.
        var remaining = Assert.Single(host.Workers.State);
        Assert.Equal((Path.Combine(_projects.Path, "stays"), 1L, TracWorkerState.Serving), (remaining.Key, remaining.Generation, remaining.State));
    }

    [Fact]
    public async Task AProjectThatComesBack_GetsANewWorker()
    {
        var gone = _projects.CreateEnvironment("gone");
        await using var host = await StartAsync();
        Assert.Equal(200, (await host.Request("gone").SendAsync()).StatusCode);
        Directory.Delete(gone, recursive: true);
        host.Time.Advance(Interval);
        await host.Logs.WaitForAsync(e => e.Id.Id == Diagnostics.EventIds.WorkerStopped);

        _projects.CreateEnvironment("gone");
        host.Time.Advance(Interval);

        Assert.Equal(200, (await host.Request("gone").SendAsync()).StatusCode);
        // The project's state was freed when it left, so the one that came back is numbered from 1 again.
        Assert.Equal(2, host.Logs.Entries.Count(e => e.Id.Id == Diagnostics.EventIds.WorkerStarted));
        Assert.Equal([1L, 1L], host.Recorder.Dispatches.Select(d => d.Generation));
        Assert.Equal(TracWorkerState.Serving, Assert.Single(host.Workers.State).State);
    }

    private Task<TracTestHost> StartAsync() =>
        TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => o.Environment.RescanInterval = Interval)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().Dispatch<TracRecordingApplication>())
            .StartAsync();
}
