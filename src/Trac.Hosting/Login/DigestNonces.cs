using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Trac.Hosting.Login;

/// <summary>
/// The server nonces of Digest logins: each one names when it was made and is signed with a key of this process
/// (so nothing is stored per challenge), expires after <c>lifetime</c> (a client then gets <c>stale=true</c> and asks
/// again without the user retyping), and each nonce count (<c>nc</c>) is accepted once and only upward, so a replayed
/// request is refused. What it remembers of counts is bounded by the nonces in their lifetime.
/// </summary>
internal sealed class DigestNonces(TimeProvider timeProvider, TimeSpan lifetime)
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    // Per nonce: the last count accepted, and when the nonce was made (so forgetting needs no decoding).
    private readonly ConcurrentDictionary<string, (long Count, DateTimeOffset Made)> _counts = new(StringComparer.Ordinal);
    private long _lastSweepTicks;

    /// <summary>Makes a new nonce.</summary>
    public string Create()
    {
        Span<byte> nonce = stackalloc byte[8 + 16 + 16];
        BinaryPrimitives.WriteInt64BigEndian(nonce, timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        RandomNumberGenerator.Fill(nonce.Slice(8, 16));
        HMACSHA256.HashData(_key, nonce[..24])[..16].CopyTo(nonce[24..]);
        return Convert.ToBase64String(nonce).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Checks a nonce and its count from a client's answer.</summary>
    public DigestNonceCheck Check(string nonce, string nonceCount)
    {
        if (!TryDecode(nonce, out var bytes) || bytes.Length != 40 ||
            !CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(_key, bytes.AsSpan(0, 24)).AsSpan(0, 16), bytes.AsSpan(24)))
        {
            return DigestNonceCheck.Invalid;
        }

        var made = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(bytes));
        var now = timeProvider.GetUtcNow();
        Forget(now);
        if (now - made > lifetime)
        {
            _counts.TryRemove(nonce, out _);
            return DigestNonceCheck.Stale;
        }

        if (nonceCount.Length != 8 || !long.TryParse(nonceCount, System.Globalization.NumberStyles.AllowHexSpecifier, null, out var count) || count < 1)
        {
            return DigestNonceCheck.Invalid;
        }

        // Upward only: a count seen before (a replay) or lower is refused.
        while (true)
        {
            if (_counts.TryGetValue(nonce, out var last))
            {
                if (count <= last.Count)
                {
                    return DigestNonceCheck.Replayed;
                }

                if (_counts.TryUpdate(nonce, (count, made), last))
                {
                    return DigestNonceCheck.Valid;
                }
            }
            else if (_counts.TryAdd(nonce, (count, made)))
            {
                return DigestNonceCheck.Valid;
            }
        }
    }

    /// <summary>Gets how many nonces' counts are remembered (for tests).</summary>
    internal int Remembered => _counts.Count;

    private void Forget(DateTimeOffset now)
    {
        // Only when many are remembered, and at most once a tenth of the lifetime: a sweep reads every entry.
        var last = Interlocked.Read(ref _lastSweepTicks);
        if (_counts.Count < 1024 || now.UtcTicks - last < lifetime.Ticks / 10 ||
            Interlocked.CompareExchange(ref _lastSweepTicks, now.UtcTicks, last) != last)
        {
            return;
        }

        foreach (var (nonce, entry) in _counts)
        {
            if (now - entry.Made > lifetime)
            {
                _counts.TryRemove(nonce, out _);
            }
        }
    }

    private static bool TryDecode(string nonce, out byte[] bytes)
    {
        var text = nonce.Replace('-', '+').Replace('_', '/');
        text = text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '=');
        bytes = new byte[(text.Length / 4) * 3];
        if (!Convert.TryFromBase64String(text, bytes, out var written))
        {
            return false;
        }

        bytes = bytes[..written];
        return true;
    }
}

/// <summary>What <see cref="DigestNonces.Check"/> found.</summary>
internal enum DigestNonceCheck
{
    /// <summary>A nonce of this server, in its lifetime, with a count not seen before.</summary>
    Valid,

    /// <summary>Not a nonce of this server (or a malformed count).</summary>
    Invalid,

    /// <summary>A nonce of this server past its lifetime: challenge again with <c>stale=true</c>.</summary>
    Stale,

    /// <summary>A count already used with this nonce: a replayed request.</summary>
    Replayed,
}
