using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Trac.Hosting.Diagnostics;

/// <summary>
/// The instruments of the <c>Trac.Hosting</c> meter, named and tagged after OpenTelemetry's conventions (dotted,
/// namespaced names; durations in seconds). Measurements about one project carry <c>trac.project</c> only when
/// <see cref="TracTelemetryOptions.ProjectAttribute"/> asks for it, as a host may have thousands of projects.
/// Every helper here passes its tags as structs: recording allocates nothing.
/// </summary>
internal sealed class TracMetrics : IDisposable
{
    public const string MeterName = "Trac.Hosting";

    /// <summary>The project's name (the environment's directory name; <c>shared</c> for the shared worker).</summary>
    public const string ProjectTag = "trac.project";

    /// <summary>Why a worker was recycled: <see cref="Workers.WorkerRecycleReasons"/>.</summary>
    public const string RecycleReasonTag = "trac.worker.recycle.reason";

    /// <summary>What environment resolution did with a request: <see cref="ResolutionOutcomes"/>.</summary>
    public const string ResolutionOutcomeTag = "trac.environment.resolution.outcome";

    /// <summary>How extracting a plugin archive ended: <see cref="ExtractionResults"/>.</summary>
    public const string ExtractionResultTag = "trac.plugin_cache.extraction.result";

    private readonly Meter _meter;
    private readonly bool _projectTag;

    public TracMetrics(IMeterFactory? meterFactory, bool projectTag = false)
    {
        _projectTag = projectTag;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        Resolutions = _meter.CreateCounter<long>("trac.environment.resolutions", "{request}", "Requests seen by environment resolution, by outcome.");
        Requests = _meter.CreateCounter<long>("trac.worker.requests", "{request}", "Requests workers served to the end.");
        Recycles = _meter.CreateCounter<long>("trac.worker.recycles", "{recycle}", "Workers replaced or retired, by reason.");
        ActiveWorkers = _meter.CreateUpDownCounter<long>("trac.worker.active", "{worker}", "Workers serving requests.");
        StartDuration = _meter.CreateHistogram<double>("trac.worker.start.duration", "s", "Time to build and warm a worker, retries included.");
        DrainDuration = _meter.CreateHistogram<double>("trac.worker.drain.duration", "s", "Time from retiring a worker to its last request finishing.");
        AbortedRequests = _meter.CreateCounter<long>("trac.worker.aborted_requests", "{request}", "Requests aborted because their worker's drain timed out.");
        RejectedRequests = _meter.CreateCounter<long>("trac.worker.rejected_requests", "{request}", "Requests answered 503: queue full, breaker open or no worker could start.");
        OutlivingRequests = _meter.CreateCounter<long>("trac.worker.outliving_requests", "{request}", "Aborted requests still running when their worker was stopped (they ignore the abort signal).");
        UnloadFailures = _meter.CreateCounter<long>("trac.worker.unload_failures", "{worker}", "Retired workers whose plugin load context was still alive after collection.");
        Extractions = _meter.CreateCounter<long>("trac.plugin_cache.extractions", "{archive}", "Plugin archives extracted into the cache, or refused or failed, by result.");
        ExtractionDuration = _meter.CreateHistogram<double>("trac.plugin_cache.extraction.duration", "s", "Time to copy, check and extract a plugin archive, by result.");
        RemoteUserRefusals = _meter.CreateCounter<long>("trac.remote_user.refusals", "{refusal}", "Remote user values refused with 400 or 403, by reason.");
        Logins = _meter.CreateCounter<long>("trac.login.attempts", "{attempt}", "Password-file logins checked, by result.");
    }

    /// <summary>Gets the requests environment resolution answered or passed on, tagged <see cref="ResolutionOutcomeTag"/>.</summary>
    public Counter<long> Resolutions { get; }

    public Counter<long> Requests { get; }

    /// <summary>Gets the recycles, tagged <see cref="RecycleReasonTag"/>.</summary>
    public Counter<long> Recycles { get; }

    public UpDownCounter<long> ActiveWorkers { get; }

    public Histogram<double> StartDuration { get; }

    public Histogram<double> DrainDuration { get; }

    public Counter<long> AbortedRequests { get; }

    public Counter<long> OutlivingRequests { get; }

    public Counter<long> RejectedRequests { get; }

    public Counter<long> UnloadFailures { get; }

    /// <summary>Gets the plugin archives extracted, refused or failed, tagged <see cref="ExtractionResultTag"/>.</summary>
    public Counter<long> Extractions { get; }

    /// <summary>Gets how long each extraction took, tagged <see cref="ExtractionResultTag"/>.</summary>
    public Histogram<double> ExtractionDuration { get; }

    /// <summary>Gets the refusals of remote user values, tagged <c>trac.remote_user.refusal.reason</c>.</summary>
    public Counter<long> RemoteUserRefusals { get; }

    /// <summary>Gets the password-file logins checked, tagged <c>trac.login.result</c> (<see cref="Login.LoginResult"/>).</summary>
    public Counter<long> Logins { get; }

    /// <summary>
    /// Returns the tags of a measurement about <paramref name="project"/>: <paramref name="tag"/> (if any), and the
    /// project when <see cref="TracTelemetryOptions.ProjectAttribute"/> is on. A <see cref="TagList"/> keeps up to
    /// eight tags inline, so no measurement allocates.
    /// </summary>
    public TagList Tags(string? project, KeyValuePair<string, object?>? tag = null)
    {
        var tags = default(TagList);
        if (tag is { } one)
        {
            tags.Add(one);
        }

        if (_projectTag && project is not null)
        {
            tags.Add(ProjectTag, project);
        }

        return tags;
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>The values of <see cref="ResolutionOutcomeTag"/>.</summary>
    public static class ResolutionOutcomes
    {
        /// <summary>An environment was found and opened: the request went on to the next stage.</summary>
        public static readonly KeyValuePair<string, object?> Served = new(ResolutionOutcomeTag, "served");

        /// <summary>No environment has that name (or the path is outside <c>BasePath</c>): 404.</summary>
        public static readonly KeyValuePair<string, object?> NotFound = new(ResolutionOutcomeTag, "not_found");

        /// <summary>The environment exists but does not open: 500 with Trac's error.</summary>
        public static readonly KeyValuePair<string, object?> Broken = new(ResolutionOutcomeTag, "broken");

        /// <summary>The project index was answered.</summary>
        public static readonly KeyValuePair<string, object?> Index = new(ResolutionOutcomeTag, "index");

        /// <summary>Only a selector is configured and it chose no environment: 500.</summary>
        public static readonly KeyValuePair<string, object?> NotConfigured = new(ResolutionOutcomeTag, "not_configured");
    }

    /// <summary>The values of <see cref="ExtractionResultTag"/>.</summary>
    public static class ExtractionResults
    {
        public static readonly KeyValuePair<string, object?> Extracted = new(ExtractionResultTag, "extracted");

        /// <summary>An unsafe or invalid archive, refused until it changes.</summary>
        public static readonly KeyValuePair<string, object?> Refused = new(ExtractionResultTag, "refused");

        /// <summary>Reading or writing failed after the retries.</summary>
        public static readonly KeyValuePair<string, object?> Failed = new(ExtractionResultTag, "failed");
    }
}
