using Trac.Hosting.Environments;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.Environments;

/// <summary>Changes on disk are noticed while the host runs, through real file watching in temp directories.</summary>
public sealed class EnvironmentReloadTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public void Dispose() => _projects.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TracIniChange_ReloadsTheEnvironmentWithoutRestart(bool polling)
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Before"));
        await using var host = await StartAsync(e => e.UsePollingFileWatcher = polling);
        Assert.Equal("alpha#0 /alpha|/ user=-", (await host.Request("alpha").SendAsync()).Body);
        Assert.Equal("Before", host.Recorder.Dispatches.Last().ProjectName);
        Assert.True(host.Catalog().TryFind("alpha", out var slot));

        var changed = slot.GetChangeToken();
        _projects.WriteTracIni("alpha", "[project]\nname = After\n");
        await changed.WaitAsync("the trac.ini reload");

        Assert.Equal("alpha#0 /alpha|/ user=-", (await host.Request("alpha").SendAsync()).Body);
        Assert.Equal("After", host.Recorder.Dispatches.Last().ProjectName);
    }

    [Fact]
    public async Task SingleEnvironment_TracIniChange_Reloads()
    {
        var path = _projects.CreateEnvironment("solo", e => e.WithProject("Before"));
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseTime(TimeProvider.System)
            .ConfigureTrac(o => o.Environment.Path = path)
            .StartAsync();
        Assert.Equal(200, (await host.RequestPath("/").SendAsync()).StatusCode);
        Assert.Equal("Before", host.Recorder.Dispatches.Last().ProjectName);

        var changed = host.Catalog().Single!.GetChangeToken();
        _projects.WriteTracIni("solo", "[project]\nname = After\n");
        await changed.WaitAsync("the trac.ini reload");

        Assert.Equal(200, (await host.RequestPath("/").SendAsync()).StatusCode);
        Assert.Equal("After", host.Recorder.Dispatches.Last().ProjectName);
    }

    [Fact]
    public async Task BadReload_KeepsServingTheLastGoodStateAndLogsWhy()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Good"));
        await using var host = await StartAsync();
        Assert.Equal(200, (await host.Request("alpha").SendAsync()).StatusCode);
        Assert.Equal("Good", host.Recorder.Dispatches.Last().ProjectName);

        var kept = host.Logs.WaitForAsync(e => e.Id.Id == Diagnostics.EventIds.ReloadFailedKeepingLastGood);
        _projects.WriteTracIni("alpha", "this line is not INI\n");
        var entry = await kept;

        Assert.Contains("trac.ini", entry.Message, StringComparison.Ordinal);
        Assert.Equal(200, (await host.Request("alpha").SendAsync()).StatusCode);
        Assert.Equal("Good", host.Recorder.Dispatches.Last().ProjectName);
    }

    [Fact]
    public async Task BrokenEnvironment_RecoversWhenFixed()
    {
        _projects.CreateEnvironment("alpha", e => e.WithoutTracIni());
        await using var host = await StartAsync();
        Assert.Equal(500, (await host.Request("alpha").SendAsync()).StatusCode);
        Assert.True(host.Catalog().TryFind("alpha", out var slot));

        var changed = slot.GetChangeToken();
        _projects.WriteTracIni("alpha", "[project]\nname = Fixed\n");
        await changed.WaitAsync("the trac.ini reload");

        Assert.Equal(200, (await host.Request("alpha").SendAsync()).StatusCode);
        Assert.Equal("Fixed", host.Recorder.Dispatches.Single().ProjectName);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task NewEnvironmentDirectory_IsNoticed(bool polling)
    {
        _projects.CreateEnvironment("alpha");
        await using var host = await StartAsync(e => e.UsePollingFileWatcher = polling);
        Assert.Equal(404, (await host.Request("beta").SendAsync()).StatusCode);

        _projects.CreateEnvironment("beta", e => e.WithProject("Beta"));
        while (true)
        {
            // Take the token before looking, so a refresh between the two cannot be missed.
            var listed = host.Catalog().GetListingChangeToken();
            if (host.Catalog().TryFind("beta", out _))
            {
                break;
            }

            await listed.WaitAsync("the new environment");
        }

        Assert.Equal("beta#0 /beta|/ user=-", (await host.Request("beta").SendAsync()).Body);
        Assert.Equal("Beta", host.Recorder.Dispatches.Single().ProjectName);
        Assert.Contains(">Beta<", (await host.RequestPath("/").SendAsync()).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemovedEnvironmentDirectory_Gets404()
    {
        var beta = _projects.CreateEnvironment("beta");
        _projects.CreateEnvironment("alpha");
        await using var host = await StartAsync();
        Assert.Equal(200, (await host.Request("beta").SendAsync()).StatusCode);

        Directory.Delete(beta, recursive: true);
        while (true)
        {
            var listed = host.Catalog().GetListingChangeToken();
            if (!host.Catalog().TryFind("beta", out _))
            {
                break;
            }

            await listed.WaitAsync("the removal");
        }

        Assert.Equal(404, (await host.Request("beta").SendAsync()).StatusCode);
        Assert.Equal(200, (await host.Request("alpha").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task TracIgnoreChange_IsNoticed()
    {
        _projects.CreateEnvironment("alpha");
        _projects.CreateEnvironment("scratch");
        await using var host = await StartAsync();
        Assert.Equal(200, (await host.Request("scratch").SendAsync()).StatusCode);

        var listed = host.Catalog().GetListingChangeToken();
        _projects.WriteTracIgnore("scratch\n");
        await listed.WaitAsync("the .tracignore change");

        Assert.Equal(404, (await host.Request("scratch").SendAsync()).StatusCode);
        Assert.Equal(200, (await host.Request("alpha").SendAsync()).StatusCode);
    }

    /// <summary>A host on the real clock: reloads wait for a quiet period after the file system's notice.</summary>
    private Task<TracTestHost> StartAsync(Action<EnvironmentOptions>? configure = null) =>
        TracTestHost.CreateBuilder(_projects)
            .UseTime(TimeProvider.System)
            .UseTrac((trac, recorder) => trac.ResolveEnvironment(configure).Dispatch(recorder.Dispatch))
            .StartAsync();
}
