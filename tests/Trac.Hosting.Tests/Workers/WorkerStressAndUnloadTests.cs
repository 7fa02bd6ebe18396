using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>Under load, no request fails or meets a disposed worker; retired plugins unload, and a leak is reported.</summary>
public sealed class WorkerStressAndUnloadTests : IDisposable
{
    private static readonly string PluginAssembly = Path.Combine(AppContext.BaseDirectory, "Trac.Hosting.TestPlugin.dll");
    private readonly TracTestDirectory _projects = new();

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task ManyClientsAcrossEnvironmentsWithATinyMaxRequests_LoseNothing()
    {
        for (var i = 0; i < 4; i++)
        {
            _projects.CreateEnvironment($"p{i}");
        }

        // The real clock: nothing here waits on time, and nothing may hang on a clock no one advances.
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTime(TimeProvider.System)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o =>
            {
                o.MaxRequests = 5;
                o.MaxConcurrentRecycles = 2;
            }).Dispatch<TracRecordingApplication>())
            .StartAsync();
        // Requests that take a while, so that many are in flight when their worker is retired.
        host.Recorder.OnDispatch = async _ =>
        {
            for (var i = 0; i < 3; i++)
            {
                await Task.Yield();
            }
        };

        var failures = 0;
        var clients = Enumerable.Range(0, 16).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < 60; i++)
            {
                var name = $"p{(c + i) % 4}";
                var response = await host.Request(name, $"/wiki/{i}").SendAsync();
                if (response.StatusCode != 200 || !response.Body.StartsWith($"{name}#", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToArray();
        await Task.WhenAll(clients);

        Assert.Equal(0, failures);
        Assert.Equal(0, host.Recorder.DispatchesAfterDispose);
        // Every dispatch ran on a worker built for the environment it served.
        Assert.Equal(960, host.Recorder.Dispatches.Count);
        Assert.All(host.Recorder.Dispatches, d => Assert.Equal(d.Environment, d.WorkerEnvironment));
        // 960 requests at 5 per worker: many generations came and went, and every retired one was disposed.
        var workers = host.Workers.State;
        Assert.True(workers.Max(w => w.Generation) > 10);
        foreach (var serving in workers.Where(w => w.State == TracWorkerState.Serving))
        {
            var name = Path.GetFileName(serving.Key);
            for (var generation = 1; generation < serving.Generation; generation++)
            {
                if (host.Recorder.WorkerEvents.Contains(new TracWorkerEvent(TracWorkerEventKind.WarmingUp, name, generation)))
                {
                    await host.Recorder.WaitForDisposeAsync(name, generation);
                }
            }
        }

        Assert.All(host.Workers.State, w => Assert.Equal(0, w.ActiveRequests));
    }

    [Fact]
    public async Task RetiredWorkersPlugins_Unload()
    {
        _projects.CreateEnvironment("alpha", e => e.WithPluginAssembly("Greeter", PluginAssembly));
        await using var host = await StartWithPluginsAsync();

        Assert.Equal(200, (await host.Request("alpha").SendAsync()).StatusCode);
        var record = host.Recorder.Dispatches.Single();
        Assert.Equal(["Trac.Hosting.TestPlugin"], record.WorkerPluginAssemblies);
        Assert.Equal("My Project", record.WorkerProjectName);
        await host.Workers.RecycleAsync("alpha");

        var unloaded = await host.Logs.WaitForAsync(e => e.Id.Id == Diagnostics.EventIds.WorkerUnloaded);
        Assert.Contains("#1", unloaded.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.WorkerUnloadFailed);
    }

    [Theory]
    [InlineData("worker")]
    [InlineData("worker context")]
    [InlineData("worker services")]
    public async Task ARetiredWorkerStillReferenced_DoesNotKeepItsPluginsLoaded(string what)
    {
        _projects.CreateEnvironment("alpha", e => e.WithPluginAssembly("Greeter", PluginAssembly));
        await using var host = await StartWithPluginsAsync();
        // What the host or the application keeps of a worker may outlive it; its plugins must not.
        object? kept = null;
        TracWorkerContext? worker = null;
        host.Recorder.OnDispatch = context =>
        {
            var current = context.GetTracWorker()!;
            worker = current.Services.GetRequiredService<TracWorkerContext>();
            kept ??= what switch
            {
                "worker" => current,
                "worker context" => worker,
                _ => current.Services,
            };
            return Task.CompletedTask;
        };
        await host.Request("alpha").SendAsync();
        Assert.Single(worker!.PluginAssemblies);
        worker = null;

        await host.Workers.RecycleAsync("alpha");

        var unloaded = await host.Logs.WaitForAsync(e => e.Id.Id is Diagnostics.EventIds.WorkerUnloaded or Diagnostics.EventIds.WorkerUnloadFailed);
        Assert.Equal(Diagnostics.EventIds.WorkerUnloaded, unloaded.Id.Id);
        Assert.NotNull(kept);
        if (kept is TracWorkerContext stopped)
        {
            Assert.Empty(stopped.PluginAssemblies);
        }
    }

    [Fact]
    public async Task AFailedStartWhoseApplicationThrowsOnDispose_StillReleasesItsPlugins()
    {
        _projects.CreateEnvironment("failingstart", e => e.WithPluginAssembly("Greeter", PluginAssembly));
        var leased = new List<TracPluginSet>();
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().UsePluginCache().RecycleWorkers(o =>
            {
                // One attempt; the worker registration only remembers the plugin set the worker leased.
                o.ConfigureStartPipeline = (_, _) => { };
                o.ConfigureServices = (_, context) => leased.Add(context.Plugins!);
            }).Dispatch<FailingApplication>())
            .StartAsync();

        Assert.Equal(503, (await host.Request("failingstart").SendAsync()).StatusCode);

        // Released, so that the cache's clean-up may remove the plugins' folder once they change.
        Assert.False(Assert.Single(leased).InUse);
        // The start's own failure is what is reported; the failed disposal is logged beside it.
        Assert.Contains(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.WorkerStartFailed && e.Message.Contains("warm-up fails", StringComparison.Ordinal));
        Assert.Contains(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.WorkerStopFailed && e.Message.Contains("disposal fails", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WorkerThatCannotUnload_IsLoggedAndCounted()
    {
        _projects.CreateEnvironment("alpha", e => e.WithPluginAssembly("Greeter", PluginAssembly));
        try
        {
            await using var host = await StartWithPluginsAsync();
            // The host keeps a plugin type in a static: the classic leak that pins a load context for ever.
            host.Recorder.OnDispatch = context =>
            {
                Leak.Keep(context.GetTracWorker()!.Services.GetRequiredService<TracWorkerContext>().PluginAssemblies[0].GetType("Trac.Hosting.TestPlugin.Greeter")!);
                return Task.CompletedTask;
            };
            await host.Request("alpha").SendAsync();

            await host.Workers.RecycleAsync("alpha");

            var failed = await host.Logs.WaitForAsync(e => e.Id.Id == Diagnostics.EventIds.WorkerUnloadFailed);
            Assert.Contains("#1", failed.Message, StringComparison.Ordinal);
            Assert.Equal(1, host.Metrics.Sum("trac.worker.unload_failures"));
        }
        finally
        {
            Leak.Clear();
        }
    }

    [Fact]
    public async Task PluginsWithoutAssemblies_MakeNoLoadContextUntilTheApplicationAsksForOne()
    {
        // A name of its own: load contexts are process-wide, and other tests make "trac-worker-alpha-1" too.
        _projects.CreateEnvironment("lazytheme", e => e.WithPlugin("Theme", ("templates/site.html", "<html></html>")));
        await using var host = await StartWithPluginsAsync();
        var workers = RecordWorkerContexts(host);

        Assert.Equal(200, (await host.Request("lazytheme").SendAsync()).StatusCode);

        var worker = Assert.Single(workers);
        Assert.Equal("Theme", Assert.Single(worker.Plugins!.Plugins).Name);
        Assert.Empty(worker.PluginAssemblies);
        Assert.DoesNotContain(AssemblyLoadContext.All, c => c.Name == "trac-worker-lazytheme-1");
        var loadContext = worker.LoadContext;
        Assert.NotNull(loadContext);
        Assert.True(loadContext.IsCollectible);
        Assert.Equal("trac-worker-lazytheme-1", loadContext.Name);
        Assert.Same(loadContext, worker.LoadContext);
        loadContext = null;

        // Made on demand, it is unloaded and verified like any other.
        await host.Workers.RecycleAsync("lazytheme");
        var unloaded = await host.Logs.WaitForAsync(e => e.Id.Id == Diagnostics.EventIds.WorkerUnloaded);
        Assert.Contains("#1", unloaded.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PluginAssemblies_AreLoadedIntoTheWorkersLoadContextAtOnce()
    {
        // A name of its own, as above.
        _projects.CreateEnvironment("eagerplugin", e => e.WithPluginAssembly("Greeter", PluginAssembly));
        await using var host = await StartWithPluginsAsync();
        var workers = RecordWorkerContexts(host);

        await host.Request("eagerplugin").SendAsync();

        var worker = Assert.Single(workers);
        var made = Assert.Single(AssemblyLoadContext.All, c => c.Name == "trac-worker-eagerplugin-1");
        Assert.Same(made, AssemblyLoadContext.GetLoadContext(Assert.Single(worker.PluginAssemblies)));
        Assert.Same(made, worker.LoadContext);
    }

    [Fact]
    public async Task AStoppedWorkersLoadContext_IsRefusedWithTheReason()
    {
        _projects.CreateEnvironment("alpha", e => e.WithPlugin("Theme", ("templates/site.html", "<html></html>")));
        _projects.CreateEnvironment("beta");
        await using var host = await StartWithPluginsAsync();
        var workers = RecordWorkerContexts(host);
        await host.Request("alpha").SendAsync();
        await host.Request("beta").SendAsync();

        await host.Workers.RecycleAsync("alpha");
        await host.Logs.WaitForAsync(e => e.Id.Id == Diagnostics.EventIds.WorkerStopped);

        // Never made while the worker ran, it is not made once the worker has stopped either.
        var refused = Assert.Throws<ObjectDisposedException>(() => workers[0].LoadContext);
        Assert.Contains("trac-worker-alpha-1 was unloaded when its worker stopped", refused.Message, StringComparison.Ordinal);
        // A worker without plugins has no load context at all.
        Assert.Empty(workers[1].Plugins!.Plugins);
        Assert.Null(workers[1].LoadContext);
    }

    // The context of the worker that served each request, in order.
    private static List<TracWorkerContext> RecordWorkerContexts(TracTestHost host)
    {
        var workers = new List<TracWorkerContext>();
        host.Recorder.OnDispatch = context =>
        {
            lock (workers)
            {
                workers.Add(context.GetTracWorker()!.Services.GetRequiredService<TracWorkerContext>());
            }

            return Task.CompletedTask;
        };
        return workers;
    }

    private Task<TracTestHost> StartWithPluginsAsync() =>
        TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().UsePluginCache().RecycleWorkers().Dispatch<TracRecordingApplication>())
            .StartAsync();

    private sealed class FailingApplication : ITracApplication, IDisposable
    {
        public Task DispatchAsync(HttpContext context) => Task.CompletedTask;

        public Task WarmUpAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("warm-up fails");

        public void Dispose() => throw new InvalidOperationException("disposal fails");
    }

    private static class Leak
    {
        private static readonly List<Type> s_types = [];

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Keep(Type type)
        {
            lock (s_types)
            {
                s_types.Add(type);
            }
        }

        public static void Clear()
        {
            lock (s_types)
            {
                s_types.Clear();
            }
        }
    }
}
