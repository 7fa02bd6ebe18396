using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;
using Trac.Hosting.Common;

namespace Trac.Hosting.Tests.PluginCache;

/// <summary>The stage through TestServer: where the cache is, what the dispatch sees, and plugin changes while running.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PluginCacheStageTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();
    private readonly TracTestDirectory _elsewhere = new();
    private TracPluginSet? _seen;

    public void Dispose()
    {
        _projects.Dispose();
        _elsewhere.Dispose();
    }

    /// <summary>Answers with the cache directory and the plugins (name=folder-name) the dispatch saw, and keeps the plugin set.</summary>
    private Task Echo(HttpContext context)
    {
        var cache = context.GetTracPluginCache()!;
        _seen = cache.PluginSet;
        return context.Response.WriteAsync(
            $"cache={cache.CacheDirectory};plugins={string.Join(",", cache.PluginSet.Plugins.Select(p => $"{p.Name}={Path.GetFileName(p.Directory)}"))};" +
            $"errors={cache.PluginSet.Errors.Count}");
    }

    [Fact]
    public async Task ParentDirectoryMode_SharesTheParentsHiddenCache()
    {
        _projects.CreateEnvironment("alpha", e => e.WithPlugin("Tracker", ("lib/Tracker.dll", "t")));
        _projects.CreateEnvironment("beta", e => e.WithPlugin("Tracker", ("lib/Tracker.dll", "t")));
        await using var host = await Host().StartAsync();
        var cache = Path.Combine(_projects.Path, ".egg-cache");

        var alpha = await host.Request("alpha").SendAsync();
        var beta = await host.Request("beta").SendAsync();

        Assert.StartsWith($"cache={cache};plugins=Tracker=Tracker-", alpha.Body, StringComparison.Ordinal);
        Assert.Equal(alpha.Body, beta.Body);
        Assert.Single(Directory.EnumerateDirectories(cache));
        // Hidden by the default .tracignore: never a project.
        Assert.DoesNotContain(".egg-cache", (await host.RequestPath("/").SendAsync()).Body, StringComparison.Ordinal);
        Assert.Equal(404, (await host.Request(".egg-cache").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task SingleEnvironment_UsesItsOwnCache()
    {
        var path = _projects.CreateEnvironment("solo", e => e.WithPlugin("P", ("a.txt", "a")));
        await using var host = await Host().ConfigureTrac(o => o.Environment.Path = path).StartAsync();

        Assert.StartsWith($"cache={Path.Combine(path, ".egg-cache")};plugins=P=P-", (await host.RequestPath("/").SendAsync()).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnvironmentList_UsesEachEnvironmentsOwnCache()
    {
        var a = _projects.CreateEnvironment("a");
        await using var host = await Host()
            .ConfigureTrac(o =>
            {
                o.Environment.ParentDirectory = null;
                o.Environment.Paths.Add(a);
            })
            .StartAsync();

        Assert.StartsWith($"cache={Path.Combine(a, ".egg-cache")};plugins=;", (await host.Request("a").SendAsync()).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessVariable_WinsOverTheDefault()
    {
        _projects.CreateEnvironment("alpha");
        var variable = Path.Combine(_elsewhere.Path, "from-variable");
        await using var host = await Host().WithProcessVariable("PYTHON_EGG_CACHE", variable).StartAsync();

        Assert.StartsWith($"cache={variable};", (await host.Request("alpha").SendAsync()).Body, StringComparison.Ordinal);
        Assert.True(Directory.Exists(variable));
    }

    [Fact]
    public async Task Options_WinOverTheProcessVariable()
    {
        _projects.CreateEnvironment("alpha");
        var configured = Path.Combine(_elsewhere.Path, "configured");
        await using var host = await Host()
            .ConfigureTrac(o => o.PluginCache.Directory = configured)
            .WithProcessVariable("PYTHON_EGG_CACHE", Path.Combine(_elsewhere.Path, "from-variable"))
            .StartAsync();

        Assert.StartsWith($"cache={configured};", (await host.Request("alpha").SendAsync()).Body, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_elsewhere.Path, "from-variable")));
    }

    [Fact]
    public async Task ServerVariable_WinsOverEverything_AndEmptyCountsAsUnset()
    {
        _projects.CreateEnvironment("alpha");
        var configured = Path.Combine(_elsewhere.Path, "configured");
        var perRequest = Path.Combine(_elsewhere.Path, "per-request");
        await using var host = await Host().ConfigureTrac(o => o.PluginCache.Directory = configured).StartAsync();

        var withVariable = await host.Request("alpha").WithServerVariable("PYTHON_EGG_CACHE", perRequest).SendAsync();
        var withEmpty = await host.Request("alpha").WithServerVariable("PYTHON_EGG_CACHE", string.Empty).SendAsync();

        Assert.StartsWith($"cache={perRequest};", withVariable.Body, StringComparison.Ordinal);
        Assert.StartsWith($"cache={configured};", withEmpty.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("   ", "  ")]
    public async Task EmptyOrBlankDirectoryAndVariable_CountAsUnset(string option, string variable)
    {
        _projects.CreateEnvironment("alpha");
        await using var host = await Host()
            .ConfigureTrac(o => o.PluginCache.Directory = option)
            .WithProcessVariable("PYTHON_EGG_CACHE", variable)
            .StartAsync();

        Assert.StartsWith($"cache={Path.Combine(_projects.Path, ".egg-cache")};", (await host.Request("alpha").SendAsync()).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeletedCacheDirectory_IsMadeAgainOnTheNextChange()
    {
        _projects.CreateEnvironment("alpha", e => e.WithPlugin("One", ("a.txt", "1")));
        await using var host = await Host().StartAsync();
        Assert.Contains("plugins=One=", (await host.Request("alpha").SendAsync()).Body, StringComparison.Ordinal);
        var cache = Path.Combine(_projects.Path, ".egg-cache");

        Directory.Delete(cache, recursive: true);
        await ChangeAsync(host, () => _projects.WritePlugin("alpha", "Two", ("b.txt", "2")));

        var body = (await host.Request("alpha").SendAsync()).Body;
        Assert.Contains("plugins=One=One-", body, StringComparison.Ordinal);
        Assert.Contains(",Two=Two-", body, StringComparison.Ordinal);
        Assert.Contains("errors=0", body, StringComparison.Ordinal);
        Assert.Equal((UnixFileMode)Convert.ToInt32("700", 8), File.GetUnixFileMode(cache));
    }

    [Fact]
    public async Task InsecureCacheKnownAtStartUp_FailsStartUp()
    {
        _projects.CreateEnvironment("alpha");
        var shared = _elsewhere.CreateDirectory("shared");
        File.SetUnixFileMode(shared, (UnixFileMode)Convert.ToInt32("777", 8));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Host().ConfigureTrac(o => o.PluginCache.Directory = shared).StartAsync());

        Assert.Contains($"'{shared}' is writable by group or others", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnusablePerRequestCache_WithShowServerPaths_Gets500WithTheReason()
    {
        _projects.CreateEnvironment("alpha");
        var file = _elsewhere.CreateFile("a-file", "x");
        await using var host = await Host().ConfigureTrac(o => o.Environment.ShowServerPaths = true).StartAsync();

        var response = await host.Request("alpha").WithServerVariable("PYTHON_EGG_CACHE", Path.Combine(file, "cache")).SendAsync();

        Assert.Equal(500, response.StatusCode);
        Assert.StartsWith($"Trac Error\n\nTracError: The plugin cache directory '{Path.Combine(file, "cache")}' cannot be used:", response.Body, StringComparison.Ordinal);
        Assert.Contains(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.PluginCacheUnavailable);
    }

    [Fact]
    public async Task UnsafeArchive_IsLeftOutAndTheEnvironmentStillServed()
    {
        _projects.CreateEnvironment("alpha", e => e
            .WithPlugin("Good", ("a.txt", "a"))
            .WithPlugin("Evil", ("../../escape.txt", "x")));
        await using var host = await Host().StartAsync();

        var response = await host.Request("alpha").SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Contains("plugins=Good=Good-", response.Body, StringComparison.Ordinal);
        var error = Assert.Single(_seen!.Errors);
        Assert.EndsWith("Evil.zip", error.SourceArchive, StringComparison.Ordinal);
        Assert.Contains("'../../escape.txt'", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_projects.Path, "escape.txt")));
    }

    [Fact]
    public async Task PluginChanges_AreNoticedWithoutRestart()
    {
        _projects.CreateEnvironment("alpha", e => e.WithPlugin("One", ("a.txt", "1")));
        await using var host = await Host().StartAsync();
        var first = await SeenAsync(host);
        Assert.Equal(["One"], first.Plugins.Select(p => p.Name));

        // Added.
        await ChangeAsync(host, () => _projects.WritePlugin("alpha", "Two", ("b.txt", "2")));
        var second = await SeenAsync(host);
        Assert.True(first.ChangeToken.HasChanged);
        Assert.Equal(["One", "Two"], second.Plugins.Select(p => p.Name));

        // Replaced.
        var oldTwo = second.Plugins[1].ContentHash;
        await ChangeAsync(host, () => _projects.WritePlugin("alpha", "Two", ("b.txt", "2, better")));
        var third = await SeenAsync(host);
        Assert.True(second.ChangeToken.HasChanged);
        Assert.NotEqual(oldTwo, third.Plugins[1].ContentHash);
        Assert.Equal("2, better", File.ReadAllText(Path.Combine(third.Plugins[1].Directory, "b.txt")));

        // Removed.
        await ChangeAsync(host, () => File.Delete(Path.Combine(_projects.Path, "alpha", "plugins", "One.zip")));
        var fourth = await SeenAsync(host);
        Assert.True(third.ChangeToken.HasChanged);
        Assert.Equal(["Two"], fourth.Plugins.Select(p => p.Name));
        Assert.False(fourth.ChangeToken.HasChanged);
    }

    [Fact]
    public async Task CleanupStale_RemovesUnreferencedFoldersButNeverOneInUse()
    {
        _projects.CreateEnvironment("alpha", e => e.WithPlugin("P", ("a.txt", "v1")));
        _projects.CreateEnvironment("beta", e => e.WithPlugin("Q", ("q.txt", "q")));
        var cache = Path.Combine(_projects.Path, ".egg-cache");
        using var release = new SemaphoreSlim(0);
        using var holding = new SemaphoreSlim(0);
        await using var host = await Host(async context =>
            {
                if (context.Request.Query.ContainsKey("hold"))
                {
                    holding.Release();
                    await release.WaitAsync();
                }

                await Echo(context);
            })
            .ConfigureTrac(o => o.PluginCache.CleanupStale = true)
            .StartAsync();
        var v1Folder = (await SeenAsync(host)).Plugins[0].Directory;
        // beta's plugin was never requested here: its archive still references its folder once extracted elsewhere.
        var qFolder = (await new PluginExtractor(new(100, 1 << 20, 100), null, TimeProvider.System, TimeSpan.FromSeconds(5),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).EnsureAsync(Path.Combine(_projects.Path, "beta", "plugins", "Q.zip"), cache, default)).Plugin.Directory;
        var orphan = Directory.CreateDirectory(Path.Combine(cache, "Orphan-0123456789abcdef")).FullName;
        File.WriteAllText(Path.Combine(orphan, PluginExtractor.MarkerName), "sha256=0\n");

        // A request holds v1 while P changes: v1's folder must survive the clean-up.
        var held = host.Request("alpha", "/?hold=1").SendAsync();
        await holding.WaitAsync();
        await ChangeAsync(host, () => _projects.WritePlugin("alpha", "P", ("a.txt", "v2")));
        Assert.True(Directory.Exists(v1Folder));
        Assert.False(Directory.Exists(orphan));
        Assert.True(Directory.Exists(qFolder));
        release.Release();
        Assert.Equal(200, (await held).StatusCode);

        // Once nothing uses v1, the next clean-up removes it.
        await ChangeAsync(host, () => _projects.WritePlugin("alpha", "Extra", ("e.txt", "e")));
        Assert.False(Directory.Exists(v1Folder));
        Assert.True(Directory.Exists(qFolder));
    }

    [Fact]
    public async Task CleanupStale_RemovesOldLeftoversOfUnfinishedExtractions_ButNoneInUseOrRecent()
    {
        _projects.CreateEnvironment("alpha", e => e.WithPlugin("P", ("a.txt", "a")));
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => o.PluginCache.CleanupStale = true)
            .UseTrac(t => t.ResolveEnvironment().UsePluginCache().Dispatch(Echo))
            .StartAsync();
        var plugin = (await SeenAsync(host)).Plugins[0].Directory;
        var cache = Path.Combine(_projects.Path, ".egg-cache");
        var written = host.Time.GetUtcNow();
        string Leftover(string name, DateTimeOffset at, int size = 1024)
        {
            var path = Path.Combine(cache, name);
            File.WriteAllBytes(path, new byte[size]);
            File.SetLastWriteTimeUtc(path, at.UtcDateTime);
            return path;
        }

        // What a process killed while extracting leaves behind: its private copy of the archive, its temporary
        // folder; and the lock files that clean-ups and refused archives used to leave.
        var copy = Leftover($".tmp-{Guid.NewGuid():N}.zip", written);
        var temporary = Directory.CreateDirectory(Path.Combine(cache, $".tmp-{Guid.NewGuid():N}")).FullName;
        File.WriteAllText(Path.Combine(temporary, "half.dll"), "half");
        Directory.SetLastWriteTimeUtc(temporary, written.UtcDateTime);
        var temporaryLock = Leftover($".tmp-{Guid.NewGuid():N}.lock", written, size: 0);
        var refusedLock = Leftover($"Evil-{new string('0', 64)}.lock", written, size: 0);
        // As old, but open: another process is extracting from its copy.
        var inUse = Leftover($".tmp-{Guid.NewGuid():N}.zip", written);
        using var reading = new FileStream(inUse, FileMode.Open, FileAccess.Read, FileShare.Read);
        host.Time.Advance(TimeSpan.FromHours(2));
        var recent = Leftover($".tmp-{Guid.NewGuid():N}.zip", host.Time.GetUtcNow() - TimeSpan.FromMinutes(10));

        await ChangeOnTheHostsClockAsync(host, () => _projects.WritePlugin("alpha", "Two", ("b.txt", "2")));

        Assert.False(File.Exists(copy), "an old private copy is removed");
        Assert.False(Directory.Exists(temporary), "an old temporary folder is removed");
        Assert.False(File.Exists(temporaryLock), "an old temporary lock file is removed");
        Assert.False(File.Exists(refusedLock), "an old lock file of no folder is removed");
        Assert.Empty(Directory.EnumerateFiles(cache, ".tmp-*.lock"));
        Assert.True(File.Exists(inUse), "a copy in use is kept");
        Assert.True(File.Exists(recent), "a recent copy is kept");
        Assert.True(PluginExtractor.IsComplete(plugin));
        Assert.True(File.Exists(plugin + ".lock"), "the lock file of a folder is kept");
        Assert.Contains(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.PluginLeftoverRemoved && e.Message.Contains(copy, StringComparison.Ordinal));
    }

    [Fact]
    public async Task UsePluginCacheWithoutResolveEnvironment_IsRefusedClearly()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TracTestHost.CreateBuilder(_projects).UseTrac(t => t.UsePluginCache()).StartAsync());

        Assert.Equal(
            "UsePluginCache() needs ResolveEnvironment() earlier in the Trac pipeline: call .ResolveEnvironment() before .UsePluginCache().",
            error.Message);
    }

    [Fact]
    public async Task InvalidLimits_FailAtStartUpNamingTheKey()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => Host().ConfigureTrac(o => o.PluginCache.MaxEntries = 0).StartAsync());

        Assert.Contains("Trac:PluginCache:MaxEntries 0 must be at least 1", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A host on the real clock (plugin changes are read again after a quiet period) whose pipeline ends with
    /// <paramref name="dispatch"/>, <see cref="Echo"/> by default.
    /// </summary>
    private TracTestHostBuilder Host(RequestDelegate? dispatch = null) =>
        TracTestHost.CreateBuilder(_projects)
            .UseTime(TimeProvider.System)
            .UseTrac(t => t.ResolveEnvironment().UsePluginCache().Dispatch(dispatch ?? Echo));

    /// <summary>Sends a request to alpha and returns the plugin set its dispatch saw.</summary>
    private async Task<TracPluginSet> SeenAsync(TracTestHost host)
    {
        _seen = null;
        Assert.Equal(200, (await host.Request("alpha").SendAsync()).StatusCode);
        return _seen!;
    }

    /// <summary>
    /// Makes a change and waits until the environment's plugins have been read again, moving the host's manual clock
    /// through the quiet period.
    /// </summary>
    private async Task ChangeOnTheHostsClockAsync(TracTestHost host, Action change)
    {
        var provider = host.Services.GetRequiredService<TracMarkerService>().Owned<Trac.Hosting.PluginCache.PluginSetProvider>().Single();
        Assert.True(provider.TryGetState(Path.Combine(_projects.Path, "alpha"), Path.Combine(_projects.Path, ".egg-cache"), out var state));
        var refreshed = state.GetRefreshedToken();
        change();
        await host.Time.AdvanceUntilAsync(refreshed.WaitAsync("the plugin refresh"), TimeSpan.FromMilliseconds(100));
    }

    /// <summary>Makes a change and waits until the environment's plugins have been read again.</summary>
    private async Task ChangeAsync(TracTestHost host, Action change)
    {
        var provider = host.Services.GetRequiredService<TracMarkerService>().Owned<Trac.Hosting.PluginCache.PluginSetProvider>().Single();
        Assert.True(provider.TryGetState(Path.Combine(_projects.Path, "alpha"), Path.Combine(_projects.Path, ".egg-cache"), out var state));
        var refreshed = state.GetRefreshedToken();
        change();
        await refreshed.WaitAsync("the plugin refresh");
    }
}
