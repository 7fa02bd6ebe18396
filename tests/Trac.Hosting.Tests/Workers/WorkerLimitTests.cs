using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary><c>MaxWorkers</c>: the pool-wide cap on serving workers, kept by retiring the least recently used idle one.</summary>
public sealed class WorkerLimitTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public WorkerLimitTests()
    {
        foreach (var name in new[] { "alpha", "beta", "gamma" })
        {
            _projects.CreateEnvironment(name, e => e.WithProject(name));
        }
    }

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task AtTheLimit_TheLeastRecentlyUsedIdleWorkerIsRetired_AndItsProjectStartsAgainOnItsNextRequest()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o => o.MaxWorkers = 2).Dispatch<TracRecordingApplication>())
            .StartAsync();
        await host.Request("alpha").SendAsync();
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await host.Request("beta").SendAsync();
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await host.Request("alpha").SendAsync();
        host.Time.Advance(TimeSpan.FromSeconds(1));

        var gamma = await host.Request("gamma").SendAsync();

        Assert.Equal(200, gamma.StatusCode);
        Assert.Null(host.Workers.Serving("beta"));
        Assert.NotNull(host.Workers.Serving("alpha"));
        Assert.NotNull(host.Workers.Serving("gamma"));
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.WorkerLimit)));

        host.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(200, (await host.Request("beta").SendAsync()).StatusCode);
        Assert.NotNull(host.Workers.Serving("beta"));
        Assert.Null(host.Workers.Serving("alpha"));
        Assert.Equal(2, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.WorkerLimit)));
    }

    [Fact]
    public async Task AWorkerRunningARequest_IsNotRetiredForRoom()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o => o.MaxWorkers = 1)
                .Use(next => async context =>
                {
                    if (context.Request.Query.ContainsKey("hold"))
                    {
                        entered.TrySetResult();
                        await release.Task;
                    }

                    await next(context);
                })
                .Dispatch<TracRecordingApplication>())
            .StartAsync();
        var held = host.Request("alpha", "/?hold=1").SendAsync();
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var beta = await host.Request("beta").SendAsync();
        release.SetResult();

        Assert.Equal(200, beta.StatusCode);
        Assert.Equal(200, (await held).StatusCode);
        Assert.NotNull(host.Workers.Serving("alpha"));
        Assert.Equal(0, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.WorkerLimit)));
    }

    [Fact]
    public void ANegativeLimit_IsRefusedNamingTheKey()
    {
        var error = Assert.Throws<InvalidOperationException>(() => WorkerSettings.Create(new WorkerOptions { MaxWorkers = -1 }));

        Assert.Contains("Trac:Workers:MaxWorkers", error.Message, StringComparison.Ordinal);
    }
}
