using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Benchmarks;

/// <summary>
/// The leak run: an application whose plugin keeps every request's 100 KB in a static (as leaking plugins do),
/// served many times through the full pipeline, with and without recycling; prints the process's working set and
/// the managed heap along the way.
/// </summary>
internal static class LeakRun
{
    private const int Kept = 100 * 1024;

    public static async Task RunAsync(string[] args)
    {
        var requests = args.Length > 1 && args[0] == "--requests" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        var maxRequests = args.Length > 3 && args[2] == "--max-requests" ? int.Parse(args[3], CultureInfo.InvariantCulture) : 500;
        var label = maxRequests > 0 ? $"MaxRequests={maxRequests}" : "no recycling";
        using var projects = new TracTestDirectory("trac-leak-");
        projects.CreateEnvironment("alpha");
        TracPluginArchive.Write(Path.Combine(projects.Path, "alpha", "plugins", "Leaky.zip"),
            ("lib/Trac.Hosting.TestPlugin.dll", File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Trac.Hosting.TestPlugin.dll"))));
        var services = new ServiceCollection().AddLogging().AddTrac(o => o.Environment.ParentDirectory = projects.Path).BuildServiceProvider();
        await using var _ = services;
        var app = new ApplicationBuilder(services);
        app.UseTrac(t => t.ResolveEnvironment().UsePluginCache().RecycleWorkers(o => o.MaxRequests = maxRequests).Dispatch<LeakyApplication>());
        var pipeline = app.Build();
        var context = new DefaultHttpContext();
        var pool = services.GetRequiredService<IWorkerPool>();
        Console.WriteLine($"{label}: {requests} requests, each keeping {Kept / 1024} KB in a plugin static");
        Console.WriteLine("| Requests served | Working set (MB) | Managed heap (MB) | Worker generation |");
        Console.WriteLine("|---:|---:|---:|---:|");
        var step = requests / 10;
        for (var i = 1; i <= requests; i++)
        {
            context.Request.PathBase = PathString.Empty;
            context.Request.Path = "/alpha/wiki";
            await pipeline(context);
            if (i % step == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {i} | {Process.GetCurrentProcess().WorkingSet64 / (1024 * 1024)} | {GC.GetTotalMemory(false) / (1024 * 1024)} | {pool.Workers.Max(w => w.Generation)} |"));
            }
        }
    }

    /// <summary>Calls the plugin's <c>Greeter.Keep</c> for every request: 100 KB that only unloading frees.</summary>
    internal sealed class LeakyApplication(TracWorkerContext worker) : ITracApplication
    {
        private readonly MethodInfo _keep = worker.PluginAssemblies.Single().GetType("Trac.Hosting.TestPlugin.Greeter")!.GetMethod("Keep")!;

        public Task DispatchAsync(HttpContext context)
        {
            _keep.Invoke(null, [Kept]);
            return Task.CompletedTask;
        }
    }
}
