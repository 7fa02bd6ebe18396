using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.PluginCache;

/// <summary>The stage through TestServer: where the cache is, what the dispatch sees, and plugin changes while running.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PluginCacheStageTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();
    private readonly TracTestDirectory _elsewhere = new();

    public void Dispose()
    {
        _projects.Dispose();
        _elsewhere.Dispose();
    }

    /// <summary>Answers with the cache directory and the plugins (name=folder-name) the dispatch saw.</summary>
    private static readonly RequestDelegate Echo = context =>
    {
        (context.Items["seen"] as Action<HttpContext>)?.Invoke(context);
        var cache = context.GetTracPluginCache()!;
        return context.Response.WriteAsync(
            $"cache={cache.CacheDirectory};plugins={string.Join(",", cache.PluginSet.Plugins.Select(p => $"{p.Name}={Path.GetFileName(p.Directory)}"))};" +
            $"errors={cache.PluginSet.Errors.Count}");
    };

    [Fact]
    public async Task ParentDirectoryMode_SharesTheParentsHiddenCache()
    {
        _projects.CreateEnvironment("alpha", e => e.WithPlugin("Tracker", ("lib/Tracker.dll", "t")));
        _projects.CreateEnvironment("beta", e => e.WithPlugin("Tracker", ("lib/Tracker.dll", "t")));
        using var host = await StartAsync(o => o.Environment.ParentDirectory = _projects.Path);
        var cache = Path.Combine(_projects.Path, ".egg-cache");

        var alpha = await host.GetAsync("/alpha/");
        var beta = await host.GetAsync("/beta/");

        Assert.StartsWith($"cache={cache};plugins=Tracker=Tracker-", alpha.Body, StringComparison.Ordinal);
        Assert.Equal(alpha.Body, beta.Body);
        Assert.Single(Directory.EnumerateDirectories(cache));
        // Hidden by the default .tracignore: never a project.
        Assert.DoesNotContain(".egg-cache", (await host.GetAsync("/")).Body, StringComparison.Ordinal);
        Assert.Equal(404, (await host.GetAsync("/.egg-cache/")).Status);
    }

    [Fact]
    public async Task SingleEnvironment_UsesItsOwnCache()
    {
        var path = _projects.CreateEnvironment("solo", e => e.WithPlugin("P", ("a.txt", "a")));
        using var host = await StartAsync(o => o.Environment.Path = path);

        Assert.StartsWith($"cache={Path.Combine(path, ".egg-cache")};plugins=P=P-", (await host.GetAsync("/")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnvironmentList_UsesEachEnvironmentsOwnCache()
    {
        var a = _projects.CreateEnvironment("a");
        using var host = await StartAsync(o => o.Environment.Paths.Add(a));

        Assert.StartsWith($"cache={Path.Combine(a, ".egg-cache")};plugins=;", (await host.GetAsync("/a/")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessVariable_WinsOverTheDefault()
    {
        _projects.CreateEnvironment("alpha");
        var variable = Path.Combine(_elsewhere.Path, "from-variable");
        using var host = await StartAsync(o => o.Environment.ParentDirectory = _projects.Path,
            variables: new Dictionary<string, string?> { ["PYTHON_EGG_CACHE"] = variable });

        Assert.StartsWith($"cache={variable};", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        Assert.True(Directory.Exists(variable));
    }

    [Fact]
    public async Task Options_WinOverTheProcessVariable()
    {
        _projects.CreateEnvironment("alpha");
        var configured = Path.Combine(_elsewhere.Path, "configured");
        using var host = await StartAsync(o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.PluginCache.Directory = configured;
            },
            variables: new Dictionary<string, string?> { ["PYTHON_EGG_CACHE"] = Path.Combine(_elsewhere.Path, "from-variable") });

        Assert.StartsWith($"cache={configured};", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_elsewhere.Path, "from-variable")));
    }

    [Fact]
    public async Task ServerVariable_WinsOverEverything_AndEmptyCountsAsUnset()
    {
        _projects.CreateEnvironment("alpha");
        var configured = Path.Combine(_elsewhere.Path, "configured");
        var perRequest = Path.Combine(_elsewhere.Path, "per-request");
        string? value = null;
        using var host = await StartAsync(o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.PluginCache.Directory = configured;
            },
            before: app => app.Use((context, next) =>
            {
                context.Features.Set<IServerVariablesFeature>(new TracServerVariables { ["PYTHON_EGG_CACHE"] = value });
                return next(context);
            }));

        value = perRequest;
        var withVariable = await host.GetAsync("/alpha/");
        value = string.Empty;
        var withEmpty = await host.GetAsync("/alpha/");

        Assert.StartsWith($"cache={perRequest};", withVariable.Body, StringComparison.Ordinal);
        Assert.StartsWith($"cache={configured};", withEmpty.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("   ", "  ")]
    public async Task EmptyOrBlankDirectoryAndVariable_CountAsUnset(string option, string variable)
    {
        _projects.CreateEnvironment("alpha");
        using var host = await StartAsync(o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.PluginCache.Directory = option;
            },
            variables: new Dictionary<string, string?> { ["PYTHON_EGG_CACHE"] = variable });

        Assert.StartsWith($"cache={Path.Combine(_projects.Path, ".egg-cache")};", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeletedCacheDirectory_IsMadeAgainOnTheNextChange()
    {
        _projects.CreateEnvironment("alpha", e => e.WithPlugin("One", ("a.txt", "1")));
        using var host = await StartAsync(o => o.Environment.ParentDirectory = _projects.Path);
        Assert.Contains("plugins=One=", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
        var cache = Path.Combine(_projects.Path, ".egg-cache");

        Directory.Delete(cache, recursive: true);
        await ChangeAsync(host, () => _projects.WritePlugin("alpha", "Two", ("b.txt", "2")));

        var body = (await host.GetAsync("/alpha/")).Body;
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

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(o =>
        {
            o.Environment.ParentDirectory = _projects.Path;
            o.PluginCache.Directory = shared;
        }));

        Assert.Contains($"'{shared}' is writable by group or others", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnusablePerRequestCache_Gets500WithTheReason()
    {
        _projects.CreateEnvironment("alpha");
        var file = _elsewhere.CreateFile("a-file", "x");
        var logs = new TracTestLogs();
        using var host = await StartAsync(o => o.Environment.ParentDirectory = _projects.Path, logs: logs,
            before: app => app.Use((context, next) =>
            {
                context.Features.Set<IServerVariablesFeature>(new TracServerVariables { ["PYTHON_EGG_CACHE"] = Path.Combine(file, "cache") });
                return next(context);
            }));

        var (status, body, _) = await host.GetAsync("/alpha/");

        Assert.Equal(500, status);
        Assert.StartsWith($"Trac Error\n\nTracError: The plugin cache directory '{Path.Combine(file, "cache")}' cannot be used:", body, StringComparison.Ordinal);
        Assert.Contains(logs.Entries, e => e.EventId.Id == Diagnostics.EventIds.PluginCacheUnavailable);
    }

    [Fact]
    public async Task UnsafeArchive_IsLeftOutAndTheEnvironmentStillServed()
    {
        _projects.CreateEnvironment("alpha", e => e
            .WithPlugin("Good", ("a.txt", "a"))
            .WithPlugin("Evil", ("../../escape.txt", "x")));
        using var host = await StartAsync(o => o.Environment.ParentDirectory = _projects.Path);
        TracPluginSet? set = null;

        var (status, body, _) = await host.GetAsync("/alpha/");
        await SendAsync(host, "/alpha/", c => set = c.GetTracPluginCache()!.PluginSet);

        Assert.Equal(200, status);
        Assert.Contains("plugins=Good=Good-", body, StringComparison.Ordinal);
        var error = Assert.Single(set!.Errors);
        Assert.EndsWith("Evil.zip", error.SourceArchive, StringComparison.Ordinal);
        Assert.Contains("'../../escape.txt'", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_projects.Path, "escape.txt")));
    }

    [Fact]
    public async Task PluginChanges_AreNoticedWithoutRestart()
    {
        _projects.CreateEnvironment("alpha", e => e.WithPlugin("One", ("a.txt", "1")));
        using var host = await StartAsync(o => o.Environment.ParentDirectory = _projects.Path);
        TracPluginSet? first = null;
        await SendAsync(host, "/alpha/", c => first = c.GetTracPluginCache()!.PluginSet);
        Assert.Equal(["One"], first!.Plugins.Select(p => p.Name));

        // Added.
        await ChangeAsync(host, () => _projects.WritePlugin("alpha", "Two", ("b.txt", "2")));
        TracPluginSet? second = null;
        await SendAsync(host, "/alpha/", c => second = c.GetTracPluginCache()!.PluginSet);
        Assert.True(first.ChangeToken.HasChanged);
        Assert.Equal(["One", "Two"], second!.Plugins.Select(p => p.Name));

        // Replaced.
        var oldTwo = second.Plugins[1].ContentHash;
        await ChangeAsync(host, () => _projects.WritePlugin("alpha", "Two", ("b.txt", "2, better")));
        TracPluginSet? third = null;
        await SendAsync(host, "/alpha/", c => third = c.GetTracPluginCache()!.PluginSet);
        Assert.True(second.ChangeToken.HasChanged);
        Assert.NotEqual(oldTwo, third!.Plugins[1].ContentHash);
        Assert.Equal("2, better", File.ReadAllText(Path.Combine(third.Plugins[1].Directory, "b.txt")));

        // Removed.
        await ChangeAsync(host, () => File.Delete(Path.Combine(_projects.Path, "alpha", "plugins", "One.zip")));
        TracPluginSet? fourth = null;
        await SendAsync(host, "/alpha/", c => fourth = c.GetTracPluginCache()!.PluginSet);
        Assert.True(third.ChangeToken.HasChanged);
        Assert.Equal(["Two"], fourth!.Plugins.Select(p => p.Name));
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
        using var host = await StartAsync(o =>
        {
            o.Environment.ParentDirectory = _projects.Path;
            o.PluginCache.CleanupStale = true;
        }, dispatch: async context =>
        {
            if (context.Request.Query.ContainsKey("hold"))
            {
                holding.Release();
                await release.WaitAsync();
            }

            await Echo(context);
        });
        TracPluginSet? v1 = null;
        await SendAsync(host, "/alpha/", c => v1 = c.GetTracPluginCache()!.PluginSet);
        var v1Folder = v1!.Plugins[0].Directory;
        // beta's plugin was never requested here: its archive still references its folder once extracted elsewhere.
        var qFolder = (await new PluginExtractor(new(100, 1 << 20, 100), null, TimeProvider.System, TimeSpan.FromSeconds(5),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).EnsureAsync(Path.Combine(_projects.Path, "beta", "plugins", "Q.zip"), cache, default)).Plugin.Directory;
        var orphan = Directory.CreateDirectory(Path.Combine(cache, "Orphan-0123456789abcdef")).FullName;
        File.WriteAllText(Path.Combine(orphan, PluginExtractor.MarkerName), "sha256=0\n");

        // A request holds v1 while P changes: v1's folder must survive the clean-up.
        var held = host.GetAsync("/alpha/?hold=1");
        await holding.WaitAsync();
        await ChangeAsync(host, () => _projects.WritePlugin("alpha", "P", ("a.txt", "v2")));
        Assert.True(Directory.Exists(v1Folder));
        Assert.False(Directory.Exists(orphan));
        Assert.True(Directory.Exists(qFolder));
        release.Release();
        Assert.Equal(200, (await held).Status);

        // Once nothing uses v1, the next clean-up removes it.
        await ChangeAsync(host, () => _projects.WritePlugin("alpha", "Extra", ("e.txt", "e")));
        Assert.False(Directory.Exists(v1Folder));
        Assert.True(Directory.Exists(qFolder));
    }

    [Fact]
    public async Task UsePluginCacheWithoutResolveEnvironment_IsRefusedClearly()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path, t => t.UsePluginCache()));

        Assert.Equal(
            "UsePluginCache() needs ResolveEnvironment() earlier in the Trac pipeline: call .ResolveEnvironment() before .UsePluginCache().",
            error.Message);
    }

    [Fact]
    public async Task InvalidLimits_FailAtStartUpNamingTheKey()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => StartAsync(o =>
        {
            o.Environment.ParentDirectory = _projects.Path;
            o.PluginCache.MaxEntries = 0;
        }));

        Assert.Contains("Trac:PluginCache:MaxEntries 0 must be at least 1", error.Message, StringComparison.Ordinal);
    }

    private static Task<IHost> StartAsync(
        Action<TracOptions> options, IDictionary<string, string?>? variables = null, Action<IApplicationBuilder>? before = null,
        TracTestLogs? logs = null, RequestDelegate? dispatch = null) =>
        TestHosts.StartAsync(options, t => t.ResolveEnvironment().UsePluginCache().Dispatch(dispatch ?? Echo),
            processVariables: variables, before: before, logs: logs);

    private static Task<HttpContext> SendAsync(IHost host, string path, Action<HttpContext> seen) =>
        host.SendPathAsync(path, c => c.Items["seen"] = seen);

    /// <summary>Makes a change and waits until the environment's plugins have been read again.</summary>
    private async Task ChangeAsync(IHost host, Action change)
    {
        var provider = host.Services.GetRequiredService<TracMarkerService>().Owned<Trac.Hosting.PluginCache.PluginSetProvider>().Single();
        Assert.True(provider.TryGetState(Path.Combine(_projects.Path, "alpha"), Path.Combine(_projects.Path, ".egg-cache"), out var state));
        var refreshed = state.GetRefreshedToken();
        change();
        await refreshed.WaitAsync("the plugin refresh");
    }
}
