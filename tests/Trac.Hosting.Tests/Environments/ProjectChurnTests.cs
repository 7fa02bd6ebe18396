using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// Projects that come and go (per-branch, per-customer environments) leave nothing behind: once a project has left
/// the listing and its worker has stopped, its catalog slot, file watches, plugin state, worker slot and timers are
/// gone, so a host that has seen 1,200 projects holds what it held with one. Real directories and file watchers; the
/// listing's rescan and every delay on a manual clock.
/// </summary>
public sealed class ProjectChurnTests : IDisposable
{
    private static readonly TimeSpan Rescan = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(100);

    private readonly TracTestDirectory _projects = new();

    public ProjectChurnTests() => _projects.CreateEnvironment("keep", e => e.WithProject("Keep"));

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task TwelveHundredProjectsCreatedServedAndDeleted_LeaveNoStateBehind()
    {
        var clock = new TimerCountingClock();
        await using var host = await StartAsync(clock);
        Assert.Equal(200, (await host.Request("keep").SendAsync()).StatusCode);
        var catalog = host.Catalog();
        var before = State.Of(host, clock);

        for (var round = 0; round < 12; round++)
        {
            var names = Enumerable.Range(0, 100).Select(i => $"r{round}p{i}").ToArray();
            foreach (var name in names)
            {
                _projects.CreateEnvironment(name);
            }

            // The rescan lists them (on this thread), whatever the watcher has seen so far.
            clock.Manual.Advance(Rescan);
            Assert.All(names, name => Assert.True(catalog.TryFind(name, out _), $"{name} is not listed"));
            foreach (var name in names)
            {
                Assert.Equal(200, (await host.Request(name).SendAsync()).StatusCode);
            }

            var stopped = Task.WhenAll(names.Select(name => host.Logs.WaitForAsync(
                e => e.Id.Id == Diagnostics.EventIds.WorkerStopped && e.Message.Contains($"worker {name} #", StringComparison.Ordinal))));
            foreach (var name in names)
            {
                Directory.Delete(Path.Combine(_projects.Path, name), recursive: true);
            }

            clock.Manual.Advance(Rescan);
            Assert.All(names, name => Assert.False(catalog.TryFind(name, out _), $"{name} is still listed"));
            await clock.Manual.AdvanceUntilAsync(stopped, Step);
        }

        Assert.Equal(1_201, host.Recorder.Dispatches.Count);
        Assert.Equal(before, State.Of(host, clock));
    }

    [Fact]
    public async Task AfterChurn_TheProjectThatStayedStillSeesItsTracIniAndPluginsChange()
    {
        await using var host = await StartAsync(new FakeTimeProvider());
        Assert.Equal(200, (await host.Request("keep").SendAsync()).StatusCode);
        for (var round = 0; round < 3; round++)
        {
            var names = Enumerable.Range(0, 20).Select(i => $"r{round}p{i}").ToArray();
            foreach (var name in names)
            {
                _projects.CreateEnvironment(name);
            }

            host.Time.Advance(Rescan);
            foreach (var name in names)
            {
                Assert.Equal(200, (await host.Request(name).SendAsync()).StatusCode);
                Directory.Delete(Path.Combine(_projects.Path, name), recursive: true);
            }

            host.Time.Advance(Rescan);
        }

        await AssertTracIniAndPluginChangesAreSeenAsync(host, "keep", "Kept");
    }

    [Fact]
    public async Task AProjectDeletedAndMadeAgain_IsServedAndWatchedAgain()
    {
        var path = _projects.CreateEnvironment("again", e => e.WithProject("First"));
        await using var host = await StartAsync(new FakeTimeProvider());
        Assert.Equal(200, (await host.Request("again").SendAsync()).StatusCode);
        Directory.Delete(path, recursive: true);
        host.Time.Advance(Rescan);
        Assert.Equal(404, (await host.Request("again").SendAsync()).StatusCode);

        _projects.CreateEnvironment("again", e => e.WithProject("Second"));
        host.Time.Advance(Rescan);
        Assert.Equal(200, (await host.Request("again").SendAsync()).StatusCode);
        await AssertTracIniAndPluginChangesAreSeenAsync(host, "again", "Third");
        Assert.Equal(1, host.Pool().SlotCount);
    }

