using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Trac.Hosting;
using Trac.Hosting.Testing;

namespace MultiProject.Tests;

/// <summary>The sample as <c>dotnet run</c> starts it: its bundled projects, its plugin, its settings.</summary>
public sealed class MultiProjectTests
{
    // Where the build puts the bundled projects: next to the app, which here is next to the tests.
    private static readonly string Bundled = Path.Combine(AppContext.BaseDirectory, "projects");

    [Fact]
    public async Task Index_ListsTheBundledProjects()
    {
        using var app = new TracWebApplicationFactory<Program>();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        using var response = await app.CreateClient().SendAsync(request);
        using var index = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        var projects = index.RootElement.GetProperty("projects").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        Assert.Equal(["acme", "broken", "docs"], projects.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("Acme Widgets", projects["acme"].GetProperty("projectName").GetString());
        Assert.Equal("/acme", projects["acme"].GetProperty("href").GetString());
        Assert.Equal("Documentation", projects["docs"].GetProperty("projectName").GetString());
        Assert.Equal("/docs", projects["docs"].GetProperty("href").GetString());
    }

    [Fact]
    public async Task BrokenProject_ShowsItsErrorInTheIndexAndOnItsPage()
    {
        using var app = new TracWebApplicationFactory<Program>();
        var client = app.CreateClient();
        var error = $"No Trac environment found at {Path.Combine(Bundled, "broken")}";

        var index = await client.GetStringAsync("/");
        using var page = await client.GetAsync("/broken/");

        Assert.Contains($"<li><small>broken: <em>Error</em> <br>({error})</small></li>", index, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.InternalServerError, page.StatusCode);
        Assert.Equal($"Trac Error\n\nTracError: {error}", await page.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task PluginBuiltFromSamplePlugin_IsExtractedListedAndRun()
    {
        using var app = new TracWebApplicationFactory<Program>();

        var page = await app.CreateClient().GetStringAsync("/acme/wiki/Start");

        Assert.Equal("/wiki/Start", Field(page, "request-path"));
        Assert.Equal(Path.Combine(Bundled, ".egg-cache"), Field(page, "plugin-cache"));
        var folder = Field(page, "plugin-SamplePlugin");
        Assert.StartsWith(Path.Combine(Bundled, ".egg-cache", "SamplePlugin-"), folder, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder, "lib", "SamplePlugin.dll")), $"{folder} holds no lib/SamplePlugin.dll");
        Assert.StartsWith("SamplePlugin, Version=", Field(page, "assembly-SamplePlugin"), StringComparison.Ordinal);
        // The plugin's own code ran, inside the worker's load context.
        Assert.Contains("Hello from SamplePlugin, loaded in <code>trac-worker-acme-1</code>.", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AfterMaxRequests_TheNextWorkerServesAndTheOldOnesPluginsUnload()
    {
        using var app = new TracWebApplicationFactory<Program>();
        var client = app.CreateClient();
        var maxRequests = app.Services.GetRequiredService<IOptions<TracOptions>>().Value.Workers.MaxRequests;
        Assert.InRange(maxRequests, 1, 10); // low enough to watch by reloading a page
        var switched = app.Logs.WaitForNextAsync("WorkerSwitched");

        for (var served = 0; served < maxRequests; served++)
        {
            var page = await client.GetStringAsync("/acme/");
            Assert.Equal("1", Field(page, "generation"));
            Assert.Equal(served.ToString(System.Globalization.CultureInfo.InvariantCulture), Field(page, "served"));
            Assert.Equal(maxRequests.ToString(System.Globalization.CultureInfo.InvariantCulture), Field(page, "limit"));
        }

        await switched;
        var next = await client.GetStringAsync("/acme/");

        Assert.Equal("2", Field(next, "generation"));
        Assert.Contains("loaded in <code>trac-worker-acme-2</code>", next, StringComparison.Ordinal);
        var unloaded = await app.Logs.WaitForAsync("WorkerUnloaded");
        Assert.Contains("acme #1 (maximum_requests)", unloaded.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartUp_SaysWhereToBrowse()
    {
        using var app = new TracWebApplicationFactory<Program>();
        // A free loopback port through Listen: UseKestrel(0) makes the factory rewrite the server's addresses while a
        // minimal app's Kestrel may already be binding them, which fails now and then.
        app.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        app.StartServer();
        var client = app.CreateClient();

        var line = await app.Logs.WaitForAsync("BrowseProjects");

        Assert.Equal($"Browse to {client.BaseAddress} for the project index (Trac projects in {Bundled}).", line.Message);
        Assert.Contains("Available Projects", await client.GetStringAsync(client.BaseAddress), StringComparison.Ordinal);
    }

    /// <summary>The decoded text of the page's <c>&lt;dd id="..."&gt;</c>.</summary>
    private static string Field(string page, string id)
    {
        var match = Regex.Match(page, $"<dd id=\"{Regex.Escape(id)}\">([^<]*)</dd>", RegexOptions.None, TimeSpan.FromSeconds(1));
        Assert.True(match.Success, $"The page has no field '{id}':\n{page}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }
}
