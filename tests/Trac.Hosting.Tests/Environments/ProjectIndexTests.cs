using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.Environments;

public sealed class ProjectIndexTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public void Dispose() => _projects.Dispose();

    [Theory]
    [InlineData("/")]
    [InlineData("//")]
    [InlineData("///")]
    public async Task EmptyName_ShowsAvailableProjects(string path)
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha", "First project"));
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var context = await host.SendPathAsync(path);
        var body = await context.ReadBodyAsync();

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal("text/html; charset=utf-8", context.Response.ContentType);
        Assert.Contains("<title>Available Projects</title>", body, StringComparison.Ordinal);
        Assert.Contains("<h1>Available Projects</h1>", body, StringComparison.Ordinal);
        Assert.Contains("<a href=\"/alpha\" title=\"First project\">Alpha</a>", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_IsSortedByLowerCasedProjectName()
    {
        _projects.CreateEnvironment("a", e => e.WithProject("zulu"));
        _projects.CreateEnvironment("b", e => e.WithProject("Alpha"));
        _projects.CreateEnvironment("c", e => e.WithProject("beta"));
        _projects.CreateEnvironment("d", e => e.WithoutVersion());
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var (_, body, response) = await host.GetAsync("/");

        var order = new[] { ">Alpha<", ">beta<", "d: <em>Error</em>", ">zulu<" }.Select(s => body.IndexOf(s, StringComparison.Ordinal)).ToArray();
        Assert.All(order, i => Assert.True(i >= 0));
        Assert.Equal(order.Order(), order);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(body), response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task BrokenEnvironment_IsListedWithItsError()
    {
        var path = _projects.CreateEnvironment("broken", e => e.WithoutVersion());
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var (status, body, _) = await host.GetAsync("/");

        Assert.Equal(200, status);
        Assert.Contains($"<li><small>broken: <em>Error</em> <br>(No Trac environment found at {path})</small></li>", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_HtmlEncodesEveryValue()
    {
        _projects.CreateEnvironment("x&y", e => e.WithProject("<script>alert(1)</script>", "\"><img src=x onerror=alert(2)>"));
        _projects.CreateEnvironment("<b>", e => e.WithoutVersion());
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var (_, body, _) = await host.GetAsync("/");

        Assert.DoesNotContain("<script>", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", body, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", body, StringComparison.Ordinal);
        Assert.Contains("title=\"&quot;&gt;&lt;img src=x onerror=alert(2)&gt;\"", body, StringComparison.Ordinal);
        Assert.Contains("href=\"/x&amp;y\"", body, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;: <em>Error</em>", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_LinksAreRelativeToPathBase()
    {
        _projects.CreateEnvironment("projekt ä", e => e.WithProject("Umlaut"));
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo),
            before: app => app.UsePathBase("/trac"));

        var (_, body, _) = await host.GetAsync("/trac/");

        Assert.Contains("<a href=\"/trac/projekt%20%C3%A4\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_AppliesTracIgnore()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        _projects.CreateEnvironment(".hidden", e => e.WithProject("Hidden"));
        _projects.CreateEnvironment("tmp1", e => e.WithProject("Temp"));
        _projects.WriteTracIgnore("tmp?\n");
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var (_, body, _) = await host.GetAsync("/");

        Assert.Contains(">Alpha<", body, StringComparison.Ordinal);
        Assert.Contains(">Hidden<", body, StringComparison.Ordinal);
        Assert.DoesNotContain(">Temp<", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json, text/html;q=0.5")]
    [InlineData("text/html;q=0.9, application/json")]
    public async Task AcceptJson_GetsTheListAsJson(string accept)
    {
        _projects.CreateEnvironment("beta", e => e.WithProject("Beta", "<b>bold</b>"));
        var broken = _projects.CreateEnvironment("alpha", e => e.WithoutTracIni());
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var (status, body, response) = await host.GetAsync("/", accept);

        Assert.Equal(200, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Accept", response.Headers.Vary);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("Available Projects", json.RootElement.GetProperty("title").GetString());
        var projects = json.RootElement.GetProperty("projects").EnumerateArray().ToArray();
        Assert.Equal(2, projects.Length);
        Assert.Equal("alpha", projects[0].GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, projects[0].GetProperty("href").ValueKind);
        Assert.Equal($"The configuration file is not found at {Path.Combine(broken, "conf", "trac.ini")}", projects[0].GetProperty("error").GetString());
        Assert.Equal("beta", projects[1].GetProperty("name").GetString());
        Assert.Equal("/beta", projects[1].GetProperty("href").GetString());
        Assert.Equal("Beta", projects[1].GetProperty("projectName").GetString());
        Assert.Equal("<b>bold</b>", projects[1].GetProperty("description").GetString());
        Assert.DoesNotContain("<b>", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")]
    [InlineData("application/json;q=0.5, text/html")]
    [InlineData("*/*")]
    public async Task BrowsersAndOtherClients_GetHtml(string? accept)
    {
        _projects.CreateEnvironment("alpha");
        using var host = await TestHosts.StartParentAsync(_projects.Path);

        var (_, _, response) = await host.GetAsync("/", accept);

        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task IndexTemplate_ReplacesThePage()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("<Alpha>"));
        using var templates = new TracTestDirectory();
        var template = templates.CreateFile("index.html", "<html><h2>{{title}}</h2><p>{{count}} at {{base}}</p>{{projects}}</html>");
        using var host = await TestHosts.StartAsync(
            o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.Environment.IndexTemplate = template;
            },
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo),
            before: app => app.UsePathBase("/a&b"));

        var (_, body, _) = await host.GetAsync("/a&b/");

        Assert.StartsWith("<html><h2>Available Projects</h2><p>1 at /a&amp;b</p><ul>\n<li><a href=\"/a&amp;b/alpha\" title=\"\">&lt;Alpha&gt;</a></li>\n</ul>\n</html>", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IndexTemplate_FromProcessVariable()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        using var templates = new TracTestDirectory();
        var template = templates.CreateFile("index.html", "custom {{count}}");
        using var host = await TestHosts.StartAsync(
            null,
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo),
            processVariables: new Dictionary<string, string?>
            {
                ["TRAC_ENV_PARENT_DIR"] = _projects.Path,
                ["TRAC_ENV_INDEX_TEMPLATE"] = template,
            });

        Assert.Equal("custom 1", (await host.GetAsync("/")).Body);
    }

    [Fact]
    public async Task MissingIndexTemplate_FailsAtStartUp()
    {
        var missing = Path.Combine(_projects.Path, "nope.html");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHosts.StartAsync(
            o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.Environment.IndexTemplate = missing;
            },
            t => t.ResolveEnvironment()));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("IndexTemplate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IndexTemplate_IsReloadedWhenItChanges()
    {
        using var templates = new TracTestDirectory();
        var template = templates.CreateFile("index.html", "version one");
        var logs = new TracTestLogs();
        using var host = await TestHosts.StartAsync(
            o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.Environment.IndexTemplate = template;
            },
            t => t.ResolveEnvironment(),
            logs: logs);
        Assert.Equal("version one", (await host.GetAsync("/")).Body);

        var reloaded = logs.WaitForAsync(e => e.EventId.Id == Diagnostics.EventIds.IndexTemplateReloaded);
        File.WriteAllText(template, "version two");
        await reloaded;

        Assert.Equal("version two", (await host.GetAsync("/")).Body);
    }
}
