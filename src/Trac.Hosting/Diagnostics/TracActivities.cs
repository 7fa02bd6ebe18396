using System.Diagnostics;

namespace Trac.Hosting.Diagnostics;

/// <summary>
/// The <c>Trac.Hosting</c> activity source: spans for what happens beside requests (a worker's start and warm-up, its
/// drain, a plugin archive's extraction), named and tagged after OpenTelemetry's conventions. Nothing is made unless a
/// listener (an OpenTelemetry tracer provider with <c>AddSource("Trac.Hosting")</c>) wants the span.
/// </summary>
internal static class TracActivities
{
    public const string SourceName = "Trac.Hosting";

    public const string WorkerStart = "trac.worker.start";
    public const string WorkerWarmUp = "trac.worker.warm_up";
    public const string WorkerDrain = "trac.worker.drain";
    public const string PluginExtract = "trac.plugin_cache.extract";

    public const string GenerationTag = "trac.worker.generation";
    public const string StartReasonTag = "trac.worker.start.reason";
    public const string AbortedRequestsTag = "trac.worker.aborted_requests";
    public const string PluginTag = "trac.plugin.name";
    public const string ErrorTypeTag = "error.type";

    public static readonly ActivitySource Source = new(SourceName, typeof(TracActivities).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// Starts a span of a trace of its own, linked to the current one (the request that caused it, if any): a worker's
    /// life outlasts that request, and is shared by every request that waits for it. Call it only in an
    /// <see langword="async"/> method: the cleared current activity is the method's own, restored for its caller.
    /// </summary>
    public static Activity? StartDetached(string name, string project)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var cause = Activity.Current;
        Activity.Current = null;
        ActivityLink[]? links = cause is null ? null : [new ActivityLink(cause.Context)];
        var activity = Source.StartActivity(name, ActivityKind.Internal, parentContext: default, links: links);
        activity?.SetTag(TracMetrics.ProjectTag, project);
        return activity;
    }

    /// <summary>Starts a child span of the current activity (a warm-up inside its start).</summary>
    public static Activity? StartChild(string name, string project)
    {
        var activity = Source.StartActivity(name, ActivityKind.Internal);
        activity?.SetTag(TracMetrics.ProjectTag, project);
        return activity;
    }

    /// <summary>Marks a span failed, with the exception's type as <c>error.type</c>.</summary>
    public static void Fail(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.SetTag(ErrorTypeTag, exception.GetType().FullName);
    }
}
