// The app of the load run (benchmarks/load/run.sh): "Hello World!" on Kestrel, either bare or behind the full Trac
// pipeline. Both modes are this one program, so that the only difference between them is UseTrac.
//
//   --mode bare            app.Run(hello world)
//   --mode trac            UseTrac: ResolveEnvironment (a parent directory of --environments generated environments),
//                          NormalizeRemoteUser (X-Remote-User trusted from 127.0.0.1), UsePluginCache (every
//                          environment has the plugin --plugin: content (default), assembly or none), RecycleWorkers
//                          (MaxRequests=--max-requests, MaxRequestsJitter=--max-requests-jitter), Dispatch<Hello>
//   --urls URL             where to listen (default http://127.0.0.1:0, a free port)
//
// Prints "listening <url>" once it serves, and when it stops, how many worker recycles and garbage collections it saw.
using System.Globalization;
using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

var mode = Option("--mode", "trac");
var environments = int.Parse(Option("--environments", "1000"), CultureInfo.InvariantCulture);
var maxRequests = int.Parse(Option("--max-requests", "500"), CultureInfo.InvariantCulture);
var maxRequestsJitter = int.Parse(Option("--max-requests-jitter", "0"), CultureInfo.InvariantCulture);
var plugin = Option("--plugin", "content");

var builder = WebApplication.CreateSlimBuilder();
// Nothing is logged per request in either mode: the run measures the pipeline, not a console.
builder.Logging.ClearProviders();
builder.WebHost.UseUrls(Option("--urls", "http://127.0.0.1:0"));

using var projects = mode == "trac" ? CreateProjects(environments, plugin) : null;
if (projects is not null)
{
    builder.Services.AddTrac(o =>
    {
        o.Environment.ParentDirectory = projects.Path;
        o.RemoteUser.KnownProxies.Add("127.0.0.1");
        o.Workers.MaxRequests = maxRequests;
        o.Workers.MaxRequestsJitter = maxRequestsJitter;
    });
}

await using var app = builder.Build();
if (projects is not null)
{
    app.UseTrac(t => t.ResolveEnvironment().NormalizeRemoteUser().UsePluginCache().RecycleWorkers().Dispatch<Hello>());
}
else if (mode == "bare")
{
    app.Run(Hello.WriteAsync);
}
else
{
    throw new ArgumentException($"--mode is bare or trac, not '{mode}'.");
}

await app.StartAsync();
Console.WriteLine($"listening {app.Urls.First()}");
await app.WaitForShutdownAsync();
var recycles = projects is null ? 0 : app.Services.GetRequiredService<IWorkerPool>().Workers.Sum(w => w.Generation - 1);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"stopped after {recycles} recycles; collections gen0 {GC.CollectionCount(0)}, gen1 {GC.CollectionCount(1)}, gen2 {GC.CollectionCount(2)}, paused {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms"));

string Option(string name, string fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
}

// p0000, p0001, ...: each a Trac environment with the same plugin, so the shared cache extracts it once: templates
// and static files ("content"), the test plugin's assembly ("assembly"), or none ("none").
static TracTestDirectory CreateProjects(int count, string plugin)
{
    var assembly = Path.Combine(AppContext.BaseDirectory, "Trac.Hosting.TestPlugin.dll");
    var projects = new TracTestDirectory("trac-load-");
    for (var i = 0; i < count; i++)
    {
        projects.CreateEnvironment(
            string.Create(CultureInfo.InvariantCulture, $"p{i:D4}"),
            e =>
            {
                e.WithProject(string.Create(CultureInfo.InvariantCulture, $"Project {i}"));
                _ = plugin switch
                {
                    "content" => e.WithPlugin("Theme", ("templates/site.html", "<html></html>"), ("htdocs/site.css", "body { }")),
                    "assembly" => e.WithPluginAssembly("Greeter", assembly),
                    "none" => e,
                    _ => throw new ArgumentException($"--plugin is content, assembly or none, not '{plugin}'."),
                };
            });
    }

    return projects;
}

/// <summary>The application: the same "Hello World!" as the bare mode, one instance per worker.</summary>
internal sealed class Hello : ITracApplication
{
    public static Task WriteAsync(HttpContext context) => context.Response.WriteAsync("Hello World!");

    public Task DispatchAsync(HttpContext context) => WriteAsync(context);
}
