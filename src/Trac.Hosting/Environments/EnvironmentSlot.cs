using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Environments;

/// <summary>
/// One environment directory known to the catalog: opened on first use, cached, and reopened when its
/// <c>conf/trac.ini</c> or <c>VERSION</c> changes. Readers never lock; a reload swaps the state atomically.
/// </summary>
internal sealed class EnvironmentSlot : IDisposable
{
    private readonly Func<EnvironmentSlot, IChangeToken> _watch;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private volatile EnvironmentState? _state;
    private CancellationTokenSource _changed = new();
    private IDisposable? _watchRegistration;
    private bool _disposed;

    public EnvironmentSlot(string name, string path, Uri? baseUrl, Func<EnvironmentSlot, IChangeToken> watch, TimeProvider timeProvider, ILogger logger)
    {
        Name = name;
        Path = path;
        BaseUrl = baseUrl;
        Segment = new PathString("/" + name);
        _watch = watch;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public string Name { get; }

    public string Path { get; }

    public Uri? BaseUrl { get; }

    /// <summary>Gets <c>/name</c>, the segment moved from <c>Path</c> to <c>PathBase</c>.</summary>
    public PathString Segment { get; }

    /// <summary>Gets the current state, opening the environment on first use.</summary>
    public EnvironmentState State => _state ?? Open();

    /// <summary>Gets whether the environment has been opened (successfully or not).</summary>
    public bool IsOpened => _state is not null;

    /// <summary>Returns a token that fires when this slot's state is replaced by a reload.</summary>
    public IChangeToken GetChangeToken()
    {
        lock (_gate)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _watchRegistration?.Dispose();
            _watchRegistration = null;
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
                _watchRegistration = ChangeToken.OnChange(() => _watch(this), Reload);
            }

            state = EnvironmentLoader.Load(Name, Path, BaseUrl, _timeProvider);
            if (state.Error is not null)
            {
                Log.EnvironmentOpenFailed(_logger, Name, Path, state.Error, state.ErrorDetail);
            }

            _state = state;
            return state;
        }
    }

    private void Reload()
    {
        CancellationTokenSource changed;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var previous = _state;
            var next = EnvironmentLoader.Load(Name, Path, BaseUrl, _timeProvider);
            if (next.Environment is null && previous?.Environment is not null)
            {
                // A half-written or broken trac.ini must not take a working project down: keep the last good one.
                Log.ReloadFailedKeepingLastGood(_logger, Name, Path, next.Error!, next.ErrorDetail);
                return;
            }

            Log.EnvironmentReloaded(_logger, Name, Path);
            if (next.Error is not null)
            {
                Log.EnvironmentOpenFailed(_logger, Name, Path, next.Error, next.ErrorDetail);
            }

            _state = next;
            changed = _changed;
            _changed = new CancellationTokenSource();
        }

        changed.Cancel();
    }
}
