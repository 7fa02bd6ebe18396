namespace Trac.Hosting.Testing.Tests;

/// <summary>What the kit adds to FakeTimeProvider: a clock at the real time, and advancing until work finishes.</summary>
public sealed class TracTestTimeTests
{
    [Fact]
    public void StartingNow_StartsAtTheRealTimeInWholeSeconds()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var now = TracTestTime.StartingNow().GetUtcNow();

        Assert.InRange(now, before, DateTimeOffset.UtcNow);
        Assert.Equal(0, now.Ticks % TimeSpan.TicksPerSecond);
    }

    [Fact]
    public async Task AdvanceUntil_MovesTheClockUntilWorkOnAnotherThreadFinishes()
    {
        var time = new FakeTimeProvider();
        var start = time.GetTimestamp();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // A quiet period of 1 second on the clock, then work on the thread pool: what a reload does.
        using var timer = time.CreateTimer(_ => ThreadPool.QueueUserWorkItem(_ => done.SetResult()), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        await time.AdvanceUntilAsync(done.Task, TimeSpan.FromMilliseconds(250));

        Assert.True(done.Task.IsCompletedSuccessfully);
        Assert.InRange(time.GetElapsedTime(start), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AdvanceUntil_GivesUpAtTheLimit()
    {
        var time = new FakeTimeProvider();
        var start = time.GetTimestamp();
        var never = new TaskCompletionSource();

        var error = await Assert.ThrowsAsync<TimeoutException>(() => time.AdvanceUntilAsync(never.Task, TimeSpan.FromSeconds(1), limit: TimeSpan.FromSeconds(5)));

        Assert.Equal(TimeSpan.FromSeconds(5), time.GetElapsedTime(start));
        Assert.Contains("moved 00:00:05", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdvanceUntil_PassesOnTheTasksFailure()
    {
        var time = new FakeTimeProvider();
        var start = time.GetTimestamp();

        await Assert.ThrowsAsync<InvalidOperationException>(() => time.AdvanceUntilAsync(Task.FromException(new InvalidOperationException("x")), TimeSpan.FromSeconds(1)));
        Assert.Equal(TimeSpan.Zero, time.GetElapsedTime(start));
    }

    [Fact]
    public async Task AdvanceUntil_RefusesANonPositiveStep()
    {
        var time = new FakeTimeProvider();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => time.AdvanceUntilAsync(Task.CompletedTask, TimeSpan.Zero));
    }
}
