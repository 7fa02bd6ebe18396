using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
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
        using var host = await TestHosts.StartAsync(o => o.Environment.Path = path, t => t.ResolveEnvironment().Dispatch(TestHosts.Echo));

        var (status, body, _) = await host.GetAsync("/wiki/WikiStart");

        Assert.Equal(200, status);
        Assert.Equal("env=solo;project=Solo;base=;path=/wiki/WikiStart", body);
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
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var context = await host.SendPathAsync(url);

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal($"env=alpha;project=Alpha;base={pathBase};path={path}", await context.ReadBodyAsync());
    }

    [Fact]
    public async Task Feature_KeepsOriginalPathBaseAndPath()
    {
        _projects.CreateEnvironment("alpha");
        ITracEnvironmentFeature? seen = null;
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().Dispatch(c =>
            {
                seen = c.Features.Get<ITracEnvironmentFeature>();
                return Task.CompletedTask;
            }),
            before: app => app.UsePathBase("/trac"));

        await host.GetAsync("/trac/alpha/wiki");

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
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo),
            before: app => app.Use(async (context, next) =>
            {
                await next(context);
                after = $"{context.Request.PathBase}|{context.Request.Path}|{context.GetTracEnvironment()?.Name ?? "none"}";
            }));

        await host.GetAsync("/alpha/wiki");

        Assert.Equal("|/alpha/wiki|none", after);
    }

    [Fact]
    public async Task UnknownEnvironment_Returns404WithTracBody()
    {
        _projects.CreateEnvironment("alpha");
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var (status, body, response) = await host.GetAsync("/nosuch/wiki");

        Assert.Equal(404, status);
        Assert.Equal("Environment not found", body);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(21, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task UnknownEnvironment_LeavesPathForOuterMiddlewareAsItCame()
    {
        string? seen = null;
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo),
            before: app => app.Use(async (context, next) =>
            {
                await next(context);
                seen = $"{context.Response.StatusCode}|{context.Request.PathBase.Value}|{context.Request.Path.Value}";
            }));

        await host.GetAsync("/nosuch/wiki");

        Assert.Equal("404||/nosuch/wiki", seen);
    }

    [Fact]
    public async Task EnvironmentName_IsCaseSensitive()
    {
        _projects.CreateEnvironment("alpha");
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        Assert.Equal(404, (await host.GetAsync("/ALPHA/wiki")).Status);
        Assert.Equal(200, (await host.GetAsync("/alpha/wiki")).Status);
    }

    [Fact]
    public async Task Utf8EnvironmentName_IsServed()
    {
        _projects.CreateEnvironment("projekt-ä", e => e.WithProject("Projekt Ä"));
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var (status, body, _) = await host.GetAsync("/projekt-%C3%A4/wiki");

        Assert.Equal(200, status);
        Assert.Equal("env=projekt-ä;project=Projekt Ä;base=/projekt-ä;path=/wiki", body);
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
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var context = await host.SendPathAsync(path);

        Assert.Equal(404, context.Response.StatusCode);
        Assert.Equal("Environment not found", await context.ReadBodyAsync());
    }

    [Fact]
    public async Task TracIgnoredEnvironment_Gets404OnDirectUrl()
    {
        _projects.CreateEnvironment("alpha");
        _projects.CreateEnvironment("scratch");
        _projects.WriteTracIgnore("scr*\n");
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        Assert.Equal(404, (await host.GetAsync("/scratch/wiki")).Status);
        Assert.Equal(200, (await host.GetAsync("/alpha/wiki")).Status);
    }

    [Fact]
    public async Task HiddenEnvironment_IsServedWhenTracIgnoreAllowsIt()
    {
        // With an empty .tracignore Trac lists hidden directories, so their links must work too.
        _projects.CreateEnvironment(".hidden");
        _projects.WriteTracIgnore(string.Empty);
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        Assert.Equal(200, (await host.GetAsync("/.hidden/wiki")).Status);
    }

    [Fact]
    public async Task FilesInParentDirectory_AreNotEnvironments()
    {
        _projects.CreateFile("notes");
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        Assert.Equal(404, (await host.GetAsync("/notes")).Status);
    }

    [Fact]
    public async Task NamePattern_RestrictsNames()
    {
        _projects.CreateEnvironment("my_project");
        _projects.CreateEnvironment("Other2");
        using var host = await TestHosts.StartParentAsync(_projects.Path, e => e.NamePattern = "[a-z_]+");

        Assert.Equal(200, (await host.GetAsync("/my_project/wiki")).Status);
        Assert.Equal(404, (await host.GetAsync("/Other2/wiki")).Status);
        var (_, index, _) = await host.GetAsync("/");
        Assert.DoesNotContain("Other2", index, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingVersion_Returns500WithTracMessage()
    {
        var path = _projects.CreateEnvironment("broken", e => e.WithoutVersion());
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var (status, body, response) = await host.GetAsync("/broken/wiki");

        Assert.Equal(500, status);
        Assert.Equal($"Trac Error\n\nTracError: No Trac environment found at {path}", body);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(body), response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task UnknownVersion_Returns500WithTracMessage()
    {
        _projects.CreateEnvironment("future", e => e.WithVersion("Trac Environment Version 9"));
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var (status, body, _) = await host.GetAsync("/future/");

        Assert.Equal(500, status);
        Assert.Equal("Trac Error\n\nTracError: Unknown Trac environment type 'Trac Environment Version 9'", body);
    }

    [Fact]
    public async Task MissingTracIni_Returns500WithTracMessageAndLogsDetail()
    {
        var path = _projects.CreateEnvironment("noini", e => e.WithoutTracIni());
        var logs = new TracTestLogs();
        using var host = await TestHosts.StartParentAsync(_projects.Path, logs: logs);

        var (status, body, _) = await host.GetAsync("/noini/");

        Assert.Equal(500, status);
        Assert.Equal($"Trac Error\n\nTracError: The configuration file is not found at {Path.Combine(path, "conf", "trac.ini")}", body);
        Assert.DoesNotContain(" at Trac.", body, StringComparison.Ordinal);
        var logged = await logs.WaitForAsync(e => e.EventId.Id == Diagnostics.EventIds.EnvironmentOpenFailed);
        Assert.Contains(path, logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutDispatch_RequestContinuesToTheRestOfThePipeline()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment(),
            after: app => app.Run(TestHosts.Echo));

        var (status, body, _) = await host.GetAsync("/alpha/wiki");

        Assert.Equal(200, status);
        Assert.Equal("env=alpha;project=Alpha;base=/alpha;path=/wiki", body);
    }

    [Fact]
    public async Task Use_RunsHostMiddlewareBetweenStagesWithTheEnvironment()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment()
                .Use(next => context =>
                {
                    context.Response.Headers["X-Seen-Environment"] = context.GetTracEnvironment()?.Name;
                    return next(context);
                })
                .Dispatch(TestHosts.Echo));

        var (_, _, response) = await host.GetAsync("/alpha/wiki");

        Assert.Equal("alpha", response.Headers.GetValues("X-Seen-Environment").Single());
    }

    [Fact]
    public async Task EnvironmentPathServerVariable_WinsOverConfiguredMode()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        var other = _projects.CreateEnvironment("other", e => e.WithProject("Other"));
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment(e => e.Selector = _ => "/does/not/matter/because/server/variable/wins").Dispatch(TestHosts.Echo),
            before: app => app.Use((context, next) =>
            {
                context.Features.Set<IServerVariablesFeature>(new TracServerVariables { ["trac.env_path"] = other });
                return next(context);
            }));

        var (status, body, _) = await host.GetAsync("/alpha/wiki");

        Assert.Equal(200, status);
        Assert.Equal("env=other;project=Other;base=;path=/alpha/wiki", body);
    }

    [Fact]
    public async Task EmptyEnvironmentPathServerVariable_CountsAsUnset()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo),
            before: app => app.Use((context, next) =>
            {
                context.Features.Set<IServerVariablesFeature>(new TracServerVariables { ["trac.env_path"] = string.Empty });
                return next(context);
            }));

        var (_, body, _) = await host.GetAsync("/alpha/wiki");

        Assert.Equal("env=alpha;project=Alpha;base=/alpha;path=/wiki", body);
    }

    [Fact]
    public async Task Selector_PicksEnvironmentPerRequest()
    {
        var a = _projects.CreateEnvironment("a", e => e.WithProject("A"));
        var b = _projects.CreateEnvironment("b", e => e.WithProject("B"));
        using var host = await TestHosts.StartAsync(
            o => o.Environment.Selector = c => c.Request.Headers["X-Project"] == "b" ? b : a,
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/wiki");
        request.Headers.Add("X-Project", "b");
        var response = await host.GetTestClient().SendAsync(request);

        Assert.Equal("env=b;project=B;base=;path=/wiki", await response.Content.ReadAsStringAsync());
        Assert.Equal("env=a;project=A;base=;path=/wiki", (await host.GetAsync("/wiki")).Body);
    }

    [Fact]
    public async Task SelectorReturningNothing_FallsBackToConfiguredMode()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        using var host = await TestHosts.StartAsync(
            o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.Environment.Selector = _ => null;
            },
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo));

        Assert.Equal("env=alpha;project=Alpha;base=/alpha;path=/wiki", (await host.GetAsync("/alpha/wiki")).Body);
    }

    [Fact]
    public async Task SelectorOnly_ChoosingNothing_Returns500WithTracMessage()
    {
        using var host = await TestHosts.StartAsync(
            o => o.Environment.Selector = _ => null,
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo));

        var (status, body, _) = await host.GetAsync("/wiki");

        Assert.Equal(500, status);
        Assert.StartsWith("Trac Error\n\nTracError: The environment options \"TRAC_ENV\" or \"TRAC_ENV_PARENT_DIR\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SelectedBrokenEnvironment_Returns500()
    {
        var missing = Path.Combine(_projects.Path, "missing");
        using var host = await TestHosts.StartAsync(
            o => o.Environment.Selector = _ => missing,
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo));

        var (status, body, _) = await host.GetAsync("/wiki");

        Assert.Equal(500, status);
        Assert.Equal($"Trac Error\n\nTracError: No Trac environment found at {missing}", body);
    }

    [Fact]
    public async Task EnvironmentList_NamesByLastDirectoryAndFirstWins()
    {
        using var other = new TracTestDirectory();
        var first = _projects.CreateEnvironment("shared", e => e.WithProject("First"));
        var second = other.CreateEnvironment("shared", e => e.WithProject("Second"));
        var extra = other.CreateEnvironment("extra", e => e.WithProject("Extra"));
        var logs = new TracTestLogs();
        using var host = await TestHosts.StartAsync(
            o =>
            {
                o.Environment.Paths.Add(first);
                o.Environment.Paths.Add(second);
                o.Environment.Paths.Add(Path.Combine(other.Path, "missing"));
                o.Environment.Paths.Add(extra);
            },
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo),
            logs: logs);

        Assert.Equal("env=shared;project=First;base=/shared;path=/wiki", (await host.GetAsync("/shared/wiki")).Body);
        Assert.Equal("env=extra;project=Extra;base=/extra;path=/", (await host.GetAsync("/extra")).Body);
        Assert.Equal(404, (await host.GetAsync("/missing")).Status);
        Assert.Contains(logs.Entries, e => e.EventId.Id == Diagnostics.EventIds.EnvironmentConflict && e.Message.Contains(second, StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.EventId.Id == Diagnostics.EventIds.EnvironmentPathMissing);
    }

    [Fact]
    public async Task ListAndParentDirectory_Combine_ListFirst()
    {
        using var other = new TracTestDirectory();
        var listed = other.CreateEnvironment("alpha", e => e.WithProject("Listed"));
        _projects.CreateEnvironment("alpha", e => e.WithProject("FromParent"));
        _projects.CreateEnvironment("beta", e => e.WithProject("Beta"));
        using var host = await TestHosts.StartAsync(
            o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.Environment.Paths.Add(listed);
            },
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo));

        Assert.Equal("env=alpha;project=Listed;base=/alpha;path=/", (await host.GetAsync("/alpha/")).Body);
        Assert.Equal("env=beta;project=Beta;base=/beta;path=/", (await host.GetAsync("/beta/")).Body);
    }

    [Fact]
    public async Task BasePath_IsRequiredPrefixAndMovesToPathBase()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        using var host = await TestHosts.StartAsync(
            o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.Environment.BasePath = "/projects/";
            },
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo));

        Assert.Equal("env=alpha;project=Alpha;base=/projects/alpha;path=/wiki", (await host.GetAsync("/projects/alpha/wiki")).Body);
        var outside = await host.GetAsync("/alpha/wiki");
        Assert.Equal(404, outside.Status);
        Assert.Equal("Environment not found", outside.Body);
        Assert.Equal(404, (await host.GetAsync("/projectsX/alpha/wiki")).Status);
        Assert.Contains("href=\"/projects/alpha\"", (await host.GetAsync("/projects/")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BasePath_AlreadyInPathBase_IsNotRequiredAgain()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        using var host = await TestHosts.StartAsync(
            o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.Environment.BasePath = "/projects";
            },
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo),
            before: app => app.UsePathBase("/projects"));

        Assert.Equal("env=alpha;project=Alpha;base=/projects/alpha;path=/wiki", (await host.GetAsync("/projects/alpha/wiki")).Body);
    }

    [Fact]
    public async Task BaseUrl_BuildsTheEnvironmentUrlWithoutRestrictingRequests()
    {
        // Behind a proxy that strips /projects, requests arrive without it: BaseUrl must not turn them away.
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        Uri? seen = null;
        using var host = await TestHosts.StartAsync(
            o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.Environment.BaseUrl = "https://example.org/projects/";
            },
            t => t.ResolveEnvironment().Dispatch(c =>
            {
                seen = c.GetTracEnvironment()!.BaseUrl;
                return TestHosts.Echo(c);
            }));

        Assert.Equal("env=alpha;project=Alpha;base=/alpha;path=/wiki", (await host.GetAsync("/alpha/wiki")).Body);
        Assert.Equal(new Uri("https://example.org/projects/alpha"), seen);
    }

    [Fact]
    public async Task TracIni_IsExposedAsConfiguration()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha").WithSetting("trac", "base_url", "https://example.org/alpha"));
        string? value = null;
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().Dispatch(c =>
            {
                value = c.GetTracEnvironment()!.Configuration["trac:base_url"];
                return Task.CompletedTask;
            }));

        await host.GetAsync("/alpha/");

        Assert.Equal("https://example.org/alpha", value);
    }

    [Fact]
    public async Task KnownEnvironment_IsOpenedOnceAndServedFromCache()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        var seen = new List<TracEnvironment>();
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().Dispatch(c =>
            {
                lock (seen)
                {
                    seen.Add(c.GetTracEnvironment()!);
                }

                return Task.CompletedTask;
            }));

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(200, (await host.GetAsync("/alpha/wiki")).Status);
        }

        Assert.Single(seen.Distinct());
    }
}