    [Fact]
    public async Task ADeletedProject_IsReportedRemovedOnce_NotKeptAsLastGood()
    {
        var gone = _projects.CreateEnvironment("gone");
        await using var host = await StartAsync(new FakeTimeProvider());
        Assert.Equal(200, (await host.Request("gone").SendAsync()).StatusCode);

        var removed = host.Logs.WaitForAsync("EnvironmentRemoved");
        Directory.Delete(gone, recursive: true);
        await host.Time.AdvanceUntilAsync(removed, TimeSpan.FromSeconds(1));
        // Past the rescan too: both the project's own reload and the listing have seen it go.
        host.Time.Advance(Rescan);

        Assert.Equal($"The Trac environment 'gone' at '{gone}' was removed: its directory is gone.", (await removed).Message);
        Assert.Single(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.EnvironmentRemoved);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.ReloadFailedKeepingLastGood);
        Assert.Equal(404, (await host.Request("gone").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task ChangeTokenOfAKeyNoProjectHas_ThrowsAndCreatesNothing()
    {
        await using var host = await StartAsync(new FakeTimeProvider());
        Assert.Equal(200, (await host.Request("keep").SendAsync()).StatusCode);
        var unknown = Path.Combine(_projects.Path, "never-seen");

        var error = Assert.Throws<ArgumentException>(() => host.Pool().GetChangeToken(unknown));

        Assert.StartsWith($"No project has the worker key '{unknown}'.", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, host.Pool().SlotCount);
        Assert.Equal(1, host.Catalog().SlotCount);
        // A known project's key still gets its token.
        Assert.False(host.Pool().GetChangeToken(Path.Combine(_projects.Path, "keep")).HasChanged);
    }

    /// <summary>Changes a project's trac.ini and adds a plugin, and checks its next request sees both.</summary>
    private async Task AssertTracIniAndPluginChangesAreSeenAsync(TracTestHost host, string name, string newProjectName)
    {
        var reloaded = host.Logs.WaitForNextAsync("EnvironmentReloaded");
        _projects.WriteTracIni(name, $"[project]\nname = {newProjectName}\n");
        await host.Time.AdvanceUntilAsync(reloaded, Step);
        var pluginsChanged = host.Logs.WaitForNextAsync("PluginSetChanged");
        _projects.WritePlugin(name, "Late", ("late.txt", "1"));
        await host.Time.AdvanceUntilAsync(pluginsChanged, Step);

        Assert.Equal(200, (await host.Request(name).SendAsync()).StatusCode);
        var last = host.Recorder.Dispatches.Last();
        Assert.Equal(newProjectName, last.ProjectName);
        Assert.Contains(last.PluginFolders, folder => folder.Contains("Late", StringComparison.Ordinal));
    }

    private Task<TracTestHost> StartAsync(TimeProvider clock) =>
        TracTestHost.CreateBuilder(_projects)
            .UseTime(clock)
            .ConfigureTrac(o => o.Environment.RescanInterval = Rescan)
            .UseTrac(t => t.ResolveEnvironment().UsePluginCache().RecycleWorkers().Dispatch<TracRecordingApplication>())
            .StartAsync();

    /// <summary>What the host holds per project, and the live timers of its clock.</summary>
    private sealed record State(int CatalogSlots, int FileWatchEntries, int WorkerSlots, int PluginStates, int Workers, int Timers)
    {
        public static State Of(TracTestHost host, TimerCountingClock clock)
        {
            var catalog = host.Catalog();
            return new State(
                catalog.SlotCount, catalog.Watchers.EntryCount, host.Pool().SlotCount, host.PluginSets().StateCount,
                host.Workers.State.Count, clock.LiveTimers);
        }
    }
}
