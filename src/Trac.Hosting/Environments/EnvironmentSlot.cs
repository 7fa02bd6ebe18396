using Trac.Hosting.Common;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Environments;

/// <summary>
/// One environment directory known to the catalog: opened on first use, cached, and reopened when its
/// <c>conf/trac.ini</c> or <c>VERSION</c> changes. Readers never lock; a reload swaps the state atomically.
/// An environment that failed to open is retried on request at most once per re-scan interval.
/// </summary>
internal sealed class EnvironmentSlot : IDisposable
{
    private readonly Func<EnvironmentSlot, IChangeToken> _watch;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _retryInterval;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly Debouncer _reload;
    private volatile EnvironmentState? _state;
    private TracEnvironmentFeature? _lastRequest;
    private long _openedAt;
    private readonly ChangeSignal _changed = new();
    private IDisposable? _watchRegistration;
    private bool _disposed;
    private int _removedLogged;

    public EnvironmentSlot(string name, string path, Uri? baseUrl, Func<EnvironmentSlot, IChangeToken> watch, EnvironmentSettings settings, TimeProvider timeProvider, ILogger logger)
    {
        Name = name;
        Path = path;
        BaseUrl = baseUrl;
        Segment = new PathString("/" + name);
        _watch = watch;
        _timeProvider = timeProvider;
        _retryInterval = settings.RescanInterval;
        _logger = logger;
        _reload = new Debouncer(timeProvider, settings.ReloadDelay, () => Reload(retry: false));
    }

    public string Name { get; }

    public string Path { get; }

    public Uri? BaseUrl { get; }

    /// <summary>Gets <c>/name</c>, the segment moved from <c>Path</c> to <c>PathBase</c>.</summary>
    public PathString Segment { get; }

    /// <summary>
    /// Gets or sets the feature of the latest request resolved to this slot, for the next request with the same path
    /// to reuse. Any thread may replace it; every value it ever holds is a complete, immutable feature.
    /// </summary>
    public TracEnvironmentFeature? LastRequest
    {
        get => Volatile.Read(ref _lastRequest);
        set => Volatile.Write(ref _lastRequest, value);
    }

    /// <summary>Gets the current state, opening the environment on first use.</summary>
    public EnvironmentState State
    {
        get
        {
            var state = _state;
            if (state is null)
            {
                return Open();
            }

            if (state.Environment is null && _retryInterval > TimeSpan.Zero &&
                _timeProvider.GetElapsedTime(Volatile.Read(ref _openedAt)) >= _retryInterval)
            {
                // A broken environment costs a file-system look at most once per interval, and can come back
                // even where no watcher sees it being fixed (a path chosen per request that did not exist yet).
                Reload(retry: true);
                return _state!;
            }

            return state;
        }
    }

    /// <summary>Returns a token that fires when this slot's state is replaced by a reload.</summary>
    public IChangeToken GetChangeToken() => _changed.GetChangeToken();

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _watchRegistration?.Dispose();
            _watchRegistration = null;
        }

        _reload.Dispose();
    }

    /// <summary>
    /// Logs once that the environment's directory is gone, whichever notices first: its own reload, or the listing
    /// refresh that drops it.
    /// </summary>
    public void ReportRemoved()
    {
        if (Interlocked.Exchange(ref _removedLogged, 1) == 0)
        {
            EnvironmentLog.EnvironmentRemoved(_logger, Name, Path);
        }
    }

    private EnvironmentState Open()
    {
        lock (_gate)
        {
            if (_state is { } state)
            {
                return state;
            }

            // Watch before reading, so a change made while the files are read is not missed.
            if (!_disposed)
            {
                _watchRegistration = ChangeToken.OnChange(() => _watch(this), _reload.Trigger);
            }

            state = Load();
            LogIfFailed(state);
            _state = state;
            return state;
        }
    }

    private void Reload(bool retry)
    {
        lock (_gate)
        {
            var previous = _state;
            if (_disposed || previous is null || (retry && previous.Environment is not null))
            {
                return;
            }

            var next = Load();
            if (next.Environment is null && previous.Environment is not null)
            {
                // A broken trac.ini must not take a working project down: keep the last good one. A deleted project
                // is not broken: it is said so, and the listing's refresh drops it.
                if (Directory.Exists(Path))
                {
                    EnvironmentLog.ReloadFailedKeepingLastGood(_logger, Name, Path, next.Error!, next.ErrorDetail);
                }
                else
                {
                    ReportRemoved();
                }

                return;
            }

            if (retry && next.Environment is null && next.Error == previous.Error)
            {
                return;
            }

            Volatile.Write(ref _removedLogged, 0);
            EnvironmentLog.EnvironmentReloaded(_logger, Name, Path);
            LogIfFailed(next);
            _state = next;
        }

        _changed.Signal();
    }

    private EnvironmentState Load()
    {
        var state = EnvironmentLoader.Load(Name, Path, BaseUrl, _timeProvider);
        Volatile.Write(ref _openedAt, _timeProvider.GetTimestamp());
        return state;
    }

    private void LogIfFailed(EnvironmentState state)
    {
        if (state.Error is not null)
        {
            EnvironmentLog.EnvironmentOpenFailed(_logger, Name, Path, state.Error, state.ErrorDetail);
        }
    }
}
