using Microsoft.AspNetCore.Http;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Benchmarks;

/// <summary>
/// Warms a pipeline with every file-system stage, then serves <c>count</c> requests. Run under
/// <c>strace -c -f -e trace=%file</c> with two counts: equal totals mean the requests themselves touch no file.
/// </summary>
internal static class FileSystemProbe
{
    public static async Task RunAsync(int count)
    {
        using var projects = new TracTestDirectory("trac-probe-");
        TracPipelines.CreateEnvironmentWithPlugins(projects, "alpha", 20);
        var (pipeline, services) = TracPipelines.Build(projects.Path, t => t.ResolveEnvironment().UsePluginCache());
        await using var _ = services;
        var context = new DefaultHttpContext();
        for (var i = 0; i < 2; i++)
        {
            await Serve(pipeline, context);
        }

        Console.WriteLine("warm");
        for (var i = 0; i < count; i++)
        {
            await Serve(pipeline, context);
        }

        Console.WriteLine($"served {count} warm requests");
    }

    private static Task Serve(RequestDelegate pipeline, DefaultHttpContext context)
    {
        context.Request.PathBase = PathString.Empty;
        context.Request.Path = "/alpha/wiki/WikiStart";
        return pipeline(context);
    }
}
