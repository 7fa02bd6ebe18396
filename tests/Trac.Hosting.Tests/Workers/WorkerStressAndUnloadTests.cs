using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>Under load, no request fails or meets a disposed worker; retired plugins unload, and a leak is reported.</summary>
public sealed class WorkerStressAndUnloadTests : IDisposable
{
    private static readonly string PluginAssembly = Path.Combine(AppContext.BaseDirectory, "Trac.Hosting.TestPlugin.dll");
    private readonly TracTestDirectory _projects = new();
    private readonly Recorder _recorder = new();

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task ManyClientsAcrossEnvironmentsWithATinyMaxRequests_LoseNothing()
    {
        for (var i = 0; i < 4; i++)
        {
            _projects.CreateEnvironment($"p{i}");
        }

        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().RecycleWorkers(o =>
            {
                o.MaxRequests = 5;
                o.MaxConcurrentRecycles = 2;
                o.ConfigureServices = (s, _) => s.AddSingleton(_recorder);
            }).Dispatch<RecordingApplication>());
        // Requests that take a while, so that many are in flight when their worker is retired.
        _recorder.OnDispatch = async _ =>
        {
            for (var i = 0; i < 3; i++)
            {
                await Task.Yield();
            }
        };
        var client = host.GetTestClient();

        var failures = 0;
        var clients = Enumerable.Range(0, 16).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < 60; i++)
            {
                var name = $"p{(c + i) % 4}";
                using var response = await client.GetAsync($"/{name}/wiki/{i}");
                var body = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode || !body.Contains($"env={name};worker={name}", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToArray();
        await Task.WhenAll(clients);

        Assert.Equal(0, failures);
        Assert.Equal(0, _recorder.Violations);
        // 960 requests at 5 per worker: many generations came and went, and every retired one was disposed.
        var workers = Host(host).Workers;
        Assert.True(workers.Max(w => w.Generation) > 10);
        foreach (var serving in workers.Where(w => w.State == TracWorkerState.Serving))
        {
            var name = Path.GetFileName(serving.Key);
            for (var generation = 1; generation < serving.Generation; generation++)
            {
                if (_recorder.Log.Contains($"warm {name}#{generation}"))
                {
                    await _recorder.WaitDisposedAsync($"{name}#{generation}");
                }
            }
        }

        Assert.All(Host(host).Workers, w => Assert.Equal(0, w.ActiveRequests));
    }

    [Fact]
    public async Task RetiredWorkersPlugins_Unload()
    {
        _projects.CreateEnvironment("alpha");
        TracPluginArchive.Write(Path.Combine(_projects.Path, "alpha", "plugins", "Greeter.zip"), ("lib/Trac.Hosting.TestPlugin.dll", File.ReadAllBytes(PluginAssembly)));
        var logs = new TracTestLogs();
        using var host = await StartWithPluginsAsync(logs);

        Assert.EndsWith(";plugins=1;project=My Project", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        await Host(host).RecycleAsync(Path.Combine(_projects.Path, "alpha"));

        var unloaded = await logs.WaitForAsync(e => e.EventId.Id == Diagnostics.EventIds.WorkerUnloaded);
        Assert.Contains("#1", unloaded.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Entries, e => e.EventId.Id == Diagnostics.EventIds.WorkerUnloadFailed);
    }

    [Fact]
    public async Task WorkerThatCannotUnload_IsLoggedAndCounted()
    {
        _projects.CreateEnvironment("alpha");
        TracPluginArchive.Write(Path.Combine(_projects.Path, "alpha", "plugins", "Greeter.zip"), ("lib/Trac.Hosting.TestPlugin.dll", File.ReadAllBytes(PluginAssembly)));
        var logs = new TracTestLogs();
        long failures = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Trac.Hosting" && instrument.Name == "trac.worker.unload_failures")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref failures, value));
        listener.Start();
        // The host keeps a plugin type in a static: the classic leak that pins a load context for ever.
        _recorder.OnDispatch = context =>
        {
            Leak.Keep(context.GetTracWorker()!.Services.GetRequiredService<TracWorkerContext>().PluginAssemblies[0].GetType("Trac.Hosting.TestPlugin.Greeter")!);
            return Task.CompletedTask;
        };
        try
        {
            using var host = await StartWithPluginsAsync(logs);
            await host.GetAsync("/alpha/");

            await Host(host).RecycleAsync(Path.Combine(_projects.Path, "alpha"));

            var failed = await logs.WaitForAsync(e => e.EventId.Id == Diagnostics.EventIds.WorkerUnloadFailed);
            Assert.Contains("#1", failed.Message, StringComparison.Ordinal);
            Assert.Equal(1, Interlocked.Read(ref failures));
        }
        finally
        {
            Leak.Clear();
        }
    }

    private Task<Microsoft.Extensions.Hosting.IHost> StartWithPluginsAsync(TracTestLogs logs) =>
        TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().UsePluginCache().RecycleWorkers(o => o.ConfigureServices = (s, _) => s.AddSingleton(_recorder))
                .Dispatch<RecordingApplication>(),
            logs: logs);

    private static IWorkerPool Host(Microsoft.Extensions.Hosting.IHost host) => host.Services.GetRequiredService<IWorkerPool>();

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
