using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>The worker pool takes a project's name where it takes a key, refuses a name that is no project, and logs projects by name.</summary>
public sealed class WorkerPoolKeyTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public WorkerPoolKeyTests()
    {
        _projects.CreateEnvironment("alpha");
        _projects.CreateEnvironment("beta");
    }

    public void Dispose() => _projects.Dispose();

    [Theory]
    [InlineData(WorkerScope.PerEnvironment)]
    [InlineData(WorkerScope.Shared)]
    public async Task RecycleAsync_ByProjectName_ReplacesItsWorker_AndLogsTheName(WorkerScope scope)
    {
        await using var host = await StartAsync(scope);
        await host.Request("alpha", "/").SendAsync();
        var pool = host.Services.GetRequiredService<IWorkerPool>();
        var changed = pool.GetChangeToken("alpha");

        await pool.RecycleAsync("alpha");
        var after = await host.Request("alpha", "/").SendAsync();

        Assert.True(changed.HasChanged);
        Assert.StartsWith("alpha#2 ", after.Body, StringComparison.Ordinal);
        var name = scope == WorkerScope.Shared ? "shared" : "alpha";
        Assert.Contains(host.Logs.Entries, e => e.Id.Name == "WorkerStarted" && e.Message.StartsWith($"Started worker {name} #2 ", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Logs.Entries, e => e.Id.Name?.StartsWith("Worker", StringComparison.Ordinal) == true && e.Message.Contains(_projects.Path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RecycleAsync_ByFullPath_StillWorks()
    {
        await using var host = await StartAsync(WorkerScope.PerEnvironment);
        await host.Request("beta", "/").SendAsync();

        await host.Services.GetRequiredService<IWorkerPool>().RecycleAsync(Path.Combine(_projects.Path, "beta"));

        Assert.StartsWith("beta#2 ", (await host.Request("beta", "/").SendAsync()).Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(WorkerScope.PerEnvironment)]
    [InlineData(WorkerScope.Shared)]
    public async Task ANameThatIsNoProject_IsRefused_SayingSo(WorkerScope scope)
    {
        await using var host = await StartAsync(scope);
        var pool = host.Services.GetRequiredService<IWorkerPool>();

        var recycle = await Assert.ThrowsAsync<ArgumentException>(() => pool.RecycleAsync("demo"));
        var token = Assert.Throws<ArgumentException>(() => pool.GetChangeToken("demo"));

        Assert.Contains("No project named 'demo'", recycle.Message, StringComparison.Ordinal);
        Assert.Contains("No project named 'demo'", token.Message, StringComparison.Ordinal);
    }

    private Task<TracTestHost> StartAsync(WorkerScope scope) =>
        TracTestHost.CreateBuilder(_projects)
            .UseTrac(t => t.ResolveEnvironment().RecycleWorkers(o => o.Scope = scope).Dispatch<TracRecordingApplication>())
            .StartAsync();
}
