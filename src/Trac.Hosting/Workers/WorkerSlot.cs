using Microsoft.Extensions.Primitives;
using Polly;
using Trac.Hosting.Common;

namespace Trac.Hosting.Workers;

/// <summary>
/// One pool key: its current worker, its generation counter and its own start pipeline, with the default pipeline's
/// breaker (<see langword="null"/> when the application configured its own pipeline).
/// </summary>
internal sealed class WorkerSlot(string key, ResiliencePipeline startPipeline, StartBreaker? breaker)
{
    private readonly ChangeSignal _changed = new();
    private readonly ChangeSignal _attempted = new();
    private Worker? _current;
    private long _generation;
    private int _recycling;
    private int _removed;

    public string Key { get; } = key;

    /// <summary>Gets the project of the key, as logs name it.</summary>
    public string Project { get; } = WorkerSlots.ProjectOf(key);

    public ResiliencePipeline StartPipeline { get; } = startPipeline;

    /// <summary>Gets or sets the start in progress of the key's first worker, shared by every request waiting for it.</summary>
    public Task<Worker>? FirstStart { get; set; }

    /// <summary>Gets the lock that guards <see cref="FirstStart"/>.</summary>
    public object StartLock { get; } = new();

    /// <summary>Gets or sets a recycle that arrived while another one ran; taken when that one ends.</summary>
    public PendingRecycle? Pending { get; set; }

    public Worker? Current => Volatile.Read(ref _current);

    /// <summary>Gets the default pipeline's breaker, if the key uses the default pipeline.</summary>
    public StartBreaker? Breaker { get; } = breaker;

    /// <summary>Gets whether the default pipeline's breaker is open (reported by the health check).</summary>
    public bool BreakerOpen => Breaker?.IsBroken == true;

    /// <summary>Gets whether the key's project left the listing: the slot is out of the pool and installs no worker.</summary>
    public bool IsRemoved => Volatile.Read(ref _removed) == 1;

    /// <summary>Marks the slot removed, with a full fence: an install after it sees it, or the remover sees the install.</summary>
    public void MarkRemoved() => Interlocked.Exchange(ref _removed, 1);

    public long NextGeneration() => Interlocked.Increment(ref _generation);

    /// <summary>Makes <paramref name="next"/> current if <paramref name="expected"/> still is; returns whether it did.</summary>
    public bool Replace(Worker? expected, Worker? next) => ReferenceEquals(Interlocked.CompareExchange(ref _current, next, expected), expected);

    public bool TryBeginRecycle() => Interlocked.Exchange(ref _recycling, 1) == 0;

    public void EndRecycle() => Volatile.Write(ref _recycling, 0);

    public IChangeToken GetChangeToken() => _changed.GetChangeToken();

    public void SignalChanged() => _changed.Signal();

    /// <summary>Returns a token that fires when a replacement of the key ends, whether it switched or failed.</summary>
    public IChangeToken GetAttemptedToken() => _attempted.GetChangeToken();

    public void SignalAttempted() => _attempted.Signal();
}
