namespace Trac.Hosting.Testing;

/// <summary>
/// A <see cref="TimeProvider"/> whose time moves only when a test says so, for testing time-driven behaviour
/// (re-scans, retries, reload delays) without sleeping. Timers created from it fire synchronously, on the thread
/// that calls <see cref="Advance"/>, in the order they fall due.
/// </summary>
/// <example>
/// <code>
/// var time = new ManualTimeProvider();
/// services.AddSingleton&lt;TimeProvider&gt;(time);    // before AddTrac()
/// // ...
/// time.Advance(TimeSpan.FromSeconds(30));            // runs every timer due in those 30 seconds
/// </code>
/// </example>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now;
    private long _timestamp;

    /// <summary>Creates a provider whose clock starts at <paramref name="start"/>.</summary>
    /// <param name="start">The initial time; by default 2000-01-01 00:00 UTC.</param>
    public ManualTimeProvider(DateTimeOffset? start = null)
    {
        _now = start ?? new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }

    /// <summary>
    /// Creates a provider whose clock starts at the real current time (whole seconds), so cookies, tokens and
    /// certificates an app issues under it are valid for clients that judge them by the real clock.
    /// </summary>
    /// <returns>The provider.</returns>
    public static ManualTimeProvider StartingNow()
    {
        var now = TimeProvider.System.GetUtcNow();
        return new ManualTimeProvider(now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond)));
    }

    /// <summary>
    /// Moves the clock forward <paramref name="step"/> at a time until <paramref name="task"/> completes, letting
    /// the code under test run between steps (a short real pause), for work that is driven by the clock but finishes
    /// on other threads, such as a reload that waits for a quiet period and then reads files. Gives up after
    /// <paramref name="timeout"/> of real time, or once the clock has moved <paramref name="limit"/>.
    /// </summary>
    /// <param name="task">What to wait for, such as <c>logs.WaitForNextAsync("EnvironmentReloaded")</c>.</param>
    /// <param name="step">How far to move the clock each time; a step at or under the delays being waited out keeps their order.</param>
    /// <param name="limit">How far the clock may move in all; 1 hour by default.</param>
    /// <param name="timeout">How long to wait in real time; 30 seconds by default.</param>
    /// <returns>A task that completes as <paramref name="task"/> does.</returns>
    /// <exception cref="TimeoutException">The task did not complete in time or within <paramref name="limit"/>.</exception>
    public async Task AdvanceUntilAsync(Task task, TimeSpan step, TimeSpan? limit = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(step, TimeSpan.Zero);
        var remaining = limit ?? TimeSpan.FromHours(1);
        var deadline = TimeProvider.System.GetTimestamp() + (long)((timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (!task.IsCompleted)
        {
            if (remaining < step || TimeProvider.System.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"The awaited work did not finish after the clock moved {(limit ?? TimeSpan.FromHours(1)) - remaining} in steps of {step}.");
            }

            Advance(step);
            remaining -= step;

            // Real time for the work the step released (continuations, file reads) before judging it.
            await Task.WhenAny(task, Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System)).ConfigureAwait(false);
        }

        await task.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc />
    /// <value><see cref="TimeSpan.TicksPerSecond"/>: a timestamp is a count of 100-nanosecond ticks.</value>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    /// <inheritdoc />
    public override long GetTimestamp()
    {
        lock (_gate)
        {
            return _timestamp;
        }
    }

    /// <summary>
    /// Moves the clock forward by <paramref name="delta"/>, running every timer that falls due on the way (a
    /// periodic timer as many times as its period fits).
    /// </summary>
    /// <param name="delta">How far to move; not negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delta"/> is negative.</exception>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        long target;
        lock (_gate)
        {
            target = _timestamp + delta.Ticks;
        }

        while (true)
        {
            ManualTimer? due;
            lock (_gate)
            {
                due = _timers.Where(t => t.DueAt is { } at && at <= target).MinBy(t => t.DueAt);
                if (due is null)
                {
                    Move(target);
                    return;
                }

                Move(due.DueAt!.Value);
                due.DueAt = due.Period > TimeSpan.Zero ? due.DueAt + due.Period.Ticks : null;
            }

            due.Fire();
        }
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        lock (_gate)
        {
            _timers.Add(timer);
        }

        return timer;
    }

    private void Move(long timestamp)
    {
        // Only forward: another thread's Advance (or a timer callback's) may already have moved past this point.
        if (timestamp > _timestamp)
        {
            _now += TimeSpan.FromTicks(timestamp - _timestamp);
            _timestamp = timestamp;
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        private bool _disposed;

        public long? DueAt { get; set; }

        public TimeSpan Period { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                if (_disposed)
                {
                    return false;
                }

                DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : owner._timestamp + Math.Max(0, dueTime.Ticks);
                Period = period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period;
                return true;
            }
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (owner._gate)
            {
                _disposed = true;
                owner._timers.Remove(this);
                DueAt = null;
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
