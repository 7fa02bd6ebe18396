using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Workers;

/// <summary>
/// Recycling the whole process (<see cref="WorkerMode.Process"/>): the process counts every worker's requests against
/// one limit and lives one lifetime; any trigger reports unhealthy (so a load balancer moves traffic away), then stops
/// the application after <see cref="WorkerOptions.ProcessStopDelay"/> for its supervisor to start a fresh one.
/// </summary>
internal sealed class ProcessRecyclePolicy : RecyclePolicy
{
    private readonly WorkerSettings _settings;
    private readonly TimeProvider _timeProvider;
    private readonly Action _stopApplication;
    private readonly ILogger _logger;
    private readonly TracMetrics _metrics;
    private readonly long _requestLimit;
    private readonly ITimer? _lifetimeTimer;
    private ITimer? _stopTimer;
    private long _served;
    private int _retiring;

    public ProcessRecyclePolicy(WorkerSettings settings, TimeProvider timeProvider, Action stopApplication, ILogger logger, TracMetrics metrics)
    {
        _settings = settings;
        _timeProvider = timeProvider;
        _stopApplication = stopApplication;
        _logger = logger;
        _metrics = metrics;
        _requestLimit = settings.DrawRequestLimit();
        if (settings.MaxLifetime > TimeSpan.Zero)
        {
            _lifetimeTimer = timeProvider.CreateTimer(
                _ => RetireProcess(WorkerRecycleReasons.RestartInterval), null, settings.DrawLifetime(), Timeout.InfiniteTimeSpan);
        }
    }

    public override bool IsProcessRetiring => Volatile.Read(ref _retiring) == 1;

    public override long RequestLimitOfNewWorker() => 0;

    public override void OnRequestFinished(Worker worker, long served)
    {
        if (_requestLimit > 0 && Interlocked.Increment(ref _served) == _requestLimit)
        {
            RetireProcess(WorkerRecycleReasons.MaximumRequests);
        }
    }

    public override void OnWorkerStarted(WorkerSlot slot, Worker worker)
    {
    }

    public override bool TryReplaceProcess(string reason)
    {
        RetireProcess(reason);
        return true;
    }

    public override void OnProcessMemoryExceeded(IEnumerable<(WorkerSlot Slot, Worker Worker)> serving) => RetireProcess(WorkerRecycleReasons.MemoryLimit);

    public override void Dispose()
    {
        _lifetimeTimer?.Dispose();
        Volatile.Read(ref _stopTimer)?.Dispose();
        base.Dispose();
    }

    private void RetireProcess(string reason)
    {
        if (Interlocked.Exchange(ref _retiring, 1) != 0)
        {
            return;
        }

        _metrics.Recycles.Add(1, new KeyValuePair<string, object?>(TracMetrics.RecycleReasonTag, reason));
        WorkerLog.ProcessRecycling(_logger, reason, _settings.ProcessStopDelay);
        Volatile.Write(ref _stopTimer, _timeProvider.CreateTimer(_ => _stopApplication(), null, _settings.ProcessStopDelay, Timeout.InfiniteTimeSpan));
    }
}
