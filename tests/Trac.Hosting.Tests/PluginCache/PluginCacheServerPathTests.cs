using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.PluginCache;

/// <summary>
/// A plugin cache directory that cannot be used answers 500 naming the project, not the directory, unless
/// <c>ShowServerPaths</c> (or the <c>Development</c> host environment) asks for the full reason. The log has it either way.
/// A regular file stands where the directory should be: that fails for every user, root included.
/// </summary>
public sealed class PluginCacheServerPathTests : IDisposable
{
    private const string PublicBody =
        "Trac Error\n\nTracError: The plugin cache directory of 'alpha' cannot be used; the server log has the directory and the reason. " +
        "Check Trac:PluginCache:Directory and PYTHON_EGG_CACHE (process or server variable).";

    private readonly TracTestDirectory _projects = new();
    private readonly TracTestDirectory _elsewhere = new();

    public PluginCacheServerPathTests() => _projects.CreateEnvironment("alpha");

    public void Dispose()
    {
        _projects.Dispose();
        _elsewhere.Dispose();
    }

    private string UnusableCache => Path.Combine(_elsewhere.CreateFile("a-file", "x"), "cache");

    [Fact]
    public async Task InProduction_The500NamesTheProjectAndTheLogHasTheDirectory()
    {
        var cache = UnusableCache;
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().UsePluginCache().Dispatch(c => c.Response.WriteAsync("ok")))
            .StartAsync();

        var response = await host.Request("alpha").WithServerVariable("PYTHON_EGG_CACHE", cache).SendAsync();

        Assert.Equal(500, response.StatusCode);
        Assert.Equal(PublicBody, response.Body);
        Assert.DoesNotContain(_elsewhere.Path, response.Body, StringComparison.Ordinal);
        var logged = Assert.Single(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.PluginCacheUnavailable);
        Assert.Contains($"The plugin cache directory '{cache}' cannot be used:", logged.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Development", null, true)]
    [InlineData("Production", true, true)]
    [InlineData("Development", false, false)]
    [InlineData("Production", null, false)]
    public async Task HostEnvironmentAndShowServerPaths_DecideWhetherTheDirectoryIsShown(string environmentName, bool? showServerPaths, bool shown)
    {
        var cache = UnusableCache;
        await using var app = await StartAsync(environmentName, showServerPaths, cache);

        var response = await app.GetTestClient().GetAsync("/alpha/wiki");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(500, (int)response.StatusCode);
        if (shown)
        {
            Assert.StartsWith($"Trac Error\n\nTracError: The plugin cache directory '{cache}' cannot be used:", body, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(PublicBody, body);
        }
    }

    private Task<WebApplication> StartAsync(string environmentName, bool? showServerPaths, string cache) =>
        TestHosts.StartWebApplicationAsync(
            environmentName,
            o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.Environment.ShowServerPaths = showServerPaths;
            },
            app =>
            {
                // What a front server (IIS, a FastCGI gateway) passes per request.
                app.Use((context, next) =>
                {
                    context.Features.Set<IServerVariablesFeature>(new TracServerVariables { ["PYTHON_EGG_CACHE"] = cache });
                    return next(context);
                });
                app.UseTrac(t => t.ResolveEnvironment().UsePluginCache().Dispatch(c => c.Response.WriteAsync("ok")));
            });
}
