using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Environments;
using Trac.Hosting.Testing;
using Trac.Hosting.Common;

namespace Trac.Hosting.Tests.Support;

/// <summary>
/// What the library's own tests need beyond the <see cref="TracTestHost"/> of the test kit, which a host app's tests
/// would not: hosts built whole by the test, process variables for them, and internal state (the catalog, change
/// tokens).
/// </summary>
internal static class TestHosts
{
    /// <summary>
    /// Starts a TestServer host whose services (<c>AddTrac</c> included) and application pipeline the test writes
    /// whole: <c>UseTrac()</c> without arguments, Trac options bound from configuration, middleware after
    /// <c>UseTrac</c>, what a <see cref="TracTestHost"/> deliberately leaves out. It sees no process variables.
    /// </summary>
    public static async Task<IHost> StartAppAsync(Action<IServiceCollection> services, Action<IApplicationBuilder> app, string? contentRoot = null)
    {
        var host = new HostBuilder()
            .UseContentRoot(contentRoot ?? Directory.GetCurrentDirectory())
            .ConfigureWebHost(web => web
                .UseTestServer()
                .ConfigureServices(s => services(s.AddSingleton<TracProcessEnvironment>(new TestProcessVariables())))
                .Configure(app))
            .Build();
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return host;
    }

    /// <summary>
    /// Starts a <see cref="WebApplication"/> on a TestServer in the host environment <paramref name="environmentName"/>
    /// (what decides, for one, whether server paths are shown), with <c>AddTrac(trac)</c> and no process variables;
    /// <paramref name="pipeline"/> writes its middleware, <c>UseTrac</c> included.
    /// </summary>
    public static async Task<WebApplication> StartWebApplicationAsync(string environmentName, Action<TracOptions> trac, Action<WebApplication> pipeline)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = environmentName });
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton<TracProcessEnvironment>(new TestProcessVariables());
        builder.Services.AddTrac(trac);
        var app = builder.Build();
        pipeline(app);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }

    /// <summary>Gets the environment catalog of the host's Trac pipeline (internal: its slots and change tokens).</summary>
    public static EnvironmentCatalog Catalog(this TracTestHost host) =>
        host.Services.GetRequiredService<TracMarkerService>().Owned<EnvironmentCatalog>().Single();

    /// <summary>Gets the worker pool of the host's Trac pipeline (internal: its slots).</summary>
    public static Trac.Hosting.Workers.WorkerPool Pool(this TracTestHost host) =>
        host.Services.GetRequiredService<TracMarkerService>().Owned<Trac.Hosting.Workers.WorkerPool>().Single();

    /// <summary>Gets the plugin set provider of the host's Trac pipeline (internal: its slots).</summary>
    public static Trac.Hosting.PluginCache.PluginSetProvider PluginSets(this TracTestHost host) =>
        host.Services.GetRequiredService<TracMarkerService>().Owned<Trac.Hosting.PluginCache.PluginSetProvider>().Single();

    /// <summary>Waits for a change token, failing the test after a generous bound instead of hanging.</summary>
    public static async Task WaitAsync(this IChangeToken token, string what)
    {
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = token.RegisterChangeCallback(_ => fired.TrySetResult(), null);
        if (token.HasChanged)
        {
            return;
        }

        var finished = await Task.WhenAny(fired.Task, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(finished == fired.Task, $"Timed out waiting for {what}.");
    }
}
