using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests;

public sealed class TracPipelineBuilderTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public TracPipelineBuilderTests() => _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task UseTrac_WithoutAddTrac_ThrowsNamingAddTrac()
    {
        using var host = new HostBuilder()
            .ConfigureWebHost(web => web.UseTestServer().Configure(app => app.UseTrac(t => t.ResolveEnvironment())))
            .Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("AddTrac", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseTrac_Twice_Throws()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment(),
            before: app => app.UseTrac(t => t.ResolveEnvironment())));

        Assert.Contains("UseTrac() was already called", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StageTwice_Throws()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().ResolveEnvironment()));

        Assert.Equal("ResolveEnvironment() was already added to this Trac pipeline; each stage runs once.", error.Message);
    }

    [Fact]
    public async Task StageAfterDispatch_Throws()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.Dispatch(TestHosts.Echo).ResolveEnvironment()));

        Assert.Contains("call ResolveEnvironment() before Dispatch()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseAfterDispatch_Throws()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo).Use(next => next)));

        Assert.Contains("call Use() before Dispatch()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StageMissingItsPrerequisite_ThrowsNamingIt()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.AddStage(TracStage.UsePluginCache, [TracStage.ResolveEnvironment], _ => { })));

        Assert.Equal(
            "UsePluginCache() needs ResolveEnvironment() earlier in the Trac pipeline: call .ResolveEnvironment() before .UsePluginCache().",
            error.Message);
    }

    [Fact]
    public async Task StageOutOfOrder_ThrowsWithTheOrder()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t =>
            {
                t.AddStage(TracStage.NormalizeRemoteUser, [], _ => { });
                t.ResolveEnvironment();
            }));

        Assert.StartsWith("ResolveEnvironment() must come before NormalizeRemoteUser()", error.Message, StringComparison.Ordinal);
        Assert.Contains("ResolveEnvironment(), NormalizeRemoteUser(), UsePluginCache(), RecycleWorkers(), Dispatch()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidPipeline_AddsNothingToTheApplication()
    {
        var added = 0;
        await Assert.ThrowsAsync<InvalidOperationException>(() => TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.Use(next =>
            {
                added++;
                return next;
            }).ResolveEnvironment().ResolveEnvironment()));

        Assert.Equal(0, added);
    }

    [Fact]
    public async Task ResolveEnvironmentConfigure_AppliesToThisPipelineOnly()
    {
        using var other = new TracTestDirectory();
        var solo = other.CreateEnvironment("solo", e => e.WithProject("Solo"));
        using var host = await TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment(e => e.Path = solo).Dispatch(TestHosts.Echo));

        Assert.Equal("env=solo;project=Solo;base=;path=/alpha/", (await host.GetAsync("/alpha/")).Body);
        Assert.Equal(_projects.Path, host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TracOptions>>().Value.Environment.ParentDirectory);
        Assert.Null(host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TracOptions>>().Value.Environment.Path);
    }

    [Fact]
    public async Task UseTracWithoutArguments_ResolvesAndContinues()
    {
        using var host = new HostBuilder()
            .ConfigureWebHost(web => web
                .UseTestServer()
                .ConfigureServices(s => s
                    .AddSingleton<TracProcessEnvironment>(new TestHosts.FakeProcessEnvironment())
                    .AddTrac(o => o.Environment.ParentDirectory = _projects.Path))
                .Configure(app =>
                {
                    app.UseTrac();
                    app.Run(TestHosts.Echo);
                }))
            .Build();
        await host.StartAsync();

        Assert.Equal("env=alpha;project=Alpha;base=/alpha;path=/wiki", (await host.GetAsync("/alpha/wiki")).Body);
    }

    [Fact]
    public async Task NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => TracApplicationBuilderExtensions.UseTrac(null!));
        Assert.Throws<ArgumentNullException>(() => TracApplicationBuilderExtensions.UseTrac(null!, _ => { }));
        var error = await Assert.ThrowsAsync<ArgumentNullException>(() => TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path, t => t.Dispatch(null!)));
        Assert.Equal("dispatch", error.ParamName);
    }
}
