using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Trac.Hosting.Login;

/// <summary>
/// The SHA-256 (<c>$5$</c>, <c>htpasswd -2</c>) and SHA-512 (<c>$6$</c>, <c>htpasswd -5</c>) crypt of glibc: a salt of
/// up to sixteen characters, 5,000 rounds unless the hash says <c>rounds=N$</c>.
/// </summary>
internal static class ShaCrypt
{
    private const int DefaultRounds = 5000;

    private static readonly int[] s_order256 = [0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14, 15, 25, 5, 6, 16, 26, 27, 7, 17, 18, 28, 8, 9, 19, 29];

    private static readonly int[] s_order512 =
    [
        0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48, 28, 49, 7, 50, 8, 29, 9, 30, 51, 31, 52, 10,
        53, 11, 32, 12, 33, 54, 34, 55, 13, 56, 14, 35, 15, 36, 57, 37, 58, 16, 59, 17, 38, 18, 39, 60, 40, 61, 19, 62, 20, 41,
    ];

    /// <summary>Gets the most rounds a hash may ask for: a hostile file cannot make one check take minutes.</summary>
    public const int MaxRounds = 1_000_000;

    /// <summary>
    /// Reads the parameters of a <c>$5$</c> or <c>$6$</c> hash: which digest, its rounds (and whether it names them),
    /// its salt. <see langword="false"/> when it is not such a hash or asks for more than <see cref="MaxRounds"/> rounds.
    /// </summary>
    public static bool TryParse(string hash, out bool sha512, out int rounds, out bool explicitRounds, out string salt)
    {
        sha512 = hash.StartsWith("$6$", StringComparison.Ordinal);
        rounds = DefaultRounds;
        explicitRounds = false;
        salt = string.Empty;
        if (!sha512 && !hash.StartsWith("$5$", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = hash.AsSpan(3);
        if (rest.StartsWith("rounds="))
        {
            var end = rest.IndexOf('$');
            if (end < 0 || !int.TryParse(rest[7..end], NumberStyles.None, CultureInfo.InvariantCulture, out rounds) || rounds > MaxRounds)
            {
                return false;
            }

            rounds = Math.Max(rounds, 1000);
            explicitRounds = true;
            rest = rest[(end + 1)..];
        }

        var saltEnd = rest.IndexOf('$');
        salt = (saltEnd < 0 ? rest : rest[..saltEnd]).ToString();
        if (salt.Length > 16)
        {
            salt = salt[..16];
        }

        return true;
    }

    /// <summary>
    /// Returns the hash of <paramref name="password"/> with the parameters of <paramref name="hash"/> (<c>$5$</c> or
    /// <c>$6$</c>, rounds, salt), or <see langword="null"/> when <see cref="TryParse"/> refuses <paramref name="hash"/>.
    /// </summary>
    public static string? Compute(string password, string hash)
    {
        if (!TryParse(hash, out var sha512, out var rounds, out var explicitRounds, out var salt))
        {
            return null;
        }

        var encoded = Digest(Encoding.UTF8.GetBytes(password), Encoding.UTF8.GetBytes(salt), rounds, sha512);
        var text = new StringBuilder(sha512 ? "$6$" : "$5$");
        if (explicitRounds)
        {
            text.Append("rounds=").Append(rounds.ToString(CultureInfo.InvariantCulture)).Append('$');
        }

        text.Append(salt).Append('$');
        var order = sha512 ? s_order512 : s_order256;
        for (var i = 0; i < order.Length; i += 3)
        {
            CryptAlphabet.Append(text, encoded[order[i]], encoded[order[i + 1]], encoded[order[i + 2]], 4);
        }

        if (sha512)
        {
            CryptAlphabet.Append(text, 0, 0, encoded[63], 2);
        }
        else
        {
            CryptAlphabet.Append(text, 0, encoded[31], encoded[30], 3);
        }

        return text.ToString();
    }

    private static byte[] Digest(byte[] key, byte[] salt, int rounds, bool sha512)
    {
        var size = sha512 ? 64 : 32;
        byte[] Hash(byte[] data) => sha512 ? SHA512.HashData(data) : SHA256.HashData(data);

        var alternate = Hash([.. key, .. salt, .. key]);
        var a = new List<byte>(key.Length * 4 + salt.Length + size);
        a.AddRange(key);
        a.AddRange(salt);
        for (var left = key.Length; left > 0; left -= size)
        {
            a.AddRange(alternate.AsSpan(0, Math.Min(left, size)).ToArray());
        }

        for (var bits = key.Length; bits > 0; bits >>= 1)
        {
            a.AddRange((bits & 1) != 0 ? alternate : key);
        }

        var digest = Hash([.. a]);
        var p = Repeat(Hash(Enumerable.Repeat(key, key.Length).SelectMany(k => k).ToArray()), key.Length);
        var s = Repeat(Hash(Enumerable.Repeat(salt, 16 + digest[0]).SelectMany(x => x).ToArray()), salt.Length);
        // The rounds through one reused hash: no allocation per round.
        using var hash = IncrementalHash.CreateHash(sha512 ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256);
        for (var round = 0; round < rounds; round++)
        {
            hash.AppendData((round & 1) != 0 ? p : digest);
            if (round % 3 != 0)
            {
                hash.AppendData(s);
            }

            if (round % 7 != 0)
            {
                hash.AppendData(p);
            }

            hash.AppendData((round & 1) != 0 ? digest : p);
            hash.GetHashAndReset(digest);
        }

        return digest;
    }

    private static byte[] Repeat(byte[] block, int length)
    {
        var result = new byte[length];
        for (var i = 0; i < length; i++)
        {
            result[i] = block[i % block.Length];
        }

        return result;
    }
}
