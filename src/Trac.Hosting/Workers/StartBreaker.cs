namespace Trac.Hosting.Workers;

/// <summary>
/// The default start pipeline's circuit breaker for one key: a run of consecutive failed start attempts opens it for
/// a break, whatever the key did before. (Polly's breaker trips on a failure ratio over a sampling window, so a key
/// that recycled often before it broke would keep trying for the whole window.) After the break the next attempt runs;
/// its failure opens the breaker again, its success closes it.
/// </summary>
internal sealed class StartBreaker(int threshold, TimeSpan breakDuration, TimeProvider timeProvider)
{
    private readonly object _gate = new();
    private int _failures;
    private long _openUntil;

    /// <summary>Gets whether the last <c>threshold</c> attempts or more failed and none has succeeded since.</summary>
    public bool IsBroken => Volatile.Read(ref _failures) >= threshold;

    /// <summary>Returns how long the breaker stays open, or <see langword="null"/> when an attempt may run now.</summary>
    public TimeSpan? RetryAfter()
    {
        lock (_gate)
        {
            var left = _failures >= threshold ? timeProvider.GetElapsedTime(timeProvider.GetTimestamp(), _openUntil) : TimeSpan.Zero;
            return left > TimeSpan.Zero ? left : null;
        }
    }

    public void OnSuccess()
    {
        lock (_gate)
        {
            _failures = 0;
        }
    }

    public void OnFailure()
    {
        lock (_gate)
        {
            if (++_failures >= threshold)
            {
                _openUntil = timeProvider.GetTimestamp() + (long)(breakDuration.TotalSeconds * timeProvider.TimestampFrequency);
            }
        }
    }
}
