using Microsoft.Extensions.Primitives;

namespace Trac.Hosting.Workers;

/// <summary>
/// Every reason a worker is replaced besides its request count: its lifetime (through the recycle policy), its idle
/// time, its plugins or <c>conf/trac.ini</c> changing, its application ending on its own, and the memory limit.
/// Each trigger calls back into the pool, which queues a replacement on the thread pool; the idle timer retires its
/// worker itself (from the timer's thread), since nothing is started for it.
/// </summary>
internal sealed class RecycleTriggers : IDisposable
{
    private readonly WorkerSettings _settings;
    private readonly IWorkerRecycler _recycler;
    private readonly RecyclePolicy _policy;
    private readonly TimeProvider _timeProvider;
    private readonly ITimer? _memoryTimer;
    private long _memoryRecycleAllowedAt;

    private readonly Func<bool> _outOfProcess;

    // outOfProcess: whether the workers' applications run in processes of their own (known once the pipeline is built).
    public RecycleTriggers(WorkerSettings settings, IWorkerRecycler recycler, RecyclePolicy policy, TimeProvider timeProvider, Func<bool> outOfProcess)
    {
        _outOfProcess = outOfProcess;
        _settings = settings;
        _recycler = recycler;
        _policy = policy;
        _timeProvider = timeProvider;
        if (settings.MemoryLimit > 0)
        {
            _memoryTimer = timeProvider.CreateTimer(_ => CheckMemory(), null, settings.MemoryCheckInterval, settings.MemoryCheckInterval);
        }
    }

    /// <summary>
    /// Arms the triggers of a started worker. <paramref name="configChanged"/> was taken before the worker was built,
    /// so a <c>trac.ini</c> change during the build still replaces it.
    /// </summary>
    public void Subscribe(WorkerSlot slot, Worker worker, IChangeToken? configChanged)
    {
        _policy.OnWorkerStarted(slot, worker);
        if (_settings.IdleTimeout > TimeSpan.Zero)
        {
            worker.AddSubscription(IdleTimer(slot, worker));
        }

        // The set the worker leased: if it was replaced while the worker started, the token has fired already, the
        // callback runs at once, and the pool keeps the recycle until the worker is installed.
        if (_settings.RecycleOnPluginChange && worker.PluginSet is { } set)
        {
            worker.AddSubscription(set.ChangeToken.RegisterChangeCallback(_ => _recycler.Recycle(slot, worker, WorkerRecycleReasons.PluginsChanged), null));
        }

        if (_settings.RecycleOnPluginChange && worker.Application?.Outdated is { CanBeCanceled: true } outdated)
        {
            worker.AddSubscription(outdated.UnsafeRegister(
                static state =>
                {
                    var (recycler, slot, worker) = ((IWorkerRecycler, WorkerSlot, Worker))state!;
                    recycler.ReplaceWorker(slot, worker, WorkerRecycleReasons.PluginsChanged);
                },
                (_recycler, slot, worker)));
        }

        if (configChanged is not null)
        {
            worker.AddSubscription(configChanged.RegisterChangeCallback(_ => _recycler.Recycle(slot, worker, WorkerRecycleReasons.ConfigChanged), null));
        }

        // "I died": an application that can end on its own (a child process) says so; its worker is taken out at once
        // (new requests wait for the replacement rather than fail) and replaced.
        if (worker.Application?.Exited is { CanBeCanceled: true } exited)
        {
            worker.AddSubscription(exited.UnsafeRegister(
                static state =>
                {
                    var (recycler, slot, worker) = ((IWorkerRecycler, WorkerSlot, Worker))state!;
                    recycler.Restart(slot, worker, WorkerRecycleReasons.Crashed);
                },
                (_recycler, slot, worker)));
        }
    }

    public void Dispose() => _memoryTimer?.Dispose();

    private ITimer IdleTimer(WorkerSlot slot, Worker worker)
    {
        ITimer? idle = null;
        idle = _timeProvider.CreateTimer(_ =>
        {
            var quiet = worker.IdleFor;
            if (worker.ActiveRequests == 0 && quiet >= _settings.IdleTimeout)
            {
                _recycler.Retire(slot, worker, WorkerRecycleReasons.InactivityTimeout);
            }
            else if (worker.IsServing)
            {
                idle!.Change(quiet >= _settings.IdleTimeout ? _settings.IdleTimeout : _settings.IdleTimeout - quiet, Timeout.InfiniteTimeSpan);
            }
        }, null, _settings.IdleTimeout, Timeout.InfiniteTimeSpan);
        return idle;
    }

    /// <summary>
    /// Checks the memory limit: each application that reports its own memory against it, then the process's working
    /// set. After a memory recycle the collector gets three intervals before the next judgement, so that one high
    /// reading does not roll through every worker.
    /// </summary>
    private void CheckMemory()
    {
        if (_timeProvider.GetTimestamp() < Volatile.Read(ref _memoryRecycleAllowedAt))
        {
            return;
        }

        var serving = _recycler.Serving.ToList();
        var recycled = false;
        foreach (var (slot, worker) in serving)
        {
            if (worker.Application?.MemoryBytes > _settings.MemoryLimit)
            {
                _recycler.ReplaceWorker(slot, worker, WorkerRecycleReasons.MemoryLimit);
                recycled = true;
            }
        }

        // Workers in processes of their own are judged by their own memory, never by the host's (also while none serves).
        if (!_outOfProcess() && Environment.WorkingSet > _settings.MemoryLimit)
        {
            _policy.OnProcessMemoryExceeded(serving);
            recycled = true;
        }

        if (recycled)
        {
            Volatile.Write(ref _memoryRecycleAllowedAt,
                _timeProvider.GetTimestamp() + (long)(3 * _settings.MemoryCheckInterval.TotalSeconds * _timeProvider.TimestampFrequency));
        }
    }
}
