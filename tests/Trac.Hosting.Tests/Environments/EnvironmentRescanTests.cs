using Trac.Hosting.Environments;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// What file watching cannot see is caught by the periodic re-scan and by retrying broken environments, both on
/// the host's <see cref="TimeProvider"/>, here a manual one: no waiting on the wall clock.
/// </summary>
public sealed class EnvironmentRescanTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private readonly TracTestDirectory _projects = new();

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task ListedDirectoryCreatedAfterStartUp_IsServedAfterTheNextRescan()
    {
        var later = Path.Combine(_projects.Path, "later");
        await using var host = await StartAsync(o => o.Paths.Add(later));
        Assert.Equal(404, (await host.Request("later").SendAsync()).StatusCode);

        _projects.CreateEnvironment("later", e => e.WithProject("Later"));
        host.Time.Advance(Interval - TimeSpan.FromSeconds(1));
        Assert.Equal(404, (await host.Request("later").SendAsync()).StatusCode);

        host.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("later#0 /later|/ user=-", (await host.Request("later").SendAsync()).Body);
        Assert.Equal("Later", host.Recorder.Dispatches.Single().ProjectName);
    }

    [Fact]
    public async Task ListedDirectoryRemoved_Gets404AfterTheNextRescan()
    {
        var gone = _projects.CreateEnvironment("gone", e => e.WithProject("Gone"));
        await using var host = await StartAsync(o => o.Paths.Add(gone));
        Assert.Equal(200, (await host.Request("gone").SendAsync()).StatusCode);

        Directory.Delete(gone, recursive: true);
        host.Time.Advance(Interval);

        Assert.Equal(404, (await host.Request("gone").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task SelectedEnvironmentCreatedLater_IsRetriedOncePerInterval()
    {
        var path = Path.Combine(_projects.Path, "late");
        await using var host = await StartAsync(o => o.Selector = _ => path);
        Assert.Equal(500, (await host.RequestPath("/").SendAsync()).StatusCode);

        _projects.CreateEnvironment("late", e => e.WithProject("Late"));
        Assert.Equal(500, (await host.RequestPath("/").SendAsync()).StatusCode);

        host.Time.Advance(Interval);
        Assert.Equal("late#0 |/ user=-", (await host.RequestPath("/").SendAsync()).Body);
        Assert.Equal("Late", host.Recorder.Dispatches.Single().ProjectName);
    }

    [Fact]
    public async Task RescanOff_NeverRetries()
    {
        var path = Path.Combine(_projects.Path, "late");
        await using var host = await StartAsync(o =>
        {
            o.Selector = _ => path;
            o.RescanInterval = TimeSpan.Zero;
        });
        Assert.Equal(500, (await host.RequestPath("/").SendAsync()).StatusCode);

        _projects.CreateEnvironment("late");
        host.Time.Advance(TimeSpan.FromDays(1));

        Assert.Equal(500, (await host.RequestPath("/").SendAsync()).StatusCode);
    }

    /// <summary>A host without the parent directory (only what <paramref name="configure"/> names), re-scanning every <see cref="Interval"/>.</summary>
    private Task<TracTestHost> StartAsync(Action<EnvironmentOptions> configure) =>
        TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o =>
            {
                o.Environment.ParentDirectory = null;
                o.Environment.RescanInterval = Interval;
                configure(o.Environment);
            })
            .StartAsync();
}
