namespace Trac.Hosting.Environments;

/// <summary>
/// Runs an action once a burst of triggers has been quiet for a delay, on a <see cref="TimeProvider"/> timer.
/// File watchers report a single save as several events, the first one often before the file is written.
/// </summary>
internal sealed class Debouncer : IDisposable
{
    private readonly ITimer _timer;
    private readonly TimeSpan _delay;

    public Debouncer(TimeProvider timeProvider, TimeSpan delay, Action action)
    {
        _delay = delay;
        _timer = timeProvider.CreateTimer(_ => action(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>(Re)starts the quiet period; the action runs when it ends.</summary>
    public void Trigger()
    {
        try
        {
            _timer.Change(_delay, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // A watcher event that arrives while its owner shuts down.
        }
    }

    public void Dispose() => _timer.Dispose();
}
