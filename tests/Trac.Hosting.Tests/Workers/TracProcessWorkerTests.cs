using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>Real Trac as worker processes behind the pipeline: Trac's own FastCGI server, started, recycled and stopped by the pool.</summary>
public sealed class TracProcessWorkerTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();
    private readonly TracTestDirectory _run = new();

    public void Dispose()
    {
        _projects.Dispose();
        _run.Dispose();
    }

    [Fact]
    public async Task WikiPage_IsServedByATracProcess_ARecycleReplacesTheProcess_AndNoneOutlivesTheHost()
    {
        await RealTrac.CreateEnvironmentAsync(Path.Combine(_projects.Path, "alpha"), "Alpha Project");
        var host = await StartAsync();
        try
        {
            var first = await host.Request("alpha", "/wiki/WikiStart").SendAsync();

            Assert.Equal(200, first.StatusCode);
            Assert.Contains("Alpha Project", first.Body, StringComparison.Ordinal);
            Assert.Contains("href=\"/alpha/wiki", first.Body, StringComparison.Ordinal);
            Assert.StartsWith("text/html", first.Headers["Content-Type"], StringComparison.Ordinal);
            Assert.Single(RealTrac.Processes(_run.Path));

            var stopped = host.Logs.WaitForNextAsync("WorkerStopped", TimeSpan.FromSeconds(60));
            await host.Workers.RecycleAsync("alpha");
            var second = await host.Request("alpha", "/wiki/WikiStart").SendAsync();
            await stopped;

            Assert.Equal(200, second.StatusCode);
            Assert.Contains("Alpha Project", second.Body, StringComparison.Ordinal);
            Assert.Equal(2, host.Workers.Serving("alpha")?.Generation);
            Assert.Single(RealTrac.Processes(_run.Path));
        }
        finally
        {
            await host.DisposeAsync();
        }

        Assert.Empty(RealTrac.Processes(_run.Path));
    }

    [Fact]
    public async Task KilledTracProcess_IsReplaced_AndTheProjectServesAgain()
    {
        await RealTrac.CreateEnvironmentAsync(Path.Combine(_projects.Path, "alpha"), "Alpha Project");
        var host = await StartAsync();
        try
        {
            Assert.Equal(200, (await host.Request("alpha", "/wiki/WikiStart").SendAsync()).StatusCode);
            var replaced = host.Workers.WaitForRecycleAsync("alpha", TimeSpan.FromSeconds(60));

            using (var trac = System.Diagnostics.Process.GetProcessById(Assert.Single(RealTrac.Processes(_run.Path))))
            {
                trac.Kill();
            }

            await replaced;
            var after = await host.Request("alpha", "/wiki/WikiStart").SendAsync();
            Assert.Equal(200, after.StatusCode);
            Assert.Contains("Alpha Project", after.Body, StringComparison.Ordinal);
            Assert.Equal(2, host.Workers.Serving("alpha")?.Generation);
            Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.Crashed)));
        }
        finally
        {
            await host.DisposeAsync();
        }

        Assert.Empty(RealTrac.Processes(_run.Path));
    }

    private Task<TracTestHost> StartAsync()
    {
        return TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().DispatchToTrac(RealTrac.Configure(_run.Path)))
            .StartAsync();
    }
}
