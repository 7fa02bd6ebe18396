using Trac.Hosting.Testing;

namespace HelloWorld.Tests;

public sealed class HelloWorldTests
{
    [Fact]
    public async Task ServesItsBundledDemoEnvironment()
    {
        using var app = new TracWebApplicationFactory<Program>();

        var body = await app.CreateClient().GetStringAsync("/wiki/WikiStart");

        Assert.StartsWith("Hello World!\n\nProject: Hello World\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServesEnvironmentsMadeByTheTest()
    {
        using var app = new TracWebApplicationFactory<Program>();
        var path = app.Projects.CreateEnvironment("demo", e => e.WithProject("Made by the test"));
        var client = app.CreateClient();

        var body = await client.GetStringAsync("/demo/wiki");
        var missing = await client.GetAsync("/nosuch/wiki");

        Assert.Equal($"Hello World!\n\nProject: Made by the test\nEnvironment: {path}\n", body);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("Environment not found", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AConfigurationChange_IsServedWithoutRestart()
    {
        using var app = new TracWebApplicationFactory<Program>();
        app.Projects.CreateEnvironment("demo", e => e.WithProject("Before"));
        var client = app.CreateClient();
        Assert.Contains("Project: Before", await client.GetStringAsync("/demo/"), StringComparison.Ordinal);

        var reloaded = app.Logs.WaitForNextAsync("EnvironmentReloaded");
        app.Projects.WriteTracIni("demo", "[project]\nname = After\n");
        // The reload waits for the file to be quiet for a moment, on the app's clock: move it until the app says it
        // reloaded.
        await app.Time.AdvanceUntilAsync(reloaded, TimeSpan.FromMilliseconds(250));
        Assert.Contains("Project: After", await client.GetStringAsync("/demo/"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunsOnRealKestrelToo()
    {
        using var app = new TracWebApplicationFactory<Program>();
        // A free loopback port through Listen: UseKestrel(0) makes the factory rewrite the server's addresses while a
        // minimal app's Kestrel may already be binding them, which fails now and then.
        app.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        app.StartServer();
        var client = app.CreateClient();

        Assert.True(client.BaseAddress!.IsLoopback);
        Assert.StartsWith("Hello World!\n", await client.GetStringAsync("/wiki"), StringComparison.Ordinal);
    }

    [Fact]
    public void ProjectsUsedAfterTheAppIsBuilt_IsRefused()
    {
        using var app = new TracWebApplicationFactory<Program>();
        app.CreateClient();

        Assert.Throws<InvalidOperationException>(() => app.Projects);
    }
}
