using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Trac.Hosting.Login;

/// <summary>
/// The hashes Apache's <c>htpasswd</c> writes, recognized and checked: bcrypt (<c>$2y$</c>, <c>-B</c>), MD5
/// (<c>$apr1$</c>, <c>-m</c>, the default; also <c>$1$</c>), SHA-256 and SHA-512 crypt (<c>$5$</c>, <c>-2</c>;
/// <c>$6$</c>, <c>-5</c>), SHA-1 (<c>{SHA}</c>, <c>-s</c>), and plain text only where Apache accepts it (Windows).
/// DES crypt (<c>-d</c>) is refused, as is a bcrypt cost above <see cref="MaxBcryptCost"/>.
/// </summary>
internal static class PasswordHashes
{
    /// <summary>The highest bcrypt cost accepted: each step doubles the work, and cost 14 is about a second here.</summary>
    public const int MaxBcryptCost = 14;

    /// <summary>Returns why a hash cannot be used (and how to fix it), or <see langword="null"/> when it can.</summary>
    public static string? Refusal(string hash, string user)
    {
        if (hash.StartsWith("$2", StringComparison.Ordinal))
        {
            return hash.Length == 60 && hash[3] == '$' && hash[2] is 'a' or 'b' or 'y' or 'x' &&
                int.TryParse(hash.AsSpan(4, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var cost) && cost >= 4
                ? cost > MaxBcryptCost
                    ? $"its bcrypt cost {cost} is above {MaxBcryptCost}, which would stall the server at every check; re-hash it with a lower cost: htpasswd -B -C 10 <file> {user}"
                    : null
                : "its bcrypt hash is malformed";
        }

        if (hash.StartsWith("$apr1$", StringComparison.Ordinal) || hash.StartsWith("$1$", StringComparison.Ordinal) ||
            hash.StartsWith("{SHA}", StringComparison.Ordinal))
        {
            return null;
        }

        if (hash.StartsWith("$5$", StringComparison.Ordinal) || hash.StartsWith("$6$", StringComparison.Ordinal))
        {
            // Its parameters only: hashing at load would cost a hostile file's rounds for nothing.
            return !ShaCrypt.TryParse(hash, out _, out _, out _, out _)
                ? $"its SHA crypt hash is malformed or asks for more than {ShaCrypt.MaxRounds} rounds"
                : null;
        }

        if (hash.Length == 13 && CryptAlphabet.IsCryptText(hash))
        {
            return $"it is a DES crypt hash (htpasswd -d), which uses only the first 8 characters of a password and is broken; re-hash it: htpasswd -B <file> {user}";
        }

        if (hash.StartsWith('$'))
        {
            return "its hash is of a kind htpasswd does not write";
        }

        return OperatingSystem.IsWindows() ? null : $"a plain-text password is accepted on Windows only (as by Apache); hash it: htpasswd -B <file> {user}";
    }

    /// <summary>
    /// Returns roughly how long checking a password against <paramref name="hash"/> takes, in microseconds on one core of
    /// a small server (bcrypt cost 10 about 75 ms, 5,000 rounds of SHA-512 crypt about 3 ms, <c>$apr1$</c> about 0.3 ms):
    /// enough to pick the costliest hash of a file.
    /// </summary>
    public static double Work(string hash)
    {
        if (hash.Length > 6 && hash[0] == '$' && hash[1] == '2' && int.TryParse(hash.AsSpan(4, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var cost))
        {
            return 75_000 * Math.Pow(2, cost - 10);
        }

        if (ShaCrypt.TryParse(hash, out var sha512, out var rounds, out _, out _))
        {
            return rounds * (sha512 ? 0.6 : 0.4);
        }

        return hash.StartsWith("$apr1$", StringComparison.Ordinal) || hash.StartsWith("$1$", StringComparison.Ordinal) ? 300 : 1;
    }

    /// <summary>Returns whether <paramref name="password"/> matches <paramref name="hash"/> (one <see cref="Refusal"/> accepted), comparing in constant time.</summary>
    public static bool Verify(string password, string hash)
    {
        if (hash.StartsWith("$2", StringComparison.Ordinal))
        {
            try
            {
                return BCrypt.Net.BCrypt.Verify(password, hash);
            }
            catch (BCrypt.Net.SaltParseException)
            {
                return false;
            }
        }

        string? computed;
        if (hash.StartsWith("$apr1$", StringComparison.Ordinal) || hash.StartsWith("$1$", StringComparison.Ordinal))
        {
            var magic = hash.StartsWith("$1$", StringComparison.Ordinal) ? "$1$" : "$apr1$";
            var rest = hash[magic.Length..];
            var end = rest.IndexOf('$', StringComparison.Ordinal);
            computed = Md5Crypt.Compute(password, magic, end < 0 ? rest : rest[..end]);
        }
        else if (hash.StartsWith("$5$", StringComparison.Ordinal) || hash.StartsWith("$6$", StringComparison.Ordinal))
        {
            computed = ShaCrypt.Compute(password, hash);
        }
        else if (hash.StartsWith("{SHA}", StringComparison.Ordinal))
        {
            // SHA-1 is what htpasswd -s stores: it checks an existing hash, and never makes a new one.
#pragma warning disable CA5350
            computed = "{SHA}" + Convert.ToBase64String(SHA1.HashData(Encoding.UTF8.GetBytes(password)));
#pragma warning restore CA5350
        }
        else
        {
            computed = password;
        }

        return computed is not null &&
            CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(computed), Encoding.UTF8.GetBytes(hash));
    }
}
