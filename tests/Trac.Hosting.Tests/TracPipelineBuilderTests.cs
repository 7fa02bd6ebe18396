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
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TracTestHost.CreateBuilder(_projects)
            .UseBefore(app => app.UseTrac(t => t.ResolveEnvironment()))
            .UseTrac(t => t.ResolveEnvironment())
            .StartAsync());

        Assert.Contains("UseTrac() was already called", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StageTwice_Throws()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(t => t.ResolveEnvironment().ResolveEnvironment()));

        Assert.Equal("ResolveEnvironment() was already added to this Trac pipeline; each stage runs once.", error.Message);
    }

    [Fact]
    public async Task StageAfterDispatch_Throws()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(t => t.Dispatch(_ => Task.CompletedTask).ResolveEnvironment()));

        Assert.Contains("call ResolveEnvironment() before Dispatch()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseAfterDispatch_Throws()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(t => t.ResolveEnvironment().Dispatch(_ => Task.CompletedTask).Use(next => next)));

        Assert.Contains("call Use() before Dispatch()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StageMissingItsPrerequisite_ThrowsNamingIt()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(t => t.Add(new Trac.Hosting.PluginCache.PluginCacheStage(new Trac.Hosting.PluginCache.PluginCacheOptions(), null))));

        Assert.Equal(
            "UsePluginCache() needs ResolveEnvironment() earlier in the Trac pipeline: call .ResolveEnvironment() before .UsePluginCache().",
            error.Message);
    }

    [Fact]
    public async Task StageOutOfOrder_ThrowsWithTheOrder()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(t =>
        {
            t.Add(new Trac.Hosting.RemoteUser.RemoteUserStage(new Trac.Hosting.RemoteUser.RemoteUserOptions(), null));
            t.ResolveEnvironment();
        }));

        Assert.StartsWith("ResolveEnvironment() must come before NormalizeRemoteUser()", error.Message, StringComparison.Ordinal);
        Assert.Contains("ResolveEnvironment(), NormalizeRemoteUser(), UsePluginCache(), RecycleWorkers(), Dispatch()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidPipeline_AddsNothingToTheApplication()
    {
        var added = 0;
        await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(t => t.Use(next =>
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
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTrac((trac, recorder) => trac.ResolveEnvironment(e => e.Path = solo).Dispatch(recorder.Dispatch))
            .StartAsync();

        Assert.Equal("solo#0 |/alpha/ user=-", (await host.Request("alpha").SendAsync()).Body);
        Assert.Equal("Solo", host.Recorder.Dispatches.Single().ProjectName);
        Assert.Equal(_projects.Path, host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TracOptions>>().Value.Environment.ParentDirectory);
        Assert.Null(host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TracOptions>>().Value.Environment.Path);
    }

    [Fact]
    public async Task UseTracWithoutArguments_ResolvesAndContinues()
    {
        var recorder = new TracRecorder();
        using var host = await TestHosts.StartAppAsync(
            s => s.AddTrac(o => o.Environment.ParentDirectory = _projects.Path),
            app =>
            {
                app.UseTrac();
                app.Run(recorder.Dispatch);
            });

        Assert.Equal("alpha#0 /alpha|/wiki user=-", await host.GetTestClient().GetStringAsync("/alpha/wiki"));
        Assert.Equal("Alpha", recorder.Dispatches.Single().ProjectName);
    }

    [Fact]
    public async Task NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => TracApplicationBuilderExtensions.UseTrac(null!));
        Assert.Throws<ArgumentNullException>(() => TracApplicationBuilderExtensions.UseTrac(null!, _ => { }));
        var error = await Assert.ThrowsAsync<ArgumentNullException>(() => StartAsync(t => t.Dispatch(null!)));
        Assert.Equal("dispatch", error.ParamName);
    }

    private Task<TracTestHost> StartAsync(Action<TracPipelineBuilder> pipeline) => TracTestHost.CreateBuilder(_projects).UseTrac(pipeline).StartAsync();
}
