using Microsoft.AspNetCore.Http;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Testing;

/// <summary>
/// An <see cref="ITracApplication"/> for tests: records what each dispatch saw into the <see cref="TracRecorder"/>
/// registered in the worker's services (or the host's), answers with a one-line summary, and can be told to block,
/// fail to start, or leak. Register it with <c>.Dispatch&lt;TracRecordingApplication&gt;()</c>.
/// </summary>
public sealed class TracRecordingApplication : ITracApplication, IDisposable
{
    private readonly TracWorkerContext _worker;
    private readonly TracRecorder _recorder;
    private volatile bool _disposed;

    /// <summary>Creates the instance of one worker; fails when <see cref="TracRecorder.FailStart"/> says so.</summary>
    /// <param name="worker">The worker being built.</param>
    /// <param name="recorder">The shared recorder.</param>
    public TracRecordingApplication(TracWorkerContext worker, TracRecorder recorder)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(recorder);
        _worker = worker;
        _recorder = recorder;
        if (recorder.FailStart?.Invoke(worker) is { } failure)
        {
            throw failure;
        }
    }

    /// <inheritdoc />
    public Task DispatchAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return DispatchAsync(context, _recorder, _disposed);
    }

    internal static async Task DispatchAsync(HttpContext context, TracRecorder recorder, bool disposed)
    {
        if (disposed)
        {
            recorder.Violation();
        }

        var environment = context.GetTracEnvironment()!;
        var worker = context.GetTracWorker();
        var record = new TracDispatchRecord(
            environment.Name,
            context.Request.PathBase.Value ?? string.Empty,
            context.Request.Path.Value ?? string.Empty,
            context.GetRemoteUser(),
            context.GetTracPluginCache()?.PluginSet.Plugins.Select(p => p.Directory).ToArray() ?? [],
            worker?.Key,
            worker?.Generation ?? 0);
        recorder.Record(record);
        if (recorder.Gate is { } gate)
        {
            recorder.Blocked?.TrySetResult();
            await gate.WaitAsync(context.RequestAborted);
        }

        await context.Response.WriteAsync($"{record.Environment}#{record.Generation} {record.PathBase}|{record.Path} user={record.RemoteUser ?? "-"}");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _recorder.MarkDisposed($"{_worker.Environment?.Name ?? "shared"}#{_worker.Generation}");
    }
}
