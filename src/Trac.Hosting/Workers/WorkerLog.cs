using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Workers;

/// <summary>
/// The log messages of worker recycling; their ids are kept with every other stage's in <see cref="EventIds"/>.
/// Per-request messages are at Debug level; Information and above are kept for events that happen once or on a change.
/// </summary>
internal static partial class WorkerLog
{
    [LoggerMessage(EventIds.WorkerStarted, LogLevel.Information, "Started worker {Project} #{Generation} ({Reason}) in {Milliseconds} ms.",
        EventName = nameof(EventIds.WorkerStarted))]
    public static partial void WorkerStarted(ILogger logger, string project, long generation, string reason, long milliseconds);

    [LoggerMessage(EventIds.WorkerSwitched, LogLevel.Information,
        "Recycling worker {Project} #{OldGeneration} ({Reason}): new requests go to #{NewGeneration}.",
        EventName = nameof(EventIds.WorkerSwitched))]
    public static partial void WorkerSwitched(ILogger logger, string project, long oldGeneration, long newGeneration, string reason);

    [LoggerMessage(EventIds.WorkerDraining, LogLevel.Information,
        "Draining worker {Project} #{Generation} ({Reason}) with {Active} requests in flight.",
        EventName = nameof(EventIds.WorkerDraining))]
    public static partial void WorkerDraining(ILogger logger, string project, long generation, string reason, int active);

    [LoggerMessage(EventIds.WorkerRequestsAborted, LogLevel.Warning,
        "Worker {Project} #{Generation} ({Reason}) still had {Active} requests after its drain timeout; they were aborted.",
        EventName = nameof(EventIds.WorkerRequestsAborted))]
    public static partial void WorkerRequestsAborted(ILogger logger, string project, long generation, string reason, int active);

    [LoggerMessage(EventIds.WorkerStopped, LogLevel.Information, "Stopped worker {Project} #{Generation} ({Reason}) after {Requests} requests.",
        EventName = nameof(EventIds.WorkerStopped))]
    public static partial void WorkerStopped(ILogger logger, string project, long generation, string reason, long requests);

    [LoggerMessage(EventIds.WorkerUnloadFailed, LogLevel.Warning,
        "The plugins of worker {Project} #{Generation} ({Reason}) did not unload: something still references their load context (a static, an event " +
        "handler, a thread, a cached delegate). Its memory stays in use.",
        EventName = nameof(EventIds.WorkerUnloadFailed))]
    public static partial void WorkerUnloadFailed(ILogger logger, string project, long generation, string reason);

    [LoggerMessage(EventIds.WorkerStartFailed, LogLevel.Error, "Worker {Project} could not be started: {Error}",
        EventName = nameof(EventIds.WorkerStartFailed))]
    public static partial void WorkerStartFailed(ILogger logger, string project, string error, Exception exception);

    [LoggerMessage(EventIds.ProcessRecycling, LogLevel.Warning,
        "Replacing the process ({Reason}): the health check reports unhealthy now, and the application stops in {Delay}.",
        EventName = nameof(EventIds.ProcessRecycling))]
    public static partial void ProcessRecycling(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(EventIds.WorkerUnloaded, LogLevel.Debug, "The plugins of worker {Project} #{Generation} ({Reason}) unloaded.",
        EventName = nameof(EventIds.WorkerUnloaded))]
    public static partial void WorkerUnloaded(ILogger logger, string project, long generation, string reason);

    [LoggerMessage(EventIds.WorkerStopFailed, LogLevel.Error,
        "Disposing worker {Project} #{Generation} ({Reason}) failed; its plugins and load context were released all the same: {Error}",
        EventName = nameof(EventIds.WorkerStopFailed))]
    public static partial void WorkerStopFailed(ILogger logger, string project, long generation, string reason, string error, Exception exception);

    [LoggerMessage(EventIds.WorkerStoppedWithRequestsRunning, LogLevel.Warning,
        "Worker {Project} #{Generation} ({Reason}) is stopped with {Count} requests still running after they were aborted: they ignore the abort signal and run against disposed services until they return. The worker stays listed as Aborted until then.",
        EventName = nameof(EventIds.WorkerStoppedWithRequestsRunning))]
    public static partial void WorkerStoppedWithRequestsRunning(ILogger logger, string project, long generation, string reason, int count);

    [LoggerMessage(EventIds.WorkerAbortedRequestsReturned, LogLevel.Information,
        "The last aborted request of worker {Project} #{Generation} ({Reason}) returned; the worker is gone.",
        EventName = nameof(EventIds.WorkerAbortedRequestsReturned))]
    public static partial void WorkerAbortedRequestsReturned(ILogger logger, string project, long generation, string reason);

    [LoggerMessage(EventIds.WorkerProcessOutput, LogLevel.Warning, "Worker process {Project} wrote to {Stream}: {Line}",
        EventName = nameof(EventIds.WorkerProcessOutput))]
    public static partial void ProcessOutput(ILogger logger, string project, string stream, string line);

    [LoggerMessage(EventIds.WorkerErrorOutput, LogLevel.Warning, "Worker process {Project} wrote error output for {Method} {Path}: {Output}",
        EventName = nameof(EventIds.WorkerErrorOutput))]
    public static partial void ApplicationErrorOutput(ILogger logger, string project, string method, string path, string output);

    [LoggerMessage(EventIds.WorkerBadGateway, LogLevel.Warning,
        "Worker process {Project} did not answer {Method} {Path} properly (the client got 502 Bad Gateway, or its response was cut off): {Error}",
        EventName = nameof(EventIds.WorkerBadGateway))]
    public static partial void BadGateway(ILogger logger, string project, string method, string path, string error);

    [LoggerMessage(EventIds.WorkerPreloadSkipped, LogLevel.Warning, "Trac:Workers:Preload: the worker of '{Project}' is not started at start-up: {Why}",
        EventName = nameof(EventIds.WorkerPreloadSkipped))]
    public static partial void WorkerPreloadSkipped(ILogger logger, string project, string why);

    [LoggerMessage(EventIds.WorkersPreloaded, LogLevel.Information,
        "Started the workers of {Started} project(s) at start-up in {Milliseconds} ms; {Failed} could not start{FailedProjects}.",
        EventName = nameof(EventIds.WorkersPreloaded))]
    public static partial void WorkersPreloaded(ILogger logger, int started, long milliseconds, int failed, string failedProjects);
}
