using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Environments;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Testing;
using Trac.Hosting.Workers;
using Trac.Hosting.Common;

namespace Trac.Hosting.Benchmarks;

/// <summary>
/// The churn run: projects that come and go under one parent directory (per-branch or per-customer environments).
/// Each round creates a batch of project directories, waits until every one of them is served (the watcher lists
/// them), requests each, deletes them, and waits until every one answers 404 and its worker has stopped; then prints
/// how long listing took, the managed heap after a full collection, and what the host holds per project. Real clock,
/// real file watching, the full pipeline (environments, plugin cache, recycling workers).
/// </summary>
internal static class ChurnRun
{
    public static async Task RunAsync(string[] args)
    {
        var rounds = args.Length > 1 && args[0] == "--rounds" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 12;
        var batch = args.Length > 3 && args[2] == "--batch" ? int.Parse(args[3], CultureInfo.InvariantCulture) : 100;
        using var projects = new TracTestDirectory("trac-churn-");
        projects.CreateEnvironment("keep");
        var services = new ServiceCollection().AddLogging().AddTrac(o => o.Environment.ParentDirectory = projects.Path).BuildServiceProvider();
        await using var _ = services;
        var app = new ApplicationBuilder(services);
        app.UseTrac(t => t.ResolveEnvironment().UsePluginCache().RecycleWorkers().Dispatch(static _ => Task.CompletedTask));
        var pipeline = app.Build();
        var owned = services.GetRequiredService<TracMarkerService>();
        var catalog = owned.Owned<EnvironmentCatalog>().Single();
        var pool = owned.Owned<WorkerPool>().Single();
        var plugins = owned.Owned<PluginSetProvider>().Single();
        var context = new DefaultHttpContext();

        async Task<int> StatusAsync(string name)
        {
            context.Request.PathBase = PathString.Empty;
            context.Request.Path = "/" + name + "/wiki";
            context.Response.StatusCode = 200;
            await pipeline(context);
            return context.Response.StatusCode;
        }

        await StatusAsync("keep");
        Console.WriteLine($"{rounds} rounds of {batch} projects created, each requested once, deleted");
        Console.WriteLine("| Round | Projects seen | Listed in (ms) | Unlisted in (ms) | Managed heap (KB) | Catalog slots | Watch entries | Worker slots | Plugin states | Workers |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var round = 1; round <= rounds; round++)
        {
            var names = Enumerable.Range(0, batch).Select(i => $"r{round}p{i}").ToArray();
            var watch = Stopwatch.StartNew();
            foreach (var name in names)
            {
                projects.CreateEnvironment(name);
            }

            // Requested until served: a name not listed yet answers 404 without touching the disk.
            foreach (var name in names)
            {
                while (await StatusAsync(name) != 200)
                {
                    await Task.Delay(5);
                }
            }

            var listed = watch.Elapsed;
            watch.Restart();
            foreach (var name in names)
            {
                Directory.Delete(Path.Combine(projects.Path, name), recursive: true);
            }

            foreach (var name in names)
            {
                while (await StatusAsync(name) != 404)
                {
                    await Task.Delay(5);
                }
            }

            var unlisted = watch.Elapsed;
            while (pool.Workers.Count > 1)
            {
                await Task.Delay(5);
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {round} | {round * batch} | {listed.TotalMilliseconds:F0} | {unlisted.TotalMilliseconds:F0} | {GC.GetTotalMemory(true) / 1024} | " +
                $"{catalog.SlotCount} | {catalog.Watchers.EntryCount} | {pool.SlotCount} | {plugins.StateCount} | {pool.Workers.Count} |"));
        }
    }
}
