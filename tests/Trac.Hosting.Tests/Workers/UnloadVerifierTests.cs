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

    [Fact]
    public async Task GrownHeap_HasTheNextRoundRunAtOnce()
    {
        // Rounds an hour apart: only the heap's growth can have the second one run while the test waits.
        var verifier = new UnloadVerifier(Report, TimeSpan.FromHours(1));
        verifier.Add(Unloaded(1));
        await Reported(1);

        // Kept until the heap, as a collection leaves it, has grown enough (other tests share the heap).
        var kept = new List<byte[]>();
        for (var i = 0; i < 16 && !verifier.HeapHasGrown(); i++)
        {
            kept.Add(new byte[UnloadVerifier.HeapGrowth / 2]);
            GC.Collect();
        }

        Assert.True(verifier.HeapHasGrown());
        verifier.Add(Unloaded(2));

        await Reported(2);
        Assert.True(_reports[2]);
        GC.KeepAlive(kept);
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
