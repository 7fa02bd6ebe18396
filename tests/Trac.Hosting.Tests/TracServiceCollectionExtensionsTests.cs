using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests;

public sealed class TracServiceCollectionExtensionsTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public void Dispose() => _projects.Dispose();

    [Fact]
    public void AddTrac_BindsTheTracSection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Trac:Environment:ParentDirectory"] = "/srv/trac",
            ["Trac:Environment:Paths:0"] = "/srv/a",
            ["Trac:Environment:Paths:1"] = "/srv/b",
            ["Trac:Environment:IndexTemplate"] = "index.html",
            ["Trac:Environment:BaseUrl"] = "https://example.org/trac",
            ["Trac:Environment:BasePath"] = "/trac",
            ["Trac:Environment:RescanInterval"] = "00:01:00",
            ["Trac:Environment:NamePattern"] = "[a-z_]+",
            ["Trac:Environment:UsePollingFileWatcher"] = "true",
            ["Trac:Environment:Path"] = "/srv/single",
        }).Build();
        using var services = new ServiceCollection().AddTrac(configuration.GetSection("Trac")).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<TracOptions>>().Value.Environment;

        Assert.Equal("/srv/trac", options.ParentDirectory);
        Assert.Equal(["/srv/a", "/srv/b"], options.Paths);
        Assert.Equal("index.html", options.IndexTemplate);
        Assert.Equal("https://example.org/trac", options.BaseUrl);
        Assert.Equal("/trac", options.BasePath);
        Assert.Equal(TimeSpan.FromMinutes(1), options.RescanInterval);
        Assert.Equal("[a-z_]+", options.NamePattern);
        Assert.True(options.UsePollingFileWatcher);
        Assert.Equal("/srv/single", options.Path);
    }

    [Fact]
    public async Task InvalidOptions_FailAtStartUpNamingTheKey()
    {
        using var host = new HostBuilder()
            .ConfigureWebHost(web => web
                .UseTestServer()
                .ConfigureServices(s => s.AddTrac(o =>
                {
                    o.Environment.ParentDirectory = _projects.Path;
                    o.Environment.BaseUrl = "not a url";
                }))
                .Configure(_ => { }))
            .Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Trac:Environment:BaseUrl 'not a url'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NothingConfigured_FailsAtStartUpWithTracsMessage()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => WithoutParent().UseTrac(t => t.ResolveEnvironment()).StartAsync());

        Assert.StartsWith(
            "The environment options \"TRAC_ENV\" or \"TRAC_ENV_PARENT_DIR\" or the mod_python options \"TracEnv\" or \"TracEnvParentDir\" are missing. " +
            "Trac requires one of these options to locate the Trac environment(s).",
            error.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task EmptyProcessVariables_CountAsUnset()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => WithoutParent()
            .WithProcessVariable("TRAC_ENV", string.Empty)
            .WithProcessVariable("TRAC_ENV_PARENT_DIR", string.Empty)
            .UseTrac(t => t.ResolveEnvironment())
            .StartAsync());

        Assert.Contains("TRAC_ENV", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProcessVariables_AreTheFallback()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        await using var host = await WithoutParent().WithProcessVariable("TRAC_ENV_PARENT_DIR", _projects.Path).StartAsync();

        Assert.Equal("alpha#0 /alpha|/ user=-", (await host.Request("alpha").SendAsync()).Body);
        Assert.Equal("Alpha", host.Recorder.Dispatches.Single().ProjectName);
    }

    [Fact]
    public async Task TracEnvProcessVariable_SelectsSingleEnvironment()
    {
        var path = _projects.CreateEnvironment("solo", e => e.WithProject("Solo"));
        await using var host = await WithoutParent()
            .WithProcessVariable("TRAC_ENV", path)
            .WithProcessVariable("TRAC_BASE_URL", "https://example.org/solo")
            .StartAsync();

        Assert.Equal("solo#0 |/solo/wiki user=-", (await host.Request("solo", "/wiki").SendAsync()).Body);
        Assert.Equal("Solo", host.Recorder.Dispatches.Single().ProjectName);
        Assert.Equal(new Uri("https://example.org/solo"), host.Catalog().Single!.State.Environment!.BaseUrl);
    }

    [Fact]
    public async Task Configuration_WinsOverProcessVariablesAsAWhole()
    {
        var single = _projects.CreateEnvironment("solo", e => e.WithProject("Solo"));
        using var parent = new TracTestDirectory();
        parent.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        await using var host = await TracTestHost.CreateBuilder(parent).WithProcessVariable("TRAC_ENV", single).StartAsync();

        Assert.Equal("alpha#0 /alpha|/ user=-", (await host.Request("alpha").SendAsync()).Body);
        Assert.Equal("Alpha", host.Recorder.Dispatches.Single().ProjectName);
    }

    [Fact]
    public async Task RelativePaths_ResolveAgainstTheContentRoot()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        var recorder = new TracRecorder();
        using var host = new HostBuilder()
            .UseContentRoot(_projects.Path)
            .ConfigureWebHost(web => web
                .UseTestServer()
                .ConfigureServices(s => s.AddTrac(o => o.Environment.Path = "alpha"))
                .Configure(app => app.UseTrac(t => t.ResolveEnvironment().Dispatch(recorder.Dispatch))))
            .Build();
        await host.StartAsync();

        Assert.Equal("alpha#0 |/ user=-", await host.GetTestClient().GetStringAsync("/"));
        Assert.Equal("Alpha", recorder.Dispatches.Single().ProjectName);
    }

    [Fact]
    public async Task InvalidSingleEnvironment_FailsAtStartUp()
    {
        var path = _projects.CreateEnvironment("broken", e => e.WithVersion("Trac Environment Version 0"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(o => o.Environment.Path = path));

        Assert.Equal(
            $"The Trac environment at '{path}' cannot be opened: Unknown Trac environment type 'Trac Environment Version 0'. " +
            "Fix the environment, or point Trac:Environment:Path (or TRAC_ENV) at a valid one.",
            error.Message);
    }

    [Fact]
    public async Task MissingSingleEnvironment_FailsAtStartUp()
    {
        var path = Path.Combine(_projects.Path, "nowhere");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(o => o.Environment.Path = path));

        Assert.Contains($"No Trac environment found at {path}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingParentDirectory_FailsAtStartUp()
    {
        var path = Path.Combine(_projects.Path, "nowhere");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(o => o.Environment.ParentDirectory = path));

        Assert.Equal(
            $"The environment parent directory '{path}' (Trac:Environment:ParentDirectory or TRAC_ENV_PARENT_DIR) does not exist. Create it or correct the setting.",
            error.Message);
    }

    [Fact]
    public void NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => TracServiceCollectionExtensions.AddTrac(null!));
        Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddTrac((IConfiguration)null!));
        Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddTrac((Action<TracOptions>)null!));
    }

    [Fact]
    public void AddTrac_RegistersTheSystemTimeProviderUnlessOneIsThere()
    {
        var custom = new CustomTime();
        using var withCustom = new ServiceCollection().AddSingleton<TimeProvider>(custom).AddTrac().BuildServiceProvider();
        using var plain = new ServiceCollection().AddTrac().BuildServiceProvider();

        Assert.Same(custom, withCustom.GetRequiredService<TimeProvider>());
        Assert.Same(TimeProvider.System, plain.GetRequiredService<TimeProvider>());
    }

    /// <summary>A host without the test directory as its parent: only process variables or the test's own settings.</summary>
    private TracTestHostBuilder WithoutParent() => TracTestHost.CreateBuilder(_projects).ConfigureTrac(o => o.Environment.ParentDirectory = null);

    private Task<TracTestHost> StartAsync(Action<TracOptions> options) =>
        TracTestHost.CreateBuilder(_projects).ConfigureTrac(options).UseTrac(t => t.ResolveEnvironment()).StartAsync();

    private sealed class CustomTime : TimeProvider
    {
    }
}
