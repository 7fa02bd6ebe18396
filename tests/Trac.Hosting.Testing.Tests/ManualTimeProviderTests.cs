namespace Trac.Hosting.Testing.Tests;

public sealed class ManualTimeProviderTests
{
    [Fact]
    public void Clock_MovesOnlyOnAdvance()
    {
        var start = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
        var time = new ManualTimeProvider(start);
        var stamp = time.GetTimestamp();

        Assert.Equal(start, time.GetUtcNow());
        time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(start.AddMinutes(5), time.GetUtcNow());
        Assert.Equal(TimeSpan.FromMinutes(5), time.GetElapsedTime(stamp));
    }

    [Fact]
    public void OneShotTimer_FiresOnceWhenDue()
    {
        var time = new ManualTimeProvider();
        var fired = new List<DateTimeOffset>();
        using var timer = time.CreateTimer(_ => fired.Add(time.GetUtcNow()), null, TimeSpan.FromSeconds(10), Timeout.InfiniteTimeSpan);

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Empty(fired);
        time.Advance(TimeSpan.FromSeconds(100));

        Assert.Equal([new DateTimeOffset(2000, 1, 1, 0, 0, 10, TimeSpan.Zero)], fired);
    }

    [Fact]
    public void PeriodicTimer_FiresForEveryPeriodInTheAdvance()
    {
        var time = new ManualTimeProvider();
        var count = 0;
        using var timer = time.CreateTimer(_ => count++, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        time.Advance(TimeSpan.FromSeconds(3.5));

        Assert.Equal(3, count);
    }

    [Fact]
    public void Timers_FireInDueOrder()
    {
        var time = new ManualTimeProvider();
        var order = new List<string>();
        using var late = time.CreateTimer(_ => order.Add("late"), null, TimeSpan.FromSeconds(2), Timeout.InfiniteTimeSpan);
        using var early = time.CreateTimer(_ => order.Add("early"), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);

        time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(["early", "late"], order);
    }

    [Fact]
    public void ChangedAndDisposedTimers_Behave()
    {
        var time = new ManualTimeProvider();
        var count = 0;
        var timer = time.CreateTimer(_ => count++, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);

        Assert.True(timer.Change(TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan));
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(0, count);
        timer.Dispose();
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(0, count);
        Assert.False(timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
    }

    [Fact]
    public void NegativeAdvance_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ManualTimeProvider().Advance(TimeSpan.FromTicks(-1)));
    }

    [Fact]
    public void StartingNow_StartsAtTheRealTimeInWholeSeconds()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var now = ManualTimeProvider.StartingNow().GetUtcNow();

        Assert.InRange(now, before, DateTimeOffset.UtcNow);
        Assert.Equal(0, now.Ticks % TimeSpan.TicksPerSecond);
    }

    [Fact]
    public async Task AdvanceUntil_MovesTheClockUntilWorkOnAnotherThreadFinishes()
    {
        var time = new ManualTimeProvider();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // A quiet period of 1 second on the clock, then work on the thread pool: what a reload does.
        using var timer = time.CreateTimer(_ => ThreadPool.QueueUserWorkItem(_ => done.SetResult()), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        await time.AdvanceUntilAsync(done.Task, TimeSpan.FromMilliseconds(250));

        Assert.True(done.Task.IsCompletedSuccessfully);
        Assert.InRange(time.GetTimestamp(), TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromSeconds(30).Ticks);
    }

    [Fact]
    public async Task AdvanceUntil_GivesUpAtTheLimit()
    {
        var time = new ManualTimeProvider();
        var never = new TaskCompletionSource();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => time.AdvanceUntilAsync(never.Task, TimeSpan.FromSeconds(1), limit: TimeSpan.FromSeconds(5)));

        Assert.Equal(TimeSpan.FromSeconds(5).Ticks, time.GetTimestamp());
        Assert.Contains("moved 00:00:05", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdvanceUntil_PassesOnTheTasksFailure()
    {
        var time = new ManualTimeProvider();

        await Assert.ThrowsAsync<InvalidOperationException>(() => time.AdvanceUntilAsync(Task.FromException(new InvalidOperationException("x")), TimeSpan.FromSeconds(1)));
        Assert.Equal(0, time.GetTimestamp());
    }

    [Fact]
    public void AnAdvanceFromATimerCallback_IsNeverUndone()
    {
        var time = new ManualTimeProvider();
        using var timer = time.CreateTimer(_ => time.Advance(TimeSpan.FromSeconds(10)), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);

        time.Advance(TimeSpan.FromSeconds(2));

        // The callback moved the clock to 11 s; the outer advance, aiming at 2 s, must not move it back.
        Assert.Equal(TimeSpan.FromSeconds(11).Ticks, time.GetTimestamp());
    }
}
