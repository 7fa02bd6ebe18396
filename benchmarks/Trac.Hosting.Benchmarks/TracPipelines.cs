using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Benchmarks;

/// <summary>Builds Trac pipelines as request delegates over a temporary parent directory, without a server.</summary>
internal static class TracPipelines
{
    public static (RequestDelegate Pipeline, ServiceProvider Services) Build(string parentDirectory, Action<TracPipelineBuilder> stages)
    {
        var services = new ServiceCollection()
            .AddLogging()
            .AddTrac(o => o.Environment.ParentDirectory = parentDirectory)
            .BuildServiceProvider();
        var app = new ApplicationBuilder(services);
        app.UseTrac(t =>
        {
            stages(t);
            t.Dispatch(static _ => Task.CompletedTask);
        });
        return (app.Build(), services);
    }

    /// <summary>
    /// Creates an environment with <paramref name="plugins"/> plugin archives of four files each (about 40 KB of
    /// barely compressible content, like assemblies).
    /// </summary>
    public static void CreateEnvironmentWithPlugins(TracTestDirectory projects, string name, int plugins)
    {
        var random = new Random(42);
        string Content(int bytes)
        {
            var buffer = new byte[bytes];
            random.NextBytes(buffer);
            return Convert.ToBase64String(buffer);
        }

        projects.CreateEnvironment(name, e =>
        {
            for (var i = 0; i < plugins; i++)
            {
                e.WithPlugin($"Plugin{i:D2}",
                    ($"lib/Plugin{i:D2}.dll", Content(20_000)),
                    ($"lib/Plugin{i:D2}.pdb", Content(10_000)),
                    ("content/plugin.css", $".p{i} {{ color: red; }}"),
                    ("templates/page.html", "<html></html>"));
            }
        });
    }
}
