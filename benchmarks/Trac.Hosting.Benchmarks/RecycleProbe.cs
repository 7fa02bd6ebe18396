using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Benchmarks;

/// <summary>
/// What one recycle costs, all included (starting the replacement, draining and stopping the old worker, unloading and
/// verifying its plugins): recycles one environment's worker <c>count</c> times in a row, each followed by a request,
/// and prints the process's CPU time, allocations and collector pauses per recycle, for an environment without plugins, with a plugin of
/// templates and static files, and with a plugin holding an assembly.
/// </summary>
internal static class RecycleProbe
{
    public static async Task RunAsync(int count)
    {
        Console.WriteLine($"{count} recycles in a row, after {count / 10} to warm up");
        Console.WriteLine("| Plugin | CPU per recycle (us) | Wall per recycle (us) | Allocated per recycle (KB) | Gen-2 collections | GC pauses per recycle (us) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var plugin in new[] { "none", "content", "assembly" })
        {
            await RunOnceAsync(plugin, count);
        }
    }

    private static async Task RunOnceAsync(string plugin, int count)
    {
        using var projects = new TracTestDirectory("trac-recycle-");
        projects.CreateEnvironment("alpha", e => _ = plugin switch
        {
            "content" => e.WithPlugin("Theme", ("templates/site.html", "<html></html>"), ("htdocs/site.css", "body { }")),
            "assembly" => e.WithPluginAssembly("Greeter", Path.Combine(AppContext.BaseDirectory, "Trac.Hosting.TestPlugin.dll")),
            _ => e,
        });
        var (pipeline, services) = TracPipelines.Build(projects.Path, t => t.ResolveEnvironment()
            .NormalizeRemoteUser(TracPipelines.TrustLoopback).UsePluginCache().RecycleWorkers().Dispatch<StageBenchmarks.NullApplication>());
        await using var owned = services;
        var context = TracPipelines.CreateContext();
        TracPipelines.NextRequest(context, "/alpha/wiki");
        await pipeline(context);
        var pool = services.GetRequiredService<IWorkerPool>();
        var key = pool.Workers.Single().Key;

        async Task RecycleAsync(int times)
        {
            for (var i = 0; i < times; i++)
            {
                await pool.RecycleAsync(key);
                TracPipelines.NextRequest(context, "/alpha/wiki");
                await pipeline(context);
            }

            // The old workers drain and stop in the background: wait until they have.
            while (pool.Workers.Count > 1)
            {
                await Task.Delay(10);
            }
        }

        await RecycleAsync(count / 10);
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var collections = GC.CollectionCount(2);
        var paused = GC.GetTotalPauseDuration();
        var wall = Stopwatch.StartNew();
        await RecycleAsync(count);
        process.Refresh();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {plugin} | {(process.TotalProcessorTime - cpu).TotalMicroseconds / count:F0} | {wall.Elapsed.TotalMicroseconds / count:F0} | " +
            $"{(GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1024.0 / count:F1} | {GC.CollectionCount(2) - collections} | " +
            $"{(GC.GetTotalPauseDuration() - paused).TotalMicroseconds / count:F1} |"));
    }
}
