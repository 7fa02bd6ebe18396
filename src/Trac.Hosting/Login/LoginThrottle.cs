using System.Collections.Concurrent;

namespace Trac.Hosting.Login;

/// <summary>
/// Failed logins, throttled per client address and per user: each key has a token bucket of <c>maxFailures</c>
/// tokens that a failure takes and time gives back, one per <c>period</c>. A key without tokens is throttled: its next
/// attempt is refused before any password is checked (no hash work for a guesser). The buckets are computed from the
/// <see cref="TimeProvider"/> when read, so a manual clock drives them in tests (the limiters of
/// <c>System.Threading.RateLimiting</c> refill by the system clock only); a bucket that is full again is forgotten, so
/// memory follows the failing keys.
/// </summary>
internal sealed class LoginThrottle(TimeProvider timeProvider, int maxFailures, TimeSpan period)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>Gets how many failures a key may have before it is throttled.</summary>
    public int MaxFailures => maxFailures;

    /// <summary>Gets how long until a throttled key may try again (at most).</summary>
    public TimeSpan Period => period;

    /// <summary>Gets how many keys have failures remembered (for tests).</summary>
    internal int Remembered
    {
        get
        {
            Sweep();
            return _buckets.Count;
        }
    }

    /// <summary>Returns whether the client address or the user is throttled now.</summary>
    public bool IsThrottled(string address, string user) => Tokens(AddressKey(address)) < 1 || Tokens(UserKey(user)) < 1;

    /// <summary>Counts a failed attempt against the address and the user; returns whether the address or the user is throttled now.</summary>
    public bool Failed(string address, string user)
    {
        Take(AddressKey(address));
        Take(UserKey(user));
        if (_buckets.Count > 10_000)
        {
            Sweep();
        }

        return IsThrottled(address, user);
    }

    private static string AddressKey(string address) => "a:" + address;

    private static string UserKey(string user) => "u:" + user;

    private double Tokens(string key) => _buckets.TryGetValue(key, out var bucket) ? Refilled(bucket) : maxFailures;

    private double Refilled(Bucket bucket)
    {
        var elapsed = timeProvider.GetElapsedTime(bucket.At);
        return Math.Min(maxFailures, bucket.Tokens + (elapsed.Ticks / (double)period.Ticks));
    }

    private void Take(string key)
    {
        var now = timeProvider.GetTimestamp();
        _buckets.AddOrUpdate(
            key,
            static (_, state) => new Bucket(state.Max - 1, state.Now),
            static (_, bucket, state) => new Bucket(Math.Max(0, state.Throttle.Refilled(bucket) - 1), state.Now),
            (Max: (double)maxFailures, Now: now, Throttle: this));
    }

    private void Sweep()
    {
        foreach (var (key, bucket) in _buckets)
        {
            if (Refilled(bucket) >= maxFailures)
            {
                _buckets.TryRemove(new(key, bucket));
            }
        }
    }

    private sealed record Bucket(double Tokens, long At);
}
