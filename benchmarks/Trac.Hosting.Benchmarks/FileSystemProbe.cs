using Microsoft.AspNetCore.Http;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Benchmarks;

/// <summary>
/// Warms the full pipeline of the load run (1,000 environments, the trusted user header, the plugin cache, workers),
/// prints <c>warm</c>, serves <c>count</c> requests for a known environment on this thread, and prints <c>served</c>.
/// Run under <c>strace -f</c>: what this thread does between the two writes is what the requests do.
/// </summary>
internal static class FileSystemProbe
{
    private const string Path = "/alpha/wiki/WikiStart";

    public static async Task RunAsync(int count)
    {
        using var projects = new TracTestDirectory("trac-probe-");
        TracPipelines.CreateEnvironments(projects.Path, 999);
        projects.CreateEnvironment("alpha", e => e.WithPlugin("Theme", ("templates/site.html", "<html></html>"), ("htdocs/site.css", "body { }")));
        var (pipeline, services) = TracPipelines.Build(projects.Path, t => t.ResolveEnvironment()
            .NormalizeRemoteUser(TracPipelines.TrustLoopback).UsePluginCache().RecycleWorkers().Dispatch<StageBenchmarks.NullApplication>());
        await using var _ = services;
        var context = TracPipelines.CreateContext();
        for (var i = 0; i < 2; i++)
        {
            TracPipelines.NextRequest(context, Path);
            await pipeline(context);
        }

        Console.WriteLine($"warm, thread {Environment.CurrentManagedThreadId}");
        for (var i = 0; i < count; i++)
        {
            TracPipelines.NextRequest(context, Path);
            // Every stage completes synchronously for a warm request: the whole request runs on this thread.
            if (!pipeline(context).IsCompletedSuccessfully)
            {
                throw new InvalidOperationException("A warm request did not complete synchronously.");
            }
        }

        Console.WriteLine($"served {count} warm requests, status {context.Response.StatusCode}, user {context.GetRemoteUser()}");
    }
}
