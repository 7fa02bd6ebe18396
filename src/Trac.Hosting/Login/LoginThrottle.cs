using System.Collections.Concurrent;
using System.Net;

namespace Trac.Hosting.Login;

/// <summary>
/// Login attempts, throttled per client address and per user: each key has a token bucket of <c>maxFailures</c>
/// tokens and time gives one back per <c>period</c>. An attempt takes a token from both before any password is checked
/// (<see cref="TryBegin"/>), so attempts sent at once cannot all pass while the first are still hashing; a successful
/// one gives them back (<see cref="Succeeded"/>). A key without a token is throttled: no hash work for a guesser.
/// The buckets are computed from the <see cref="TimeProvider"/> when read, so a manual clock drives them in tests (the
/// limiters of <c>System.Threading.RateLimiting</c> refill by the system clock only); full buckets are forgotten, at
/// most once a period, so memory follows the failing keys. IPv6 addresses count per /64 (one host's block), and an
/// IPv4-mapped address as its IPv4 address.
/// </summary>
internal sealed class LoginThrottle(TimeProvider timeProvider, int maxFailures, TimeSpan period)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private long _lastSweep = timeProvider.GetTimestamp();

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

    /// <summary>
    /// Takes a token for an attempt from the address's bucket and the user's; <see langword="false"/> (nothing taken)
    /// when either has none left: the attempt is throttled.
    /// </summary>
    public bool TryBegin(IPAddress? address, string user)
    {
        var (addressKey, userKey) = (AddressKey(address), UserKey(user));
        if (!TryTake(addressKey))
        {
            return false;
        }

        if (!TryTake(userKey))
        {
            Give(addressKey);
            return false;
        }

        if (_buckets.Count > 10_000 && timeProvider.GetElapsedTime(Interlocked.Read(ref _lastSweep)) >= period)
        {
            Sweep();
        }

        return true;
    }

    /// <summary>Gives back the tokens of an attempt that succeeded.</summary>
    public void Succeeded(IPAddress? address, string user)
    {
        Give(AddressKey(address));
        Give(UserKey(user));
    }

    /// <summary>Returns whether the address or the user has no token left now (after a failed attempt: it just became throttled).</summary>
    public bool IsThrottled(IPAddress? address, string user) => Tokens(AddressKey(address)) < 1 || Tokens(UserKey(user)) < 1;

    private static string AddressKey(IPAddress? address)
    {
        if (address is null)
        {
            return "a:local";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            Span<byte> bytes = stackalloc byte[16];
            address.TryWriteBytes(bytes, out _);
            bytes[8..].Clear();
            address = new IPAddress(bytes);
        }

        return "a:" + address;
    }

    private static string UserKey(string user) => "u:" + user;

    private double Tokens(string key) => _buckets.TryGetValue(key, out var bucket) ? Refilled(bucket) : maxFailures;

    private double Refilled(Bucket bucket)
    {
        var elapsed = timeProvider.GetElapsedTime(bucket.At);
        return Math.Min(maxFailures, bucket.Tokens + (elapsed.Ticks / (double)period.Ticks));
    }

    // Compare-and-swap on the key's bucket: concurrent attempts each see the tokens the others left.
    private bool TryTake(string key)
    {
        while (true)
        {
            var now = timeProvider.GetTimestamp();
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                if (_buckets.TryAdd(key, new Bucket(maxFailures - 1, now)))
                {
                    return true;
                }

                continue;
            }

            var tokens = Refilled(bucket);
            if (tokens < 1)
            {
                return false;
            }

            if (_buckets.TryUpdate(key, new Bucket(tokens - 1, now), bucket))
            {
                return true;
            }
        }
    }

    private void Give(string key)
    {
        while (_buckets.TryGetValue(key, out var bucket))
        {
            var tokens = Math.Min(maxFailures, Refilled(bucket) + 1);
            if (_buckets.TryUpdate(key, new Bucket(tokens, timeProvider.GetTimestamp()), bucket))
            {
                return;
            }
        }
    }

    private void Sweep()
    {
        Interlocked.Exchange(ref _lastSweep, timeProvider.GetTimestamp());
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
