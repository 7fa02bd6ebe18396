using Trac.Hosting.Environments;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Environments;

public sealed class DebouncerTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(200);

    [Fact]
    public void Action_RunsOnceTheTriggersHaveBeenQuietForTheDelay()
    {
        var time = new FakeTimeProvider();
        var runs = 0;
        using var debouncer = new Debouncer(time, Delay, () => runs++);

        debouncer.Trigger();
        time.Advance(TimeSpan.FromMilliseconds(150));
        debouncer.Trigger();
        time.Advance(TimeSpan.FromMilliseconds(150));
        Assert.Equal(0, runs);

        time.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Equal(1, runs);

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, runs);
    }

    [Fact]
    public void TriggerAfterARun_RunsAgain()
    {
        var time = new FakeTimeProvider();
        var runs = 0;
        using var debouncer = new Debouncer(time, Delay, () => runs++);

        debouncer.Trigger();
        time.Advance(Delay);
        debouncer.Trigger();
        time.Advance(Delay);

        Assert.Equal(2, runs);
    }

    [Fact]
    public void TriggerAfterDispose_IsIgnored()
    {
        var time = new FakeTimeProvider();
        var runs = 0;
        var debouncer = new Debouncer(time, Delay, () => runs++);
        debouncer.Dispose();

        debouncer.Trigger();
        time.Advance(Delay);

        Assert.Equal(0, runs);
    }
}
