using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// What file watching cannot see is caught by the periodic re-scan and by retrying broken environments, both on
/// the host's <see cref="TimeProvider"/>, here a manual one: no waiting on the wall clock.
/// </summary>
public sealed class EnvironmentRescanTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private readonly TracTestDirectory _projects = new();
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task ListedDirectoryCreatedAfterStartUp_IsServedAfterTheNextRescan()
    {
        var later = Path.Combine(_projects.Path, "later");
        using var host = await StartListAsync(later);
        Assert.Equal(404, (await host.GetAsync("/later/")).Status);

        _projects.CreateEnvironment("later", e => e.WithProject("Later"));
        _time.Advance(Interval - TimeSpan.FromSeconds(1));
        Assert.Equal(404, (await host.GetAsync("/later/")).Status);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("env=later;project=Later;base=/later;path=/", (await host.GetAsync("/later/")).Body);
    }

    [Fact]
    public async Task ListedDirectoryRemoved_Gets404AfterTheNextRescan()
    {
        var gone = _projects.CreateEnvironment("gone", e => e.WithProject("Gone"));
        using var host = await StartListAsync(gone);
        Assert.Equal(200, (await host.GetAsync("/gone/")).Status);

        Directory.Delete(gone, recursive: true);
        _time.Advance(Interval);

        Assert.Equal(404, (await host.GetAsync("/gone/")).Status);
    }

    [Fact]
    public async Task SelectedEnvironmentCreatedLater_IsRetriedOncePerInterval()
    {
        var path = Path.Combine(_projects.Path, "late");
        using var host = await TestHosts.StartAsync(
            o =>
            {
                o.Environment.Selector = _ => path;
                o.Environment.RescanInterval = Interval;
            },
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo),
            services: s => s.AddSingleton<TimeProvider>(_time));
        Assert.Equal(500, (await host.GetAsync("/")).Status);

        _projects.CreateEnvironment("late", e => e.WithProject("Late"));
        Assert.Equal(500, (await host.GetAsync("/")).Status);

        _time.Advance(Interval);
        Assert.Equal("env=late;project=Late;base=;path=/", (await host.GetAsync("/")).Body);
    }

    [Fact]
    public async Task RescanOff_NeverRetries()
    {
        var path = Path.Combine(_projects.Path, "late");
        using var host = await TestHosts.StartAsync(
            o =>
            {
                o.Environment.Selector = _ => path;
                o.Environment.RescanInterval = TimeSpan.Zero;
            },
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo),
            services: s => s.AddSingleton<TimeProvider>(_time));
        Assert.Equal(500, (await host.GetAsync("/")).Status);

        _projects.CreateEnvironment("late");
        _time.Advance(TimeSpan.FromDays(1));

        Assert.Equal(500, (await host.GetAsync("/")).Status);
    }

    private Task<Microsoft.Extensions.Hosting.IHost> StartListAsync(string path) =>
        TestHosts.StartAsync(
            o =>
            {
                o.Environment.Paths.Add(path);
                o.Environment.RescanInterval = Interval;
            },
            t => t.ResolveEnvironment().Dispatch(TestHosts.Echo),
            services: s => s.AddSingleton<TimeProvider>(_time));
}
