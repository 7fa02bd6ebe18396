using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// A directory name with <c>%</c> (<c>x%41</c>, <c>%2e%2e</c>) is linked with the <c>%</c> escaped, as Trac does
/// (<c>/x%2541</c>): the index's links and the <c>PathBase</c> a host app builds links from lead back to that project,
/// not to the one the escape spells (<c>xA</c>) or to the index.
/// </summary>
public sealed partial class PercentInNameTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public PercentInNameTests()
    {
        _projects.CreateEnvironment("x%41", e => e.WithProject("Percent"));
        _projects.CreateEnvironment("xA", e => e.WithProject("Plain"));
        _projects.CreateEnvironment("%2e%2e", e => e.WithProject("Dots"));
        _projects.CreateEnvironment("100%", e => e.WithProject("Hundred"));
    }

    public void Dispose() => _projects.Dispose();

    [Theory]
    [InlineData("Percent", "x%41", "/x%2541", false)]
    [InlineData("Percent", "x%41", "/x%2541", true)]
    [InlineData("Dots", "%2e%2e", "/%252e%252e", false)]
    [InlineData("Dots", "%2e%2e", "/%252e%252e", true)]
    [InlineData("Plain", "xA", "/xA", false)]
    [InlineData("Hundred", "100%", "/100%25", false)]
    public async Task IndexLink_Followed_OpensThatProject(string projectName, string directory, string href, bool kestrel)
    {
        var builder = TracTestHost.CreateBuilder(_projects);
        if (kestrel)
        {
            builder.UseKestrel();
        }

        await using var host = await builder.StartAsync();

        var index = await host.RequestPath("/").SendAsync();
        var link = LinkOf(index.Body, projectName);
        var json = await host.RequestPath("/").WithHeader("Accept", "application/json").SendAsync();
        var followed = await host.RequestPath(link + "/wiki").SendAsync();

        Assert.Equal(href, link);
        Assert.Equal(href, JsonHrefOf(json.Body, directory));
        Assert.Equal(200, followed.StatusCode);
        Assert.StartsWith($"{directory}#", followed.Body, StringComparison.Ordinal);
        Assert.Equal(projectName, host.Recorder.Dispatches.Last().ProjectName);
        Assert.Equal("/wiki", host.Recorder.Dispatches.Last().Path);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HostAppLinkFromPathBase_LeadsBackToTheSameProject(bool kestrel)
    {
        var builder = TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().Dispatch(c => c.Response.WriteAsync(
                c.GetTracEnvironment()!.Name + " " + (c.Request.PathBase + "/wiki") + " " + c.Request.Path)));
        if (kestrel)
        {
            builder.UseKestrel();
        }

        await using var host = await builder.StartAsync();

        var first = (await host.RequestPath("/x%2541/").SendAsync()).Body.Split(' ');
        var followed = (await host.RequestPath(first[1]).SendAsync()).Body.Split(' ');

        Assert.Equal(["x%41", "/x%2541/wiki", "/"], first);
        Assert.Equal(["x%41", "/x%2541/wiki", "/wiki"], followed);
    }

    [Fact]
    public async Task IndexLink_UnderPathBase_EscapesThePercent()
    {
        await using var host = await TracTestHost.CreateBuilder(_projects).UseBefore(app => app.UsePathBase("/trac")).StartAsync();

        var link = LinkOf((await host.RequestPath("/trac/").SendAsync()).Body, "Percent");
        var followed = await host.RequestPath(link + "/wiki").SendAsync();

        Assert.Equal("/trac/x%2541", link);
        Assert.Equal("Percent", host.Recorder.Dispatches.Last().ProjectName);
        Assert.Equal("/trac/x%2541", host.Recorder.Dispatches.Last().PathBase);
        Assert.Equal(200, followed.StatusCode);
    }

    private static string LinkOf(string html, string projectName)
    {
        var match = Link().Matches(html).SingleOrDefault(m => WebUtility.HtmlDecode(m.Groups[2].Value) == projectName);
        Assert.True(match is not null, $"The index has no link to '{projectName}': {html}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    private static string? JsonHrefOf(string json, string name)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("projects").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == name).GetProperty("href").GetString();
    }

    [GeneratedRegex("<a href=\"([^\"]*)\" title=\"[^\"]*\">([^<]*)</a>")]
    private static partial Regex Link();
}
