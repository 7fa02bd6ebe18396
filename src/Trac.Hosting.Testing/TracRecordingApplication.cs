using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Testing;

/// <summary>
/// An <see cref="ITracApplication"/> for tests: records what each dispatch saw into the <see cref="TracRecorder"/>
/// registered in the worker's services or the host's, answers with a one-line summary, and can be told to block,
/// fail to start, hold or fail its warm-up, or leak. Register it with <c>.Dispatch&lt;TracRecordingApplication&gt;()</c>.
/// </summary>
public sealed class TracRecordingApplication : ITracApplication, IDisposable
{
    private readonly TracWorkerContext _worker;
    private readonly TracRecorder _recorder;
    private volatile bool _disposed;

    /// <summary>
    /// Creates the instance of one worker, with the <see cref="TracRecorder"/> of the worker's services or, failing
    /// that, of the host's; fails when <see cref="TracRecorder.FailStart"/> says so.
    /// </summary>
    /// <param name="worker">The worker being built.</param>
    /// <param name="services">The worker's services.</param>
    /// <exception cref="InvalidOperationException">Neither the worker's nor the host's services have a recorder.</exception>
    public TracRecordingApplication(TracWorkerContext worker, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(services);
        var recorder = services.GetService<TracRecorder>() ?? worker.HostServices.GetService<TracRecorder>()
            ?? throw new InvalidOperationException(
                "TracRecordingApplication needs a TracRecorder: register one in the host's services (services.AddSingleton(new TracRecorder())); TracTestHost does.");
        _worker = worker;
        _recorder = recorder;
        recorder.Happened(TracWorkerEventKind.Created, Name, worker.Generation);
        if (recorder.FailStart?.Invoke(worker) is { } failure)
        {
            throw failure;
        }
    }

    private string Name => NameOf(_worker);

    /// <inheritdoc />
    public Task DispatchAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return DispatchAsync(context, _recorder, this);
    }

    /// <inheritdoc />
    public Task WarmUpAsync(CancellationToken cancellationToken)
    {
        _recorder.Happened(TracWorkerEventKind.WarmingUp, Name, _worker.Generation);
        return _recorder.WarmUp?.Invoke(_worker, cancellationToken) ?? Task.CompletedTask;
    }

    internal static async Task DispatchAsync(HttpContext context, TracRecorder recorder, TracRecordingApplication? application)
    {
        // Disposed before the dispatch began, or while it ran (blocked, or in OnDispatch): counted once.
        var disposed = application?._disposed == true;

        var environment = context.GetTracEnvironment()!;
        var worker = context.GetTracWorker();

        // The application's own view of its worker; a delegate dispatch asks the worker serving the request.
        var built = application?._worker ?? worker?.Services.GetService<TracWorkerContext>();
        var record = new TracDispatchRecord(
            environment.Name,
            context.Request.PathBase.Value ?? string.Empty,
            context.Request.Path.Value ?? string.Empty,
            context.GetRemoteUser(),
            context.GetTracPluginCache()?.PluginSet.Plugins.Select(p => p.Directory).ToArray() ?? [],
            worker?.Key,
            worker?.Generation ?? 0)
        {
            ProjectName = environment.ProjectName,
            WorkerEnvironment = built is null ? null : NameOf(built),
            WorkerProjectName = built?.Environment?.ProjectName,

            // Names only: a record that held the assemblies would keep a retired worker's plugins loaded.
            WorkerPluginAssemblies = built?.PluginAssemblies.Select(a => a.GetName().Name ?? a.FullName ?? string.Empty).ToArray() ?? [],
        };
        recorder.Record(record);
        if (recorder.CurrentBlock is { } block)
        {
            block.Arrived.TrySetResult();
            await block.Gate.Task.WaitAsync(context.RequestAborted);
        }

        if (recorder.OnDispatch is { } onDispatch)
        {
            await onDispatch(context);
        }

        if (disposed || application?._disposed == true)
        {
            recorder.Violation();
        }

        await context.Response.WriteAsync($"{record.Environment}#{record.Generation} {record.PathBase}|{record.Path} user={record.RemoteUser ?? "-"}");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _recorder.Happened(TracWorkerEventKind.Disposed, Name, _worker.Generation);
    }

    private static string NameOf(TracWorkerContext worker) => worker.Environment?.Name ?? "shared";
}
