namespace Trac.Hosting.Workers;

/// <summary>
/// Confirms that the plugin load contexts of stopped workers are collected, forcing as few full collections as it can:
/// the contexts of every worker stopped meanwhile are checked together, in rounds at least <see cref="DefaultInterval"/>
/// apart, each forcing collections only while one of them is still alive (at most ten). A forced full collection stops
/// every request for a moment, so a pool recycling a worker every few milliseconds forces a few a second, not one per
/// recycle. The first round after a quiet second runs at once, and so does a round for a heap that has grown by
/// <see cref="HeapGrowth"/> since the last one: what leaking plugins kept goes back without waiting for the interval.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A CancellationTokenSource without a timer holds nothing to dispose.")]
internal sealed class UnloadVerifier
{
    /// <summary>The least time between two rounds, on the machine's clock: it paces what the machine does, not the host.</summary>
    internal static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(1);

    /// <summary>How much the heap may grow, while stopped workers wait for a round, before the round runs at once.</summary>
    internal const long HeapGrowth = 64L << 20;

    private const int MaxCollections = 10;

    private readonly Action<Unloading, bool> _report;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _clock = TimeProvider.System;
    private readonly List<Unloading> _pending = [];
    private readonly CancellationTokenSource _flushing = new();
    private Task _rounds = Task.CompletedTask;
    private CancellationTokenSource? _waiting;
    private bool _running;
    private long _lastRound;
    private long _heapAfterRound;

    /// <param name="report">Called once per context, with whether it was collected.</param>
    /// <param name="interval">The least time between two rounds; <see cref="DefaultInterval"/> unless a test says otherwise.</param>
    public UnloadVerifier(Action<Unloading, bool> report, TimeSpan? interval = null)
    {
        _report = report;
        _interval = interval ?? DefaultInterval;
    }

    /// <summary>
    /// Verifies <paramref name="unloading"/> in the next round, which starts now unless one ran within the interval and
    /// the heap has not grown by <see cref="HeapGrowth"/> since.
    /// </summary>
    public void Add(Unloading unloading)
    {
        var grown = HeapHasGrown();
        lock (_pending)
        {
            _pending.Add(unloading);
            if (_running)
            {
                if (grown)
                {
                    _waiting?.Cancel();
                }

                return;
            }

            _running = true;
            _rounds = Task.Run(RunRoundsAsync);
        }
    }

    /// <summary>Verifies everything pending at once, without waiting for the interval (when the pool stops).</summary>
    public async Task FlushAsync()
    {
        Task rounds;
        lock (_pending)
        {
            rounds = _rounds;
        }

        await _flushing.CancelAsync();
        await rounds;
        RunRound();
    }

    private async Task RunRoundsAsync()
    {
        while (true)
        {
            var wait = _lastRound == 0 ? TimeSpan.Zero : _interval - _clock.GetElapsedTime(_lastRound);
            if (wait > TimeSpan.Zero && !HeapHasGrown())
            {
                using var waiting = CancellationTokenSource.CreateLinkedTokenSource(_flushing.Token);
                lock (_pending)
                {
                    _waiting = waiting;
                }

                await Task.Delay(wait, _clock, waiting.Token).ContinueWith(static _ => { }, TaskScheduler.Default);
                lock (_pending)
                {
                    _waiting = null;
                }
            }

            RunRound();
            _lastRound = _clock.GetTimestamp();
            lock (_pending)
            {
                if (_pending.Count == 0)
                {
                    _running = false;
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Returns whether the heap, as the last collection left it, is <see cref="HeapGrowth"/> larger than after the last
    /// round: what unloaded contexts still hold counts until a full collection.
    /// </summary>
    internal bool HeapHasGrown() => GC.GetGCMemoryInfo().HeapSizeBytes - Volatile.Read(ref _heapAfterRound) > HeapGrowth;

    private void RunRound()
    {
        Unloading[] batch;
        lock (_pending)
        {
            batch = [.. _pending];
            _pending.Clear();
        }

        // Collections that ran meanwhile may have done the work already: force one only for what is still alive.
        for (var collection = 0; collection < MaxCollections && batch.Any(u => u.Context.IsAlive); collection++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        // Measured before anything is reported: growth that follows a report always counts towards the next round.
        Volatile.Write(ref _heapAfterRound, GC.GetGCMemoryInfo().HeapSizeBytes);
        foreach (var unloading in batch)
        {
            _report(unloading, !unloading.Context.IsAlive);
        }
    }

    /// <summary>A stopped worker's load context, held weakly, and what to report it as.</summary>
    internal sealed record Unloading(WeakReference Context, string Key, long Generation, string Reason);
}
