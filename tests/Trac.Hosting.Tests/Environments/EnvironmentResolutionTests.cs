using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Environments;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.Environments;

public sealed class EnvironmentResolutionTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task SingleEnvironment_LeavesPathUntouchedAndExposesEnvironment()
    {
        var path = _projects.CreateEnvironment("solo", e => e.WithProject("Solo", "Only one"));
        await using var host = await TracTestHost.CreateBuilder(_projects).ConfigureTrac(o => o.Environment.Path = path).StartAsync();

        var response = await host.RequestPath("/wiki/WikiStart").SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("solo#0 |/wiki/WikiStart user=-", response.Body);
        Assert.Equal("Solo", host.Recorder.Dispatches.Single().ProjectName);
    }

    [Theory]
    [InlineData("/alpha/wiki", "/alpha", "/wiki")]
    [InlineData("/alpha", "/alpha", "/")]
    [InlineData("/alpha/", "/alpha", "/")]
    [InlineData("//alpha//wiki", "/alpha", "//wiki")]
    [InlineData("/alpha/ticket/1", "/alpha", "/ticket/1")]
    public async Task ParentDirectory_MovesFirstSegmentToPathBase(string url, string pathBase, string path)
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var response = await host.RequestPath(url).SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Equal($"alpha#0 {pathBase}|{path} user=-", response.Body);
        Assert.Equal("Alpha", host.Recorder.Dispatches.Single().ProjectName);
    }

    [Fact]
    public async Task Feature_KeepsOriginalPathBaseAndPath()
    {
        _projects.CreateEnvironment("alpha");
        ITracEnvironmentFeature? seen = null;
        await using var host = await TracTestHost.CreateBuilder(_projects).UseBefore(app => app.UsePathBase("/trac")).StartAsync();
        host.Recorder.OnDispatch = c =>
        {
            seen = c.Features.Get<ITracEnvironmentFeature>();
            return Task.CompletedTask;
        };

        await host.RequestPath("/trac/alpha/wiki").SendAsync();

        Assert.NotNull(seen);
        Assert.Equal("/trac", seen.OriginalPathBase.Value);
        Assert.Equal("/alpha/wiki", seen.OriginalPath.Value);
        Assert.Equal("alpha", seen.Environment.Name);
    }

    [Fact]
    public async Task PathBaseAndPath_AreRestoredForOuterMiddleware()
    {
        _projects.CreateEnvironment("alpha");
        string? after = null;
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseBefore(app => app.Use(async (context, next) =>
            {
                await next(context);
                after = $"{context.Request.PathBase}|{context.Request.Path}|{context.GetTracEnvironment()?.Name ?? "none"}";
            }))
            .StartAsync();

        await host.Request("alpha", "/wiki").SendAsync();

        Assert.Equal("|/alpha/wiki|none", after);
    }

    [Fact]
    public async Task UnknownEnvironment_Returns404WithTracBody()
    {
        _projects.CreateEnvironment("alpha");
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var response = await host.Request("nosuch", "/wiki").SendAsync();

        Assert.Equal(404, response.StatusCode);
        Assert.Equal("Environment not found", response.Body);
        Assert.Equal("text/plain", MediaTypeHeaderValue.Parse(response.Headers["Content-Type"]).MediaType);
        Assert.Equal("21", response.Headers["Content-Length"]);
    }

    [Fact]
    public async Task UnknownEnvironment_LeavesPathForOuterMiddlewareAsItCame()
    {
        string? seen = null;
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseBefore(app => app.Use(async (context, next) =>
            {
                await next(context);
                seen = $"{context.Response.StatusCode}|{context.Request.PathBase.Value}|{context.Request.Path.Value}";
            }))
            .StartAsync();

        await host.Request("nosuch", "/wiki").SendAsync();

        Assert.Equal("404||/nosuch/wiki", seen);
    }

    [Fact]
    public async Task EnvironmentName_IsCaseSensitive()
    {
        _projects.CreateEnvironment("alpha");
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        Assert.Equal(404, (await host.Request("ALPHA", "/wiki").SendAsync()).StatusCode);
        Assert.Equal(200, (await host.Request("alpha", "/wiki").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task Utf8EnvironmentName_IsServed()
    {
        _projects.CreateEnvironment("projekt-ä", e => e.WithProject("Projekt Ä"));
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        // Percent-encoded on the wire, as a browser sends it.
        using var response = await host.CreateClient().GetAsync("/projekt-%C3%A4/wiki");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("projekt-ä#0 /projekt-ä|/wiki user=-", await response.Content.ReadAsStringAsync());
        Assert.Equal("Projekt Ä", host.Recorder.Dispatches.Single().ProjectName);
    }

    [Theory]
    [InlineData("/..")]
    [InlineData("/../")]
    [InlineData("/../alpha/wiki")]
    [InlineData("/./alpha")]
    [InlineData("/..%2F")]
    [InlineData("/..%2f")]
    [InlineData("/alpha%2F..%2F..%2Fetc")]
    [InlineData("/a%5cb/")]
    [InlineData("/a\\b/")]
    [InlineData("/..\\alpha")]
    [InlineData("/\0/")]
    [InlineData("/alpha\0/")]
    [InlineData("/al\npha/")]
    [InlineData("/.hidden/")]
    [InlineData("/.hidden/wiki")]
    [InlineData("/\u202Ealpha/")]
    public async Task TraversalAndEncodingAttacks_Get404(string path)
    {
        _projects.CreateEnvironment("alpha");
        _projects.CreateEnvironment(".hidden");
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        // The decoded Path exactly as given, as a server that does not normalize might pass it.
        var response = await host.RequestPath(path).SendAsync();

        Assert.Equal(404, response.StatusCode);
        Assert.Equal("Environment not found", response.Body);
    }

    [Fact]
    public async Task TracIgnoredEnvironment_Gets404OnDirectUrl()
    {
        _projects.CreateEnvironment("alpha");
        _projects.CreateEnvironment("scratch");
        _projects.WriteTracIgnore("scr*\n");
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        Assert.Equal(404, (await host.Request("scratch", "/wiki").SendAsync()).StatusCode);
        Assert.Equal(200, (await host.Request("alpha", "/wiki").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task HiddenEnvironment_IsServedWhenTracIgnoreAllowsIt()
    {
        // With an empty .tracignore Trac lists hidden directories, so their links must work too.
        _projects.CreateEnvironment(".hidden");
        _projects.WriteTracIgnore(string.Empty);
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        Assert.Equal(200, (await host.Request(".hidden", "/wiki").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task FilesInParentDirectory_AreNotEnvironments()
    {
        _projects.CreateFile("notes");
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        Assert.Equal(404, (await host.RequestPath("/notes").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task NamePattern_RestrictsNames()
    {
        _projects.CreateEnvironment("my_project");
        _projects.CreateEnvironment("Other2");
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac((trac, recorder) => trac.ResolveEnvironment(e => e.NamePattern = "[a-z_]+").Dispatch(recorder.Dispatch))
            .StartAsync();

        Assert.Equal(200, (await host.Request("my_project", "/wiki").SendAsync()).StatusCode);
        Assert.Equal(404, (await host.Request("Other2", "/wiki").SendAsync()).StatusCode);
        var index = await host.RequestPath("/").SendAsync();
        Assert.DoesNotContain("Other2", index.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingVersion_Returns500WithTracMessage()
    {
        var path = _projects.CreateEnvironment("broken", e => e.WithoutVersion());
        await using var host = await TracTestHost.CreateBuilder(_projects).ConfigureTrac(o => o.Environment.ShowServerPaths = true).StartAsync();

        var response = await host.Request("broken", "/wiki").SendAsync();

        Assert.Equal(500, response.StatusCode);
        Assert.Equal($"Trac Error\n\nTracError: No Trac environment found at {path}", response.Body);
        Assert.Equal("text/plain", MediaTypeHeaderValue.Parse(response.Headers["Content-Type"]).MediaType);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(response.Body).ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers["Content-Length"]);
    }

    [Fact]
    public async Task UnknownVersion_Returns500WithTracMessage()
    {
        _projects.CreateEnvironment("future", e => e.WithVersion("Trac Environment Version 9"));
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var response = await host.Request("future").SendAsync();

        Assert.Equal(500, response.StatusCode);
        Assert.Equal("Trac Error\n\nTracError: Unknown Trac environment type 'Trac Environment Version 9'", response.Body);
    }

    [Fact]
    public async Task MissingTracIni_Returns500WithTracMessageAndLogsDetail()
    {
        var path = _projects.CreateEnvironment("noini", e => e.WithoutTracIni());
        await using var host = await TracTestHost.CreateBuilder(_projects).ConfigureTrac(o => o.Environment.ShowServerPaths = true).StartAsync();

        var response = await host.Request("noini").SendAsync();

        Assert.Equal(500, response.StatusCode);
        Assert.Equal($"Trac Error\n\nTracError: The configuration file is not found at {Path.Combine(path, "conf", "trac.ini")}", response.Body);
        Assert.DoesNotContain(" at Trac.", response.Body, StringComparison.Ordinal);
        var logged = await host.Logs.WaitForAsync(e => e.Id.Id == Diagnostics.EventIds.EnvironmentOpenFailed);
        Assert.Contains(path, logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutDispatch_RequestContinuesToTheRestOfThePipeline()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        var recorder = new TracRecorder();
        using var host = await TestHosts.StartAppAsync(
            s => s.AddTrac(o => o.Environment.ParentDirectory = _projects.Path),
            app =>
            {
                app.UseTrac(t => t.ResolveEnvironment());
                app.Run(recorder.Dispatch);
            });

        using var response = await host.GetTestClient().GetAsync("/alpha/wiki");

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("alpha#0 /alpha|/wiki user=-", await response.Content.ReadAsStringAsync());
        Assert.Equal("Alpha", recorder.Dispatches.Single().ProjectName);
    }

    [Fact]
    public async Task Use_RunsHostMiddlewareBetweenStagesWithTheEnvironment()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac((trac, recorder) => trac.ResolveEnvironment()
                .Use(next => context =>
                {
                    context.Response.Headers["X-Seen-Environment"] = context.GetTracEnvironment()?.Name;
                    return next(context);
                })
                .Dispatch(recorder.Dispatch))
            .StartAsync();

        var response = await host.Request("alpha", "/wiki").SendAsync();

        Assert.Equal("alpha", response.Headers["X-Seen-Environment"]);
    }

    [Fact]
    public async Task EnvironmentPathServerVariable_WinsOverConfiguredMode()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        var other = _projects.CreateEnvironment("other", e => e.WithProject("Other"));
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac((trac, recorder) => trac
                .ResolveEnvironment(e => e.Selector = _ => "/does/not/matter/because/server/variable/wins")
                .Dispatch(recorder.Dispatch))
            .StartAsync();

        var response = await host.Request("alpha", "/wiki").WithServerVariable("trac.env_path", other).SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("other#0 |/alpha/wiki user=-", response.Body);
        Assert.Equal("Other", host.Recorder.Dispatches.Single().ProjectName);
    }

    [Fact]
    public async Task EmptyEnvironmentPathServerVariable_CountsAsUnset()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var response = await host.Request("alpha", "/wiki").WithServerVariable("trac.env_path", string.Empty).SendAsync();

        Assert.Equal("alpha#0 /alpha|/wiki user=-", response.Body);
        Assert.Equal("Alpha", host.Recorder.Dispatches.Single().ProjectName);
    }

    [Fact]
    public async Task Selector_PicksEnvironmentPerRequest()
    {
        var a = _projects.CreateEnvironment("a", e => e.WithProject("A"));
        var b = _projects.CreateEnvironment("b", e => e.WithProject("B"));
        await using var host = await StartSelectingAsync(c => c.Request.Headers["X-Project"] == "b" ? b : a);

        var chosen = await host.RequestPath("/wiki").WithHeader("X-Project", "b").SendAsync();
        var fallback = await host.RequestPath("/wiki").SendAsync();

        Assert.Equal("b#0 |/wiki user=-", chosen.Body);
        Assert.Equal("a#0 |/wiki user=-", fallback.Body);
        Assert.Equal(["B", "A"], host.Recorder.Dispatches.Select(d => d.ProjectName));
    }

    [Fact]
    public async Task SelectorReturningNothing_FallsBackToConfiguredMode()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        await using var host = await TracTestHost.CreateBuilder(_projects).ConfigureTrac(o => o.Environment.Selector = _ => null).StartAsync();

        Assert.Equal("alpha#0 /alpha|/wiki user=-", (await host.Request("alpha", "/wiki").SendAsync()).Body);
        Assert.Equal("Alpha", host.Recorder.Dispatches.Single().ProjectName);
    }

    [Fact]
    public async Task SelectorOnly_ChoosingNothing_Returns500WithTracMessage()
    {
        await using var host = await StartSelectingAsync(_ => null);

        var response = await host.RequestPath("/wiki").SendAsync();

        Assert.Equal(500, response.StatusCode);
        Assert.StartsWith("Trac Error\n\nTracError: The environment options \"TRAC_ENV\" or \"TRAC_ENV_PARENT_DIR\"", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SelectedBrokenEnvironment_Returns500()
    {
        var missing = Path.Combine(_projects.Path, "missing");
        await using var host = await StartSelectingAsync(_ => missing);

        var response = await host.RequestPath("/wiki").SendAsync();

        Assert.Equal(500, response.StatusCode);
        Assert.Equal("Trac Error\n\nTracError: No Trac environment found at 'missing'", response.Body);
    }

    [Fact]
    public async Task EnvironmentList_NamesByLastDirectoryAndFirstWins()
    {
        using var other = new TracTestDirectory();
        var first = _projects.CreateEnvironment("shared", e => e.WithProject("First"));
        var second = other.CreateEnvironment("shared", e => e.WithProject("Second"));
        var extra = other.CreateEnvironment("extra", e => e.WithProject("Extra"));
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o =>
            {
                o.Environment.ParentDirectory = null;
                o.Environment.Paths.Add(first);
                o.Environment.Paths.Add(second);
                o.Environment.Paths.Add(Path.Combine(other.Path, "missing"));
                o.Environment.Paths.Add(extra);
            })
            .StartAsync();

        Assert.Equal("shared#0 /shared|/wiki user=-", (await host.Request("shared", "/wiki").SendAsync()).Body);
        Assert.Equal("extra#0 /extra|/ user=-", (await host.RequestPath("/extra").SendAsync()).Body);
        Assert.Equal(["First", "Extra"], host.Recorder.Dispatches.Select(d => d.ProjectName));
        Assert.Equal(404, (await host.RequestPath("/missing").SendAsync()).StatusCode);
        Assert.Contains(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.EnvironmentConflict && e.Message.Contains(second, StringComparison.Ordinal));
        Assert.Contains(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.EnvironmentPathMissing);
    }

    [Fact]
    public async Task ListAndParentDirectory_Combine_ListFirst()
    {
        using var other = new TracTestDirectory();
        var listed = other.CreateEnvironment("alpha", e => e.WithProject("Listed"));
        _projects.CreateEnvironment("alpha", e => e.WithProject("FromParent"));
        _projects.CreateEnvironment("beta", e => e.WithProject("Beta"));
        await using var host = await TracTestHost.CreateBuilder(_projects).ConfigureTrac(o => o.Environment.Paths.Add(listed)).StartAsync();

        Assert.Equal("alpha#0 /alpha|/ user=-", (await host.Request("alpha").SendAsync()).Body);
        Assert.Equal("beta#0 /beta|/ user=-", (await host.Request("beta").SendAsync()).Body);
        Assert.Equal(["Listed", "Beta"], host.Recorder.Dispatches.Select(d => d.ProjectName));
    }

    [Fact]
    public async Task BasePath_IsRequiredPrefixAndMovesToPathBase()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        await using var host = await TracTestHost.CreateBuilder(_projects).ConfigureTrac(o => o.Environment.BasePath = "/projects/").StartAsync();

        Assert.Equal("alpha#0 /projects/alpha|/wiki user=-", (await host.RequestPath("/projects/alpha/wiki").SendAsync()).Body);
        Assert.Equal("Alpha", host.Recorder.Dispatches.Single().ProjectName);
        var outside = await host.Request("alpha", "/wiki").SendAsync();
        Assert.Equal(404, outside.StatusCode);
        Assert.Equal("Environment not found", outside.Body);
        Assert.Equal(404, (await host.RequestPath("/projectsX/alpha/wiki").SendAsync()).StatusCode);
        Assert.Contains("href=\"/projects/alpha\"", (await host.RequestPath("/projects/").SendAsync()).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BasePath_AlreadyInPathBase_IsNotRequiredAgain()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => o.Environment.BasePath = "/projects")
            .UseBefore(app => app.UsePathBase("/projects"))
            .StartAsync();

        Assert.Equal("alpha#0 /projects/alpha|/wiki user=-", (await host.RequestPath("/projects/alpha/wiki").SendAsync()).Body);
        Assert.Equal("Alpha", host.Recorder.Dispatches.Single().ProjectName);
    }

    [Fact]
    public async Task BaseUrl_BuildsTheEnvironmentUrlWithoutRestrictingRequests()
    {
        // Behind a proxy that strips /projects, requests arrive without it: BaseUrl must not turn them away.
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        Uri? seen = null;
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => o.Environment.BaseUrl = "https://example.org/projects/")
            .StartAsync();
        host.Recorder.OnDispatch = c =>
        {
            seen = c.GetTracEnvironment()!.BaseUrl;
            return Task.CompletedTask;
        };

        Assert.Equal("alpha#0 /alpha|/wiki user=-", (await host.Request("alpha", "/wiki").SendAsync()).Body);
        Assert.Equal("Alpha", host.Recorder.Dispatches.Single().ProjectName);
        Assert.Equal(new Uri("https://example.org/projects/alpha"), seen);
    }

    [Fact]
    public async Task TracIni_IsExposedAsConfiguration()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha").WithSetting("trac", "base_url", "https://example.org/alpha"));
        string? value = null;
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();
        host.Recorder.OnDispatch = c =>
        {
            value = c.GetTracEnvironment()!.Configuration["trac:base_url"];
            return Task.CompletedTask;
        };

        await host.Request("alpha").SendAsync();

        Assert.Equal("https://example.org/alpha", value);
    }

    [Fact]
    public async Task KnownEnvironment_IsOpenedOnceAndServedFromCache()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        var seen = new List<TracEnvironment>();
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();
        host.Recorder.OnDispatch = c =>
        {
            lock (seen)
            {
                seen.Add(c.GetTracEnvironment()!);
            }

            return Task.CompletedTask;
        };

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(200, (await host.Request("alpha", "/wiki").SendAsync()).StatusCode);
        }

        Assert.Single(seen.Distinct());
    }

    /// <summary>A host whose only way to an environment is <paramref name="selector"/>: no parent directory.</summary>
    private Task<TracTestHost> StartSelectingAsync(Func<HttpContext, string?> selector) =>
        TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o =>
            {
                o.Environment.ParentDirectory = null;
                o.Environment.Selector = selector;
            })
            .StartAsync();
}
