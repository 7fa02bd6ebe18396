using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Trac.Hosting.FastCgi;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>
/// How worker processes are reached and run: loopback TCP instead of a Unix socket, a general FastCGI command line,
/// the cap on live processes across projects, and options refused before anything starts.
/// </summary>
[Collection(RealTracTests.Name)]
public sealed class RealTracProcessOptionsTests(TracTemplate template) : IDisposable
{
    private readonly TracTestDirectory _projects = new();
    private readonly TracTestDirectory _run = new();

    public void Dispose()
    {
        _projects.Dispose();
        _run.Dispose();
    }

    [Fact]
    public async Task OverLoopbackTcp_TheProcessPicksItsPort_AndServes()
    {
        template.CopyTo(Path.Combine(_projects.Path, "alpha"), "Alpha Project");
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers()
                .DispatchToTrac(RealTrac.Configure(_run.Path, o => o.Transport = FastCgiTransport.Tcp)))
            .StartAsync();

        var page = await host.Request("alpha", "/wiki/WikiStart").SendAsync();

        Assert.Equal(200, page.StatusCode);
        Assert.Contains("Alpha Project", page.Body, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_run.Path));
    }

    [Fact]
    public async Task AGeneralFastCgiCommand_IsToldItsAddress_AndServes()
    {
        template.CopyTo(Path.Combine(_projects.Path, "alpha"), "Alpha Project");
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().DispatchToFastCgi(o =>
            {
                o.Command = RealTrac.Python;
                o.Arguments.Add("-c");
                o.Arguments.Add(TracLauncher.Script);
                o.Arguments.Add(FastCgiOptions.AddressPlaceholder);
                o.SocketDirectory = _run.Path;
                foreach (var (name, value) in RealTrac.ProcessVariables())
                {
                    o.Environment[name] = value;
                }
            }))
            .StartAsync();

        var page = await host.Request("alpha", "/wiki/WikiStart").SendAsync();

        Assert.Equal(200, page.StatusCode);
        Assert.Contains("href=\"/alpha/wiki", page.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxWorkers_StopsTheLeastRecentlyUsedProjectsProcess()
    {
        template.CopyTo(Path.Combine(_projects.Path, "alpha"), "Alpha Project");
        template.CopyTo(Path.Combine(_projects.Path, "beta"), "Beta Project");
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o => o.MaxWorkers = 1).DispatchToTrac(RealTrac.Configure(_run.Path)))
            .StartAsync();
        Assert.Equal(200, (await host.Request("alpha", "/wiki/WikiStart").SendAsync()).StatusCode);
        var alphaStopped = host.Logs.WaitForNextAsync("WorkerStopped", TimeSpan.FromSeconds(60));

        var beta = await host.Request("beta", "/wiki/WikiStart").SendAsync();
        await alphaStopped;

        Assert.Contains("Beta Project", beta.Body, StringComparison.Ordinal);
        Assert.Null(host.Workers.Serving("alpha"));
        Assert.Single(Directory.EnumerateDirectories(_run.Path));
        Assert.Equal(200, (await host.Request("alpha", "/wiki/WikiStart").SendAsync()).StatusCode);
        Assert.Null(host.Workers.Serving("beta"));
    }

    [Fact]
    public void BadOptions_AreRefusedWhenThePipelineIsBuilt_NamingEachProblem()
    {
        var builder = TracTestHost.CreateBuilder(_projects).UseTrac(t => t.ResolveEnvironment().RecycleWorkers().DispatchToFastCgi(o =>
        {
            o.Command = "fcgi-app";
            o.Arguments.Add("--port=9000");
            o.StopTimeout = TimeSpan.Zero;
            o.SocketDirectory = Path.Combine(_run.Path, "missing");
        }));

        var error = Assert.ThrowsAny<InvalidOperationException>(() => builder.StartAsync().GetAwaiter().GetResult());

        Assert.Contains("Trac:FastCgi:Arguments do not contain {address}", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:FastCgi:StopTimeout must be positive", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:FastCgi:SocketDirectory", error.Message, StringComparison.Ordinal);

        var python = Assert.ThrowsAny<InvalidOperationException>(() => TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers().DispatchToTrac(o => o.Python = " ")).StartAsync().GetAwaiter().GetResult());
        Assert.Contains("Trac:Python:Python is empty", python.Message, StringComparison.Ordinal);

        var order = Assert.ThrowsAny<InvalidOperationException>(() => TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().DispatchToTrac()).StartAsync().GetAwaiter().GetResult());
        Assert.Contains("RecycleWorkers()", order.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOptions_BindFromTracPython()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Trac:Python:Python"] = "/opt/python/bin/python3",
            ["Trac:Python:PythonPath:0"] = "/opt/trac",
            ["Trac:Python:LcTime"] = "de_DE.UTF-8",
            ["Trac:Python:Environment:TZ"] = "Europe/Berlin",
            ["Trac:Python:Transport"] = "Tcp",
            ["Trac:Python:StopTimeout"] = "00:00:03",
            ["Trac:Python:ServeStaticResources"] = "false",
            ["Trac:FastCgi:Command"] = "php-cgi",
            ["Trac:FastCgi:Arguments:0"] = "-b",
            ["Trac:FastCgi:Arguments:1"] = "{address}",
        }).Build();
        var services = new ServiceCollection().AddTrac(configuration.GetSection("Trac"));
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<TracOptions>>().Value;

        Assert.Equal("/opt/python/bin/python3", options.Python.Python);
        Assert.Equal(["/opt/trac"], options.Python.PythonPath);
        Assert.Equal("de_DE.UTF-8", options.Python.LcTime);
        Assert.Equal("Europe/Berlin", options.Python.Environment["TZ"]);
        Assert.Equal(FastCgiTransport.Tcp, options.Python.Transport);
        Assert.Equal(TimeSpan.FromSeconds(3), options.Python.StopTimeout);
        Assert.False(options.Python.ServeStaticResources);
        Assert.Equal("php-cgi", options.FastCgi.Command);
        Assert.Equal(["-b", "{address}"], options.FastCgi.Arguments);
    }
}
