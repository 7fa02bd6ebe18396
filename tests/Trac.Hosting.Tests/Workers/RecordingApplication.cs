using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>What the workers' applications did, shared by all of them (registered in every worker's services).</summary>
internal sealed class Recorder
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _disposed = new();

    public Func<TracWorkerContext, CancellationToken, Task>? WarmUp { get; set; }

    public Func<HttpContext, Task>? OnDispatch { get; set; }

    public Func<TracWorkerContext, Exception?>? FailStart { get; set; }

    public int Violations;

    public int Starts;

    public ConcurrentQueue<string> Log { get; } = new();

    public void MarkDisposed(string worker) => Signal(worker).TrySetResult();

    public bool IsDisposed(string worker) => Signal(worker).Task.IsCompleted;

    /// <summary>Waits until the worker <c>name#generation</c> is disposed (bounded, failing the test instead of hanging).</summary>
    public Task WaitDisposedAsync(string worker) => Signal(worker).Task.WaitAsync(TimeSpan.FromSeconds(30));

    private TaskCompletionSource Signal(string worker) =>
        _disposed.GetOrAdd(worker, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}

/// <summary>A host application that records what each dispatch saw and whether it ran on a disposed instance.</summary>
internal sealed class RecordingApplication : ITracApplication, IDisposable
{
    private readonly TracWorkerContext _worker;
    private readonly Recorder _recorder;
    private volatile bool _disposed;

    public RecordingApplication(TracWorkerContext worker, Recorder recorder)
    {
        _worker = worker;
        _recorder = recorder;
        Interlocked.Increment(ref recorder.Starts);
        if (recorder.FailStart?.Invoke(worker) is { } failure)
        {
            throw failure;
        }
    }

    public string Name => $"{_worker.Environment?.Name ?? "shared"}#{_worker.Generation}";

    public async Task DispatchAsync(HttpContext context)
    {
        CheckAlive();
        if (_recorder.OnDispatch is { } onDispatch)
        {
            await onDispatch(context);
        }

        CheckAlive();
        var worker = context.GetTracWorker()!;
        await context.Response.WriteAsync(
            $"gen={worker.Generation};env={context.GetTracEnvironment()!.Name};worker={_worker.Environment?.Name ?? "shared"};plugins={_worker.PluginAssemblies.Count};project={_worker.Environment?.ProjectName}");
    }

    public Task WarmUpAsync(CancellationToken cancellationToken)
    {
        _recorder.Log.Enqueue($"warm {Name}");
        return _recorder.WarmUp?.Invoke(_worker, cancellationToken) ?? Task.CompletedTask;
    }

    public void Dispose()
    {
        _disposed = true;
        _recorder.Log.Enqueue($"dispose {Name}");
        _recorder.MarkDisposed(Name);
    }

    private void CheckAlive()
    {
        if (_disposed)
        {
            Interlocked.Increment(ref _recorder.Violations);
        }
    }
}
