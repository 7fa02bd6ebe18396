using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Testing.Tests;

/// <summary>
/// The kit's factory over a host app with a <c>Program</c> (the test app: every stage on, configured from its
/// appsettings.json with <c>MaxRequests</c> 3, an idle timeout of 10 minutes and a lifetime of 1 hour plus up to 10
/// minutes of jitter), used as a user would.
/// </summary>
public sealed class TracWebApplicationFactoryTests
{
    [Fact]
    public async Task WithoutProjects_TheAppServesItsOwnEnvironments()
    {
        using var app = new TracWebApplicationFactory<Program>();

        var response = await app.Request("demo", "/wiki").SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.StartsWith("env=demo;user=-;gen=1;method=GET;", response.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(RemoteUserSource.Principal, null)]
    [InlineData(RemoteUserSource.ServerVariable, null)]
    [InlineData(RemoteUserSource.Header, "127.0.0.1")]
    public async Task Requests_CarryTheUserThroughEachSource(RemoteUserSource source, string? peer)
    {
        using var app = new TracWebApplicationFactory<Program>();
        app.Projects.CreateEnvironment("alpha");
        var request = app.Request("alpha").AsUser(@"CORP\alice", source);
        if (peer is not null)
        {
            request.FromPeer(peer);
        }

        var response = await request.SendAsync();

        Assert.StartsWith("env=alpha;user=alice;", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_CarryMethodAndBody()
    {
        using var app = new TracWebApplicationFactory<Program>();

        var form = await app.Request("demo", "/newticket").WithForm(("summary", "a b&c"), ("type", "defect")).SendAsync();
        var put = await app.Request("demo", "/x").WithMethod("put").WithBody("{}", "application/json").SendAsync();
        var delete = await app.Request("demo", "/x").WithMethod("DELETE").SendAsync();

        Assert.Contains(";method=POST;body=summary=a%20b%26c&type=defect;", form.Body, StringComparison.Ordinal);
        Assert.Contains(";method=PUT;body={};", put.Body, StringComparison.Ordinal);
        Assert.Contains(";method=DELETE;body=;", delete.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestPath_ReachesPathsOutsideAnEnvironment()
    {
        using var app = new TracWebApplicationFactory<Program>();

        var index = await app.RequestPath("/").WithHeader("Accept", "application/json").SendAsync();

        Assert.Equal(200, index.StatusCode);
        Assert.Contains("\"demo\"", index.Body, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => app.RequestPath("demo"));
    }

    [Fact]
    public async Task Workers_RecycleAfterTheAppsMaxRequests()
    {
        using var app = new TracWebApplicationFactory<Program>();
        await app.Request("demo").SendAsync();
        Assert.Equal(3, app.Workers.Limits.MaxRequests);

        var recycled = app.Workers.WaitForRecycleAsync("demo");
        await app.Request("demo").SendAsync();
        await app.Request("demo").SendAsync();
        await recycled;

        Assert.Equal(2, app.Workers.Serving("demo")!.Generation);
        Assert.Contains("gen=2;", (await app.Request("demo").SendAsync()).Body, StringComparison.Ordinal);
        Assert.Equal(1, app.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.MaximumRequests)));
    }

    [Fact]
    public async Task AdvancePastMaxLifetime_RecyclesWhateverTheJitterDrew()
    {
        // Without the idle timeout, which would retire the worker first.
        using var app = new TracWebApplicationFactory<Program>().ConfigureTrac(o => o.Workers.IdleTimeout = TimeSpan.Zero);
        await app.Request("demo").SendAsync();

        // Just past MaxLifetime alone is not enough for every draw of the 10 minutes of jitter; past both always is.
        var recycled = app.Workers.WaitForRecycleAsync("demo");
        app.Workers.AdvancePastMaxLifetime();
        await recycled;

        Assert.Equal(1, app.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.RestartInterval)));
        Assert.Throws<InvalidOperationException>(() => app.ConfigureTrac(o => o.Workers.MaxRequests = 1));
    }

    [Fact]
    public async Task AdvancePastIdleTimeout_RetiresAQuietWorker()
    {
        using var app = new TracWebApplicationFactory<Program>();
        await app.Request("demo").SendAsync();

        var retired = app.Workers.WaitForRecycleAsync("demo");
        app.Workers.AdvancePastIdleTimeout();
        await retired;

        Assert.Null(app.Workers.Serving("demo"));
    }

    [Fact]
    public async Task Metrics_AreThoseOfTheirOwnApp()
    {
        using var first = new TracWebApplicationFactory<Program>();
        using var second = new TracWebApplicationFactory<Program>();

        await first.Request("demo").SendAsync();
        await first.Request("demo").SendAsync();
        await second.Request("demo").SendAsync();

        Assert.Equal(2, first.Metrics.Sum("trac.worker.requests"));
        Assert.Equal(1, second.Metrics.Sum("trac.worker.requests"));
    }

    [Fact]
    public async Task TheClockStartsAtTheRealTime_SoIssuedCookiesAreKept()
    {
        using var app = new TracWebApplicationFactory<Program>();
        var client = app.CreateClient();

        await client.GetAsync(new Uri("/demo/session", UriKind.Relative));
        var body = await client.GetStringAsync(new Uri("/demo/", UriKind.Relative));

        Assert.InRange(app.Time.GetUtcNow(), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow);
        Assert.EndsWith(";session=s1", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheTestsOwnFakeTimeProvider_IsTheAppsClock_UntilTheAppIsBuilt()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 6, 1, 0, 0, 0, TimeSpan.Zero));
        using var app = new TracWebApplicationFactory<Program>().UseTime(time);
        await app.Request("demo").SendAsync();
        var recycled = app.Workers.WaitForRecycleAsync("demo");

        time.Advance(TimeSpan.FromDays(2)); // past the app's MaxLifetime and its jitter
        await recycled;

        Assert.Same(time, app.Time);
        Assert.Same(time, app.Services.GetRequiredService<TimeProvider>());
        var late = Assert.Throws<InvalidOperationException>(() => app.UseTime(new FakeTimeProvider()));
        Assert.StartsWith("Set the clock before the first request", late.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessVariables_AreOnlyThoseTheTestSets()
    {
        using var cache = new TracTestDirectory();
        using var app = new TracWebApplicationFactory<Program>().WithProcessVariable("PYTHON_EGG_CACHE", cache.Path);
        app.Projects.CreateEnvironment("tools", e => e.WithPlugin("Tool", ("lib/tool.txt", "t")));

        var response = await app.Request("tools").SendAsync();

        Assert.Contains(";plugins=1;", response.Body, StringComparison.Ordinal);
        Assert.Single(Directory.GetDirectories(cache.Path, "Tool-*", SearchOption.AllDirectories));
        Assert.Throws<InvalidOperationException>(() => app.WithProcessVariable("TRAC_ENV", "/elsewhere"));
    }

    [Fact]
    public async Task KeyOf_UsesTheAppsCatalog()
    {
        using var app = new TracWebApplicationFactory<Program>();
        var path = app.Projects.CreateEnvironment("alpha");
        await app.Request("alpha").SendAsync();

        Assert.Equal(path, app.Workers.KeyOf("alpha"));
        Assert.Equal(path, app.Workers.Serving("alpha")!.Key);
        Assert.Equal("shared", app.Workers.KeyOf("shared"));
    }

    [Fact]
    public async Task Logs_HoldDebugEntriesWhateverTheAppsLogFiltersSay()
    {
        // The test app's appsettings.json sets Logging:LogLevel:Default to Warning.
        using var app = new TracWebApplicationFactory<Program>();

        await app.Request("nosuch").SendAsync();

        Assert.Contains("/nosuch/", (await app.Logs.WaitForAsync("EnvironmentNotFound")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnKestrel_RequestsReachTheAppsAddress()
    {
        using var app = new TracWebApplicationFactory<Program>();
        // A free loopback port through Listen: UseKestrel(0) makes the factory rewrite the server's addresses while a
        // minimal app's Kestrel may already be binding them, which fails now and then.
        app.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        app.StartServer();

        var response = await app.Request("demo", "/wiki").WithBody("text=x").SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Contains(";method=POST;body=text=x;", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithProjects_TheAppsOwnPluginCacheIsLeftAlone()
    {
        using var production = new TracTestDirectory();
        var appCache = Path.Combine(production.Path, "plugin-cache");
        using var app = new AppConfiguredFactory(("Trac:PluginCache:Directory", appCache));
        app.Projects.CreateEnvironment("tools", e => e.WithPlugin("Tool", ("lib/tool.txt", "t")));

        var response = await app.Request("tools").SendAsync();

        Assert.Contains(";plugins=1;", response.Body, StringComparison.Ordinal);
        Assert.False(Directory.Exists(appCache), "the test extracted plugins into the app's own cache");
        Assert.Single(Directory.GetDirectories(Path.Combine(app.Projects.Path, ".egg-cache"), "Tool-*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task WithProjects_APluginCacheTheTestAsksFor_IsUsed()
    {
        using var asked = new TracTestDirectory();
        using var app = new AppConfiguredFactory(("Trac:PluginCache:Directory", Path.Combine(asked.Path, "not-this")))
            .ConfigureTrac(o => o.PluginCache.Directory = asked.Path);
        app.Projects.CreateEnvironment("tools", e => e.WithPlugin("Tool", ("lib/tool.txt", "t")));

        await app.Request("tools").SendAsync();

        Assert.Single(Directory.GetDirectories(asked.Path, "Tool-*", SearchOption.AllDirectories));
    }

    /// <summary>The test app with more configuration of its own, as its appsettings.json might hold.</summary>
    private sealed class AppConfiguredFactory(params (string Key, string Value)[] settings) : TracWebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            builder.ConfigureAppConfiguration((_, configuration) =>
                configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))));
            base.ConfigureWebHost(builder);
        }
    }
}
