using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Support;

/// <summary>A manual clock that counts the timers made from it and not yet disposed.</summary>
internal sealed class TimerCountingClock : TimeProvider
{
    private int _live;

    public FakeTimeProvider Manual { get; } = new();

    public int LiveTimers => Volatile.Read(ref _live);

    public override long TimestampFrequency => Manual.TimestampFrequency;

    public override long GetTimestamp() => Manual.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => Manual.GetUtcNow();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Interlocked.Increment(ref _live);
        return new Counted(Manual.CreateTimer(callback, state, dueTime, period), this);
    }

    private sealed class Counted(ITimer inner, TimerCountingClock owner) : ITimer
    {
        private int _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref owner._live);
            }

            inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
