using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Benchmarks;

/// <summary>Builds Trac pipelines as request delegates over a temporary parent directory, without a server.</summary>
internal static class TracPipelines
{
    /// <summary>The user header the benchmarks send, and the user it holds.</summary>
    public const string UserHeader = "X-Remote-User";

    /// <summary>
    /// Builds <c>UseTrac(stages)</c>, ended by a dispatch that does nothing unless <paramref name="stages"/> ends it.
    /// </summary>
    public static (RequestDelegate Pipeline, ServiceProvider Services) Build(
        string parentDirectory, Action<TracPipelineBuilder> stages, Action<TracOptions>? configure = null)
    {
        var services = new ServiceCollection()
            .AddLogging()
            .AddTrac(o =>
            {
                o.Environment.ParentDirectory = parentDirectory;
                configure?.Invoke(o);
            })
            .BuildServiceProvider();
        var app = new ApplicationBuilder(services);
        app.UseTrac(t =>
        {
            stages(t);
            if (!t.HasDispatch)
            {
                t.Dispatch(static _ => Task.CompletedTask);
            }
        });
        return (app.Build(), services);
    }

    /// <summary>The remote-user options of the benchmarks and the load run: default sources, loopback trusted.</summary>
    public static void TrustLoopback(RemoteUserOptions options) => options.KnownProxies.Add("127.0.0.1");

    /// <summary>
    /// A request context reused for every request, as Kestrel reuses one per connection, with the state Kestrel keeps
    /// per connection (<see cref="IPersistentStateFeature"/>): from 127.0.0.1, or <paramref name="peer"/> (recorded as
    /// the TCP peer, as the start-up filter does on a server), with the trusted user header.
    /// </summary>
    public static DefaultHttpContext CreateContext(IPAddress? peer = null)
    {
        peer ??= IPAddress.Loopback;
        var context = new DefaultHttpContext();
        context.Features.Set<IPersistentStateFeature>(new ConnectionState());
        context.Connection.RemoteIpAddress = peer;
        ConnectionPeer.Set(context, peer);
        context.Request.Headers[UserHeader] = "admin";
        return context;
    }

    /// <summary>
    /// Prepares the reused context for the next request, as Kestrel does between the requests of a connection: the
    /// path, and no user yet (Kestrel clears its authentication feature, so the principal of one request is never seen
    /// by the next).
    /// </summary>
    public static void NextRequest(DefaultHttpContext context, PathString path)
    {
        context.Features.Set<IHttpAuthenticationFeature>(null);
        context.Request.PathBase = PathString.Empty;
        context.Request.Path = path;
    }

    private sealed class ConnectionState : IPersistentStateFeature
    {
        public IDictionary<object, object?> State { get; } = new Dictionary<object, object?>();
    }

    /// <summary>
    /// Creates <paramref name="count"/> environments named <c>p0000</c>, <c>p0001</c>, ... with only what opening one
    /// needs (<c>VERSION</c> and <c>conf/trac.ini</c>), so that thousands stay quick to make and to watch.
    /// </summary>
    public static void CreateEnvironments(string parentDirectory, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var path = Path.Combine(parentDirectory, $"p{i:D4}");
            Directory.CreateDirectory(Path.Combine(path, "conf"));
            File.WriteAllText(Path.Combine(path, "VERSION"), "Trac Environment Version 1\n");
            File.WriteAllText(Path.Combine(path, "conf", "trac.ini"), $"[project]\nname = Project {i}\n");
        }
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
