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
        using var host = await TestHosts.StartParentAsync(_projects.Path, e => e.UsePollingFileWatcher = polling);
        Assert.Equal("env=alpha;project=Before;base=/alpha;path=/", (await host.GetAsync("/alpha/")).Body);
        Assert.True(host.Catalog().TryFind("alpha", out var slot));

        var changed = slot.GetChangeToken();
        _projects.WriteTracIni("alpha", "[project]\nname = After\n");
        await changed.WaitAsync("the trac.ini reload");

        Assert.Equal("env=alpha;project=After;base=/alpha;path=/", (await host.GetAsync("/alpha/")).Body);
    }

    [Fact]
    public async Task SingleEnvironment_TracIniChange_Reloads()
    {
        var path = _projects.CreateEnvironment("solo", e => e.WithProject("Before"));
        using var host = await TestHosts.StartAsync(o => o.Environment.Path = path, t => t.ResolveEnvironment().Dispatch(TestHosts.Echo));
        Assert.Contains("project=Before", (await host.GetAsync("/")).Body, StringComparison.Ordinal);

        var changed = host.Catalog().Single!.GetChangeToken();
        _projects.WriteTracIni("solo", "[project]\nname = After\n");
        await changed.WaitAsync("the trac.ini reload");

        Assert.Contains("project=After", (await host.GetAsync("/")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadReload_KeepsServingTheLastGoodStateAndLogsWhy()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Good"));
        var logs = new TracTestLogs();
        using var host = await TestHosts.StartParentAsync(_projects.Path, logs: logs);
        Assert.Contains("project=Good", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);

        var kept = logs.WaitForAsync(e => e.EventId.Id == Diagnostics.EventIds.ReloadFailedKeepingLastGood);
        _projects.WriteTracIni("alpha", "this line is not INI\n");
        var entry = await kept;

        Assert.Contains("trac.ini", entry.Message, StringComparison.Ordinal);
        var (status, body, _) = await host.GetAsync("/alpha/");
        Assert.Equal(200, status);
        Assert.Contains("project=Good", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BrokenEnvironment_RecoversWhenFixed()
    {
        _projects.CreateEnvironment("alpha", e => e.WithoutTracIni());
        using var host = await TestHosts.StartParentAsync(_projects.Path);
        Assert.Equal(500, (await host.GetAsync("/alpha/")).Status);
        Assert.True(host.Catalog().TryFind("alpha", out var slot));

        var changed = slot.GetChangeToken();
        _projects.WriteTracIni("alpha", "[project]\nname = Fixed\n");
        await changed.WaitAsync("the trac.ini reload");

        Assert.Contains("project=Fixed", (await host.GetAsync("/alpha/")).Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task NewEnvironmentDirectory_IsNoticed(bool polling)
    {
        _projects.CreateEnvironment("alpha");
        using var host = await TestHosts.StartParentAsync(_projects.Path, e => e.UsePollingFileWatcher = polling);
        Assert.Equal(404, (await host.GetAsync("/beta/")).Status);

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

        Assert.Equal("env=beta;project=Beta;base=/beta;path=/", (await host.GetAsync("/beta/")).Body);
        Assert.Contains(">Beta<", (await host.GetAsync("/")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemovedEnvironmentDirectory_Gets404()
    {
        var beta = _projects.CreateEnvironment("beta");
        _projects.CreateEnvironment("alpha");
        using var host = await TestHosts.StartParentAsync(_projects.Path);
        Assert.Equal(200, (await host.GetAsync("/beta/")).Status);

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

        Assert.Equal(404, (await host.GetAsync("/beta/")).Status);
        Assert.Equal(200, (await host.GetAsync("/alpha/")).Status);
    }

    [Fact]
    public async Task TracIgnoreChange_IsNoticed()
    {
        _projects.CreateEnvironment("alpha");
        _projects.CreateEnvironment("scratch");
        using var host = await TestHosts.StartParentAsync(_projects.Path);
        Assert.Equal(200, (await host.GetAsync("/scratch/")).Status);

        var listed = host.Catalog().GetListingChangeToken();
        _projects.WriteTracIgnore("scratch\n");
        await listed.WaitAsync("the .tracignore change");

        Assert.Equal(404, (await host.GetAsync("/scratch/")).Status);
        Assert.Equal(200, (await host.GetAsync("/alpha/")).Status);
    }
}
