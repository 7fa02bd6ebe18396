using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;
using Trac.Hosting.Common;

namespace Trac.Hosting.Tests.PluginCache;

/// <summary>
/// The stage remembers where a known environment's plugins are: what it remembers must follow a reloaded environment
/// and a cache directory lost while running.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PluginCacheKnownEnvironmentTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public PluginCacheKnownEnvironmentTests() => _projects.CreateEnvironment("alpha", e => e.WithProject("Before").WithPlugin("One", ("a.txt", "1")));

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task ReloadedEnvironment_KeepsItsPlugins()
    {
        await using var host = await StartAsync();
        var before = (await host.Request("alpha").SendAsync()).Body;
        Assert.True(host.Catalog().TryFind("alpha", out var slot));

        var changed = slot.GetChangeToken();
        _projects.WriteTracIni("alpha", "[project]\nname = After\n");
        await changed.WaitAsync("the trac.ini reload");

        Assert.StartsWith("project=Before;plugins=One=One-", before, StringComparison.Ordinal);
        Assert.Equal(before.Replace("Before", "After", StringComparison.Ordinal), (await host.Request("alpha").SendAsync()).Body);
    }

    [Fact]
    public async Task CacheDirectoryLostAndNotMadeAgain_WithShowServerPaths_Gets500WithTheReason()
    {
        await using var host = await StartAsync(showServerPaths: true);
        Assert.Equal(200, (await host.Request("alpha").SendAsync()).StatusCode);
        var cache = Path.Combine(_projects.Path, ".egg-cache");

        // Deleted while running, and a file now stands where it was: the next change cannot make it again.
        Directory.Delete(cache, recursive: true);
        File.WriteAllText(cache, "not a directory");
        await ChangeAsync(host, () => _projects.WritePlugin("alpha", "Two", ("b.txt", "2")));

        var response = await host.Request("alpha").SendAsync();
        Assert.Equal(500, response.StatusCode);
        Assert.StartsWith($"Trac Error\n\nTracError: The plugin cache directory '{cache}' cannot be used:", response.Body, StringComparison.Ordinal);
    }

    // Reloads and plugin refreshes wait for quiet periods: on the real clock here.
    private Task<TracTestHost> StartAsync(bool? showServerPaths = null) =>
        TracTestHost.CreateBuilder(_projects)
            .UseTime(TimeProvider.System)
            .ConfigureTrac(o => o.Environment.ShowServerPaths = showServerPaths)
            .UseTrac(t => t.ResolveEnvironment().UsePluginCache().Dispatch(context =>
            {
                var set = context.GetTracPluginCache()!.PluginSet;
                return context.Response.WriteAsync(
                    $"project={context.GetTracEnvironment()!.ProjectName};plugins={string.Join(",", set.Plugins.Select(p => $"{p.Name}={Path.GetFileName(p.Directory)}"))}");
            }))
            .StartAsync();

    /// <summary>Makes a change and waits until the environment's plugins have been read again.</summary>
    private async Task ChangeAsync(TracTestHost host, Action change)
    {
        var provider = host.Services.GetRequiredService<TracMarkerService>().Owned<PluginSetProvider>().Single();
        Assert.True(provider.TryGetState(Path.Combine(_projects.Path, "alpha"), Path.Combine(_projects.Path, ".egg-cache"), out var state));
        var refreshed = state.GetRefreshedToken();
        change();
        await refreshed.WaitAsync("the plugin refresh");
    }
}
