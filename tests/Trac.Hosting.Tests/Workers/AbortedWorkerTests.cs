using Microsoft.AspNetCore.Http;
using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>Requests that ignore the abort signal after the drain deadline: the worker says so and stays listed until they return.</summary>
public sealed class AbortedWorkerTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public AbortedWorkerTests() => _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task RequestsIgnoringTheAbort_KeepTheirWorkerListedAsAbortedUntilTheyReturn()
    {
        var arrived = new CountdownEvent(3);
        var stubborn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o => o.DrainTimeout = TimeSpan.FromSeconds(3)).Dispatch<TracRecordingApplication>())
            .StartAsync();
        host.Recorder.OnDispatch = async context =>
        {
            if (context.GetTracWorker()?.Generation == 1 && context.Request.Path == "/stubborn")
            {
                arrived.Signal();
                // Ignores context.RequestAborted and the worker's Aborting token.
                await stubborn.Task;
            }
        };

        var requests = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            try
            {
                await host.Request("alpha", "/stubborn").SendAsync();
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                // The client of an aborted request sees the exchange cut off.
            }
        })).ToArray();
        Assert.True(arrived.Wait(TimeSpan.FromSeconds(30)));

        await host.Workers.RecycleAsync("alpha");
        var stopped = host.Logs.WaitForAsync("WorkerStoppedWithRequestsRunning");
        await host.Time.AdvanceUntilAsync(stopped, TimeSpan.FromMilliseconds(500));

        Assert.Contains("with 3 requests still running", (await stopped).Message, StringComparison.Ordinal);
        Assert.True(host.Recorder.IsDisposed("alpha", 1));
        var aborted = Assert.Single(host.Workers.State, w => w.Generation == 1);
        Assert.Equal(TracWorkerState.Aborted, aborted.State);
        Assert.Equal(3, aborted.ActiveRequests);
        Assert.Equal(3, host.Metrics.Sum("trac.worker.outliving_requests"));
        Assert.Single(host.Logs.Entries, e => e.Id.Name == "WorkerStoppedWithRequestsRunning");

        // The last one returning takes the worker off the list.
        var returned = host.Logs.WaitForAsync("WorkerAbortedRequestsReturned");
        stubborn.SetResult();
        await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(30));
        await returned;
        Assert.Equal(2, Assert.Single(host.Workers.State).Generation);
    }
}
