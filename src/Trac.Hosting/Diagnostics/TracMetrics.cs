using System.Diagnostics.Metrics;

namespace Trac.Hosting.Diagnostics;

/// <summary>
/// The instruments of the <c>Trac.Hosting</c> meter. Names follow OpenTelemetry conventions; durations are in
/// seconds; recycles carry a <c>reason</c> tag in mod_wsgi's vocabulary.
/// </summary>
internal sealed class TracMetrics : IDisposable
{
    public const string MeterName = "Trac.Hosting";

    private readonly Meter _meter;

    public TracMetrics(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        Requests = _meter.CreateCounter<long>("trac.worker.requests", "{request}", "Requests dispatched to workers.");
        Recycles = _meter.CreateCounter<long>("trac.worker.recycles", "{recycle}", "Workers replaced or retired, by reason.");
        ActiveWorkers = _meter.CreateUpDownCounter<long>("trac.worker.active", "{worker}", "Workers serving requests.");
        StartDuration = _meter.CreateHistogram<double>("trac.worker.start.duration", "s", "Time to build and warm a worker.");
        DrainDuration = _meter.CreateHistogram<double>("trac.worker.drain.duration", "s", "Time from retiring a worker to its last request finishing.");
        AbortedRequests = _meter.CreateCounter<long>("trac.worker.aborted_requests", "{request}", "Requests aborted because their worker's drain timed out.");
        RejectedRequests = _meter.CreateCounter<long>("trac.worker.rejected_requests", "{request}", "Requests answered 503: queue full, breaker open or no worker could start.");
        OutlivingRequests = _meter.CreateCounter<long>("trac.worker.outliving_requests", "{request}", "Aborted requests still running when their worker was stopped (they ignore the abort signal).");
        UnloadFailures = _meter.CreateCounter<long>("trac.worker.unload_failures", "{worker}", "Retired workers whose plugin load context was still alive after collection.");
        RemoteUserRefusals = _meter.CreateCounter<long>("trac.remote_user.refusals", "{refusal}", "Remote user values refused with 400 or 403, by reason.");
        Logins = _meter.CreateCounter<long>("trac.login.attempts", "{attempt}", "Password-file logins checked, by result.");
    }

    public Counter<long> Requests { get; }

    public Counter<long> Recycles { get; }

    public UpDownCounter<long> ActiveWorkers { get; }

    public Histogram<double> StartDuration { get; }

    public Histogram<double> DrainDuration { get; }

    public Counter<long> AbortedRequests { get; }

    public Counter<long> OutlivingRequests { get; }

    public Counter<long> RejectedRequests { get; }

    public Counter<long> UnloadFailures { get; }

    /// <summary>Gets the refusals of remote user values, tagged <c>trac.remote_user.refusal.reason</c>.</summary>
    public Counter<long> RemoteUserRefusals { get; }

    /// <summary>Gets the password-file logins checked, tagged <c>trac.login.result</c> (<see cref="Login.LoginResult"/>).</summary>
    public Counter<long> Logins { get; }

    public void Dispose() => _meter.Dispose();
}
