using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Trac.Hosting.Testing;

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
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var response = await host.RequestPath(path).SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("text/html; charset=utf-8", response.Headers["Content-Type"]);
        Assert.Contains("<title>Available Projects</title>", response.Body, StringComparison.Ordinal);
        Assert.Contains("<h1>Available Projects</h1>", response.Body, StringComparison.Ordinal);
        Assert.Contains("<a href=\"/alpha\" title=\"First project\">Alpha</a>", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_IsSortedByLowerCasedProjectName()
    {
        _projects.CreateEnvironment("a", e => e.WithProject("zulu"));
        _projects.CreateEnvironment("b", e => e.WithProject("Alpha"));
        _projects.CreateEnvironment("c", e => e.WithProject("beta"));
        _projects.CreateEnvironment("d", e => e.WithoutVersion());
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var response = await host.RequestPath("/").SendAsync();

        var order = new[] { ">Alpha<", ">beta<", "d: <em>Error</em>", ">zulu<" }.Select(s => response.Body.IndexOf(s, StringComparison.Ordinal)).ToArray();
        Assert.All(order, i => Assert.True(i >= 0));
        Assert.Equal(order.Order(), order);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(response.Body).ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers["Content-Length"]);
    }

    [Fact]
    public async Task BrokenEnvironment_IsListedWithItsError()
    {
        _projects.CreateEnvironment("broken", e => e.WithoutVersion());
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var response = await host.RequestPath("/").SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Contains("<li><small>broken: <em>Error</em> <br>(No Trac environment found at &#39;broken&#39;)</small></li>", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_HtmlEncodesEveryValue()
    {
        _projects.CreateEnvironment("x&y", e => e.WithProject("<script>alert(1)</script>", "\"><img src=x onerror=alert(2)>"));
        _projects.CreateEnvironment("<b>", e => e.WithoutVersion());
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var body = (await host.RequestPath("/").SendAsync()).Body;

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
        await using var host = await TracTestHost.CreateBuilder(_projects).UseBefore(app => app.UsePathBase("/trac")).StartAsync();

        var body = (await host.RequestPath("/trac/").SendAsync()).Body;

        Assert.Contains("<a href=\"/trac/projekt%20%C3%A4\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_AppliesTracIgnore()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        _projects.CreateEnvironment(".hidden", e => e.WithProject("Hidden"));
        _projects.CreateEnvironment("tmp1", e => e.WithProject("Temp"));
        _projects.WriteTracIgnore("tmp?\n");
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var body = (await host.RequestPath("/").SendAsync()).Body;

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
        _projects.CreateEnvironment("alpha", e => e.WithoutTracIni());
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var response = await host.RequestPath("/").WithHeader("Accept", accept).SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("application/json", MediaTypeHeaderValue.Parse(response.Headers["Content-Type"]).MediaType);
        Assert.Contains("Accept", response.Headers["Vary"].Split(',', StringSplitOptions.TrimEntries));
        using var json = JsonDocument.Parse(response.Body);
        Assert.Equal("Available Projects", json.RootElement.GetProperty("title").GetString());
        var projects = json.RootElement.GetProperty("projects").EnumerateArray().ToArray();
        Assert.Equal(2, projects.Length);
        Assert.Equal("alpha", projects[0].GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, projects[0].GetProperty("href").ValueKind);
        Assert.Equal("The configuration file is not found at conf/trac.ini", projects[0].GetProperty("error").GetString());
        Assert.Equal("beta", projects[1].GetProperty("name").GetString());
        Assert.Equal("/beta", projects[1].GetProperty("href").GetString());
        Assert.Equal("Beta", projects[1].GetProperty("projectName").GetString());
        Assert.Equal("<b>bold</b>", projects[1].GetProperty("description").GetString());
        Assert.DoesNotContain("<b>", response.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")]
    [InlineData("application/json;q=0.5, text/html")]
    [InlineData("*/*")]
    public async Task BrowsersAndOtherClients_GetHtml(string? accept)
    {
        _projects.CreateEnvironment("alpha");
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();
        var request = host.RequestPath("/");
        if (accept is not null)
        {
            request.WithHeader("Accept", accept);
        }

        var response = await request.SendAsync();

        Assert.Equal("text/html", MediaTypeHeaderValue.Parse(response.Headers["Content-Type"]).MediaType);
    }

    [Fact]
    public async Task IndexTemplate_ReplacesThePage()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("<Alpha>"));
        using var templates = new TracTestDirectory();
        var template = templates.CreateFile("index.html", "<html><h2>{{title}}</h2><p>{{count}} at {{base}}</p>{{projects}}</html>");
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => o.Environment.IndexTemplate = template)
            .UseBefore(app => app.UsePathBase("/a&b"))
            .StartAsync();

        var body = (await host.RequestPath("/a&b/").SendAsync()).Body;

        Assert.StartsWith("<html><h2>Available Projects</h2><p>1 at /a&amp;b</p><ul>\n<li><a href=\"/a&amp;b/alpha\" title=\"\">&lt;Alpha&gt;</a></li>\n</ul>\n</html>", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IndexTemplate_FromProcessVariable()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        using var templates = new TracTestDirectory();
        var template = templates.CreateFile("index.html", "custom {{count}}");
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => o.Environment.ParentDirectory = null)
            .WithProcessVariable("TRAC_ENV_PARENT_DIR", _projects.Path)
            .WithProcessVariable("TRAC_ENV_INDEX_TEMPLATE", template)
            .StartAsync();

        Assert.Equal("custom 1", (await host.RequestPath("/").SendAsync()).Body);
    }

    [Fact]
    public async Task MissingIndexTemplate_FailsAtStartUp()
    {
        var missing = Path.Combine(_projects.Path, "nope.html");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => o.Environment.IndexTemplate = missing)
            .UseTrac(t => t.ResolveEnvironment())
            .StartAsync());

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Contains("IndexTemplate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IndexTemplate_IsReloadedWhenItChanges()
    {
        using var templates = new TracTestDirectory();
        var template = templates.CreateFile("index.html", "version one");
        // The real clock: the reload waits for a quiet period after the file system's notice.
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTime(TimeProvider.System)
            .ConfigureTrac(o => o.Environment.IndexTemplate = template)
            .UseTrac(t => t.ResolveEnvironment())
            .StartAsync();
        Assert.Equal("version one", (await host.RequestPath("/").SendAsync()).Body);

        var reloaded = host.Logs.WaitForAsync(e => e.Id.Id == Diagnostics.EventIds.IndexTemplateReloaded);
        File.WriteAllText(template, "version two");
        await reloaded;

        Assert.Equal("version two", (await host.RequestPath("/").SendAsync()).Body);
    }
}
