using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>Stopped workers' load contexts are verified together: each is reported once, collected or not.</summary>
public sealed class UnloadVerifierTests
{
    private readonly ConcurrentDictionary<long, bool> _reports = new();
    private readonly ConcurrentDictionary<long, TaskCompletionSource> _reported = new();

    [Fact]
    public async Task ContextsStoppedTogether_AreEachReportedCollected()
    {
        var verifier = new UnloadVerifier(Report);

        for (var generation = 1; generation <= 3; generation++)
        {
            verifier.Add(Unloaded(generation));
        }

        await Task.WhenAll(Enumerable.Range(1, 3).Select(Reported));
        Assert.Equal([true, true, true], Enumerable.Range(1, 3).Select(g => _reports[g]));
    }

    [Fact]
    public async Task ContextStillReferenced_IsReportedNotCollected()
    {
        var verifier = new UnloadVerifier(Report);
        var kept = new AssemblyLoadContext("kept", isCollectible: true);
        kept.Unload();

        verifier.Add(new UnloadVerifier.Unloading(new WeakReference(kept), "key", 1, "test"));

        await Reported(1);
        Assert.False(_reports[1]);
        GC.KeepAlive(kept);
    }

    [Fact]
    public async Task Flush_ReportsWhatIsPendingBeforeItReturns()
    {
        var verifier = new UnloadVerifier(Report);
        verifier.Add(Unloaded(1));
        await Reported(1);

        // Within the interval of the first round: this one waits for the next, unless the pool stops.
        verifier.Add(Unloaded(2));
        await verifier.FlushAsync();

        Assert.True(_reports[2]);
    }

    private void Report(UnloadVerifier.Unloading unloading, bool collected)
    {
        Assert.True(_reports.TryAdd(unloading.Generation, collected), "reported twice");
        _reported.GetOrAdd(unloading.Generation, _ => new TaskCompletionSource()).TrySetResult();
    }

    private Task Reported(int generation) =>
        _reported.GetOrAdd(generation, _ => new TaskCompletionSource()).Task.WaitAsync(TimeSpan.FromSeconds(30));

    // Not inlined, so that no local of the caller keeps the context alive.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static UnloadVerifier.Unloading Unloaded(long generation)
    {
        var context = new AssemblyLoadContext($"unloaded-{generation}", isCollectible: true);
        context.Unload();
        return new UnloadVerifier.Unloading(new WeakReference(context), "key", generation, "test");
    }
}
