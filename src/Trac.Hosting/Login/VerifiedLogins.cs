using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Trac.Hosting.Login;

/// <summary>
/// (file, user, password) triples verified recently, so that a busy site on a bcrypt file does not pay a hash for
/// every request of a logged-in user. Only a keyed HMAC of the triple is kept (the key is random per process), each
/// for <c>lifetime</c>; at most <c>capacity</c> entries (beyond it, the expired go, and if that is not enough, all).
/// A changed file is a new content: <see cref="Forget"/> drops everything.
/// </summary>
internal sealed class VerifiedLogins(TimeProvider timeProvider, TimeSpan lifetime, int capacity)
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, long> _verified = new(StringComparer.Ordinal);

    /// <summary>Returns whether the triple was verified within the lifetime.</summary>
    public bool Contains(string file, string user, string password) =>
        _verified.TryGetValue(Key(file, user, password), out var expires) && timeProvider.GetTimestamp() < expires;

    /// <summary>Remembers a verified triple.</summary>
    public void Add(string file, string user, string password)
    {
        if (_verified.Count >= capacity)
        {
            var now = timeProvider.GetTimestamp();
            foreach (var (key, expires) in _verified)
            {
                if (expires <= now)
                {
                    _verified.TryRemove(key, out _);
                }
            }

            if (_verified.Count >= capacity)
            {
                _verified.Clear();
            }
        }

        _verified[Key(file, user, password)] = timeProvider.GetTimestamp() + (long)(lifetime.TotalSeconds * timeProvider.TimestampFrequency);
    }

    /// <summary>Forgets every verified triple (a password file changed).</summary>
    public void Forget() => _verified.Clear();

    /// <summary>Gets how many triples are remembered (for tests).</summary>
    internal int Count => _verified.Count;

    private string Key(string file, string user, string password) =>
        Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"{file.Length}:{file}\n{user.Length}:{user}\n{password}")));
}
