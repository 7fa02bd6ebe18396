using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// Absolute server paths never reach clients, unless <c>ShowServerPaths</c> (or the <c>Development</c> host environment)
/// asks for Trac's exact text: not in the 500 of a broken environment, not in the project index (HTML, JSON, custom
/// template). The log has the full message either way.
/// </summary>
public sealed class ServerPathTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public void Dispose() => _projects.Dispose();

    public static TheoryData<string, string> PublicMessages() => new()
    {
        { "no-version", "No Trac environment found at 'broken'" },
        { "no-ini", "The configuration file is not found at conf/trac.ini" },
        { "unreadable-ini", "The configuration file conf/trac.ini cannot be read" },
        { "bad-ini", "The configuration file conf/trac.ini is not valid INI" },
    };

    /// <summary>Trac's messages: <c>{0}</c> is the environment's full path, <c>{1}</c> its <c>conf/trac.ini</c>.</summary>
    public static TheoryData<string, string> TracMessages() => new()
    {
        { "no-version", "No Trac environment found at {0}" },
        { "no-ini", "The configuration file is not found at {1}" },
        { "unreadable-ini", "The configuration file {1} cannot be read" },
        { "bad-ini", "The configuration file {1} is not valid INI" },
    };

    [Theory]
    [MemberData(nameof(PublicMessages))]
    public async Task BrokenEnvironment_InProduction_500NamesTheProjectNotItsPath(string variant, string expected)
    {
        var path = CreateBroken(variant);
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var response = await host.Request("broken", "/wiki").SendAsync();

        Assert.Equal(500, response.StatusCode);
        Assert.Equal("Trac Error\n\nTracError: " + expected, response.Body);
        Assert.DoesNotContain(_projects.Path, response.Body, StringComparison.Ordinal);
        // The log keeps the full message, with the path.
        var logged = await host.Logs.WaitForAsync(e => e.Id.Id == Diagnostics.EventIds.EnvironmentOpenFailed);
        Assert.Contains(path, logged.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TracMessages))]
    public async Task BrokenEnvironment_WithShowServerPaths_500HasTracsText(string variant, string trac)
    {
        var path = CreateBroken(variant);
        await using var host = await TracTestHost.CreateBuilder(_projects).ConfigureTrac(o => o.Environment.ShowServerPaths = true).StartAsync();

        var response = await host.Request("broken", "/wiki").SendAsync();

        Assert.Equal(500, response.StatusCode);
        Assert.Equal("Trac Error\n\nTracError: " + TracText(trac, path), response.Body);
    }

    [Fact]
    public async Task Index_InProduction_HtmlAndJsonNameNoPath()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        CreateBroken("no-version");
        _projects.CreateEnvironment("noini", e => e.WithoutTracIni());
        await using var host = await TracTestHost.CreateBuilder(_projects).StartAsync();

        var html = await host.RequestPath("/").SendAsync();
        var json = await host.RequestPath("/").WithHeader("Accept", "application/json").SendAsync();

        Assert.Contains("<li><small>broken: <em>Error</em> <br>(No Trac environment found at &#39;broken&#39;)</small></li>", html.Body, StringComparison.Ordinal);
        Assert.Contains("<li><small>noini: <em>Error</em> <br>(The configuration file is not found at conf/trac.ini)</small></li>", html.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(_projects.Path, html.Body, StringComparison.Ordinal);
        var errors = Errors(json.Body);
        Assert.Equal("No Trac environment found at 'broken'", errors["broken"]);
        Assert.Equal("The configuration file is not found at conf/trac.ini", errors["noini"]);
        Assert.Null(errors["alpha"]);
        Assert.DoesNotContain(_projects.Path, json.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IndexTemplate_InProduction_NamesNoPath()
    {
        CreateBroken("no-version");
        using var templates = new TracTestDirectory();
        var template = templates.CreateFile("index.html", "<p>{{count}} at {{base}}</p>{{projects}}");
        await using var host = await TracTestHost.CreateBuilder(_projects).ConfigureTrac(o => o.Environment.IndexTemplate = template).StartAsync();

        var body = (await host.RequestPath("/").SendAsync()).Body;

        Assert.Contains("No Trac environment found at &#39;broken&#39;", body, StringComparison.Ordinal);
        Assert.DoesNotContain(_projects.Path, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Index_WithShowServerPaths_HtmlAndJsonHaveTracsText()
    {
        var path = CreateBroken("no-version");
        await using var host = await TracTestHost.CreateBuilder(_projects).ConfigureTrac(o => o.Environment.ShowServerPaths = true).StartAsync();

        var html = await host.RequestPath("/").SendAsync();
        var json = await host.RequestPath("/").WithHeader("Accept", "application/json").SendAsync();

        Assert.Contains($"<li><small>broken: <em>Error</em> <br>(No Trac environment found at {path})</small></li>", html.Body, StringComparison.Ordinal);
        Assert.Equal($"No Trac environment found at {path}", Errors(json.Body)["broken"]);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData(false, false)]
    public async Task Development_ShowsTracsTextUnlessTurnedOff(bool? showServerPaths, bool shown)
    {
        var path = CreateBroken("no-version");
        await using var app = await StartAsync(Microsoft.Extensions.Hosting.Environments.Development, showServerPaths);
        var client = app.GetTestClient();

        var page = await client.GetAsync("/broken/wiki");
        var body = await page.Content.ReadAsStringAsync();
        var index = await client.GetStringAsync("/");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Accept.ParseAdd("application/json");
        using var json = await client.SendAsync(request);
        var error = Errors(await json.Content.ReadAsStringAsync())["broken"];

        Assert.Equal(500, (int)page.StatusCode);
        var expected = shown ? $"No Trac environment found at {path}" : "No Trac environment found at 'broken'";
        Assert.Equal("Trac Error\n\nTracError: " + expected, body);
        Assert.Equal(expected, error);
        Assert.Equal(shown, index.Contains(path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Production_ShowServerPathsTrue_ShowsTracsText()
    {
        var path = CreateBroken("no-version");
        await using var app = await StartAsync(Microsoft.Extensions.Hosting.Environments.Production, showServerPaths: true);

        var body = await app.GetTestClient().GetStringAsync("/");

        Assert.Contains($"No Trac environment found at {path}", body, StringComparison.Ordinal);
    }

    private string CreateBroken(string variant) => _projects.CreateEnvironment("broken", e => _ = variant switch
    {
        "no-version" => e.WithoutVersion(),
        "no-ini" => e.WithoutTracIni(),
        "unreadable-ini" => e.WithUnreadableTracIni(),
        "bad-ini" => e.WithTracIni("[project]\nname = Broken\nthis line is not INI\n"),
        _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, null),
    });

    private static string TracText(string format, string path) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, format, path, Path.Combine(path, "conf", "trac.ini"));

    private static Dictionary<string, string?> Errors(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("projects").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("error").GetString());
    }

    private Task<WebApplication> StartAsync(string environmentName, bool? showServerPaths) =>
        TestHosts.StartWebApplicationAsync(
            environmentName,
            o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.Environment.ShowServerPaths = showServerPaths;
            },
            app => app.UseTrac(t => t.ResolveEnvironment().Dispatch(c => c.Response.WriteAsync("ok"))));
}
