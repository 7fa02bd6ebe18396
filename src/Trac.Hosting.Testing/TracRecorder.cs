using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Testing;

/// <summary>
/// What <see cref="TracRecordingApplication"/> instances saw and did, shared by all of them (one per worker), and
/// how they should behave: block, fail to start, or leak.
/// </summary>
public sealed class TracRecorder
{
    private readonly ConcurrentQueue<TracDispatchRecord> _dispatches = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _disposed = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<byte[]> _leaked = [];
    private readonly ConcurrentQueue<TracWorkerEvent> _events = new();
    private DispatchBlock? _block;
    private int _violations;

    /// <summary>Gets every dispatch so far, in the order they started.</summary>
    public IReadOnlyCollection<TracDispatchRecord> Dispatches => _dispatches;

    /// <summary>Gets how many dispatches ran on an application instance that had already been disposed (should be 0).</summary>
    public int DispatchesAfterDispose => Volatile.Read(ref _violations);

    /// <summary>
    /// Gets what happened to the <see cref="TracRecordingApplication"/> instances, in order: each one's creation, its
    /// warm-up and its disposal (so a test can check that a replacement warmed up before its predecessor went away).
    /// </summary>
    public IReadOnlyCollection<TracWorkerEvent> WorkerEvents => _events;

    /// <summary>Gets how many <see cref="TracRecordingApplication"/> instances were created (failed starts included).</summary>
    public int Starts => _events.Count(e => e.Kind == TracWorkerEventKind.Created);

    /// <summary>
    /// Gets or sets what a worker's warm-up does (after its application is created, before it serves): for example
    /// wait on a <see cref="TaskCompletionSource"/> the test completes, to hold a replacement in its warm-up while the
    /// old worker keeps serving, or throw to fail the start. <see langword="null"/>: warm up at once.
    /// </summary>
    public Func<TracWorkerContext, CancellationToken, Task>? WarmUp { get; set; }

    /// <summary>
    /// Gets or sets extra work for every dispatch, run after it is recorded and before it answers (inspect the
    /// request, write headers, fail with an exception). <see langword="null"/>: nothing extra.
    /// </summary>
    public Func<HttpContext, Task>? OnDispatch { get; set; }

    /// <summary>
    /// Gets or sets a function deciding whether a worker's application fails to start (returning the exception to
    /// throw) or starts (returning <see langword="null"/>).
    /// </summary>
    public Func<TracWorkerContext, Exception?>? FailStart { get; set; }

    /// <summary>
    /// Gets or sets how many bytes every dispatch keeps for as long as the recorder lives (memory that grows with
    /// requests, for memory-limit tests; for a leak that pins a worker's plugins, see the plugin tests' approach in
    /// <c>docs/testing.md</c>).
    /// </summary>
    public int LeakPerRequest { get; set; }

    /// <summary>Makes every dispatch from now on wait until <see cref="Release"/>; returns a task that completes when one is waiting.</summary>
    /// <returns>A task completed when the first blocked dispatch has arrived.</returns>
    public Task BlockAsync()
    {
        // Blocking again while blocked keeps the same block: nothing waiting on it is stranded.
        var block = new DispatchBlock();
        return (Interlocked.CompareExchange(ref _block, block, null) ?? block).Arrived.Task;
    }

    /// <summary>Lets the blocked dispatches go on, and the following ones run without waiting.</summary>
    public void Release() => Interlocked.Exchange(ref _block, null)?.Gate.TrySetResult();

    /// <summary>Returns a task that completes when the application of <paramref name="environment"/>'s worker <paramref name="generation"/> is disposed.</summary>
    /// <param name="environment">The environment's name (<c>shared</c> for a shared worker).</param>
    /// <param name="generation">The worker generation.</param>
    /// <param name="timeout">How long to wait; 30 seconds by default.</param>
    /// <returns>The task.</returns>
    public Task WaitForDisposeAsync(string environment, long generation, TimeSpan? timeout = null) =>
        Disposed($"{environment}#{generation}").Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30));

    /// <summary>Returns whether the application of a worker generation has been disposed.</summary>
    /// <param name="environment">The environment's name.</param>
    /// <param name="generation">The worker generation.</param>
    /// <returns><see langword="true"/> once disposed.</returns>
    public bool IsDisposed(string environment, long generation) => Disposed($"{environment}#{generation}").Task.IsCompleted;

    /// <summary>
    /// Gets a dispatch delegate that records like <see cref="TracRecordingApplication"/>, for pipelines without
    /// worker recycling: <c>.Dispatch(recorder.Dispatch)</c>.
    /// </summary>
    public RequestDelegate Dispatch => context => TracRecordingApplication.DispatchAsync(context, this, application: null);

    /// <summary>Gets the block dispatches wait at now, if any: its gate and its "one has arrived" signal together, so a
    /// dispatch never signals one block while waiting at another.</summary>
    internal DispatchBlock? CurrentBlock => Volatile.Read(ref _block);

    internal void Record(TracDispatchRecord record)
    {
        _dispatches.Enqueue(record);
        if (LeakPerRequest > 0)
        {
            _leaked.Add(new byte[LeakPerRequest]);
        }
    }

    internal void Violation() => Interlocked.Increment(ref _violations);

    internal void Happened(TracWorkerEventKind kind, string environment, long generation)
    {
        _events.Enqueue(new TracWorkerEvent(kind, environment, generation));
        if (kind == TracWorkerEventKind.Disposed)
        {
            Disposed($"{environment}#{generation}").TrySetResult();
        }
    }

    internal sealed class DispatchBlock
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Arrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private TaskCompletionSource Disposed(string worker) =>
        _disposed.GetOrAdd(worker, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
