using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

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
        using var host = await StartAsync();
        var before = (await host.GetAsync("/alpha/")).Body;
        Assert.True(host.Catalog().TryFind("alpha", out var slot));

        var changed = slot.GetChangeToken();
        _projects.WriteTracIni("alpha", "[project]\nname = After\n");
        await changed.WaitAsync("the trac.ini reload");

        Assert.StartsWith("project=Before;plugins=One=One-", before, StringComparison.Ordinal);
        Assert.Equal(before.Replace("Before", "After", StringComparison.Ordinal), (await host.GetAsync("/alpha/")).Body);
    }

    [Fact]
    public async Task CacheDirectoryLostAndNotMadeAgain_Gets500WithTheReason()
    {
        using var host = await StartAsync();
        Assert.Equal(200, (await host.GetAsync("/alpha/")).Status);
        var cache = Path.Combine(_projects.Path, ".egg-cache");

        // Deleted while running, and a file now stands where it was: the next change cannot make it again.
        Directory.Delete(cache, recursive: true);
        File.WriteAllText(cache, "not a directory");
        await ChangeAsync(host, () => _projects.WritePlugin("alpha", "Two", ("b.txt", "2")));

        var (status, body, _) = await host.GetAsync("/alpha/");
        Assert.Equal(500, status);
        Assert.StartsWith($"Trac Error\n\nTracError: The plugin cache directory '{cache}' cannot be used:", body, StringComparison.Ordinal);
    }

    private Task<IHost> StartAsync() =>
        TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().UsePluginCache().Dispatch(context =>
            {
                var set = context.GetTracPluginCache()!.PluginSet;
                return context.Response.WriteAsync(
                    $"project={context.GetTracEnvironment()!.ProjectName};plugins={string.Join(",", set.Plugins.Select(p => $"{p.Name}={Path.GetFileName(p.Directory)}"))}");
            }));

    /// <summary>Makes a change and waits until the environment's plugins have been read again.</summary>
    private async Task ChangeAsync(IHost host, Action change)
    {
        var provider = host.Services.GetRequiredService<TracMarkerService>().Owned<PluginSetProvider>().Single();
        Assert.True(provider.TryGetState(Path.Combine(_projects.Path, "alpha"), Path.Combine(_projects.Path, ".egg-cache"), out var state));
        var refreshed = state.GetRefreshedToken();
        change();
        await refreshed.WaitAsync("the plugin refresh");
    }
}
