using Microsoft.Extensions.Time.Testing;

namespace Trac.Hosting.Testing;

/// <summary>
/// What the kit adds to <see cref="FakeTimeProvider"/> (<c>Microsoft.Extensions.TimeProvider.Testing</c>), the clock
/// of its hosts: a clock that starts at the real current time, and moving the clock until work finishes.
/// </summary>
public static class TracTestTime
{
    /// <summary>
    /// Creates a fake clock that starts at the real current time (whole seconds), so cookies, tokens and certificates an
    /// app issues under it are valid for clients that judge them by the real clock.
    /// </summary>
    /// <returns>The clock.</returns>
    public static FakeTimeProvider StartingNow()
    {
        var now = TimeProvider.System.GetUtcNow();
        return new FakeTimeProvider(now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond)));
    }

    /// <summary>
    /// Moves the clock forward <paramref name="step"/> at a time until <paramref name="task"/> completes, letting the
    /// code under test run between steps (a short real pause), for work that is driven by the clock but finishes on
    /// other threads, such as a reload that waits for a quiet period and then reads files. Gives up after
    /// <paramref name="timeout"/> of real time, or once the clock has moved <paramref name="limit"/>.
    /// </summary>
    /// <param name="time">The clock.</param>
    /// <param name="task">What to wait for, such as <c>logs.WaitForNextAsync("EnvironmentReloaded")</c>.</param>
    /// <param name="step">How far to move the clock each time; a step at or under the delays being waited out keeps
    /// their order (<see cref="FakeTimeProvider.Advance(TimeSpan)"/> runs every timer due within one step at its end).</param>
    /// <param name="limit">How far the clock may move in all; 1 hour by default.</param>
    /// <param name="timeout">How long to wait in real time; 30 seconds by default.</param>
    /// <returns>A task that completes as <paramref name="task"/> does.</returns>
    /// <exception cref="TimeoutException">The task did not complete in time or within <paramref name="limit"/>.</exception>
    public static async Task AdvanceUntilAsync(this FakeTimeProvider time, Task task, TimeSpan step, TimeSpan? limit = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(time);
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

            time.Advance(step);
            remaining -= step;

            // Real time for the work the step released (continuations, file reads) before judging it.
            await Task.WhenAny(task, Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System)).ConfigureAwait(false);
        }

        await task.ConfigureAwait(false);
    }
}
