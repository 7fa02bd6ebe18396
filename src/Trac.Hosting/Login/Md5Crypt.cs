using System.Security.Cryptography;
using System.Text;

namespace Trac.Hosting.Login;

/// <summary>
/// The MD5-based crypt of Apache's <c>htpasswd -m</c> (<c>$apr1$</c>, its default) and of BSD/glibc (<c>$1$</c>):
/// a thousand rounds of MD5 over the password and a salt of up to eight characters. Only ever used to check a hash a
/// password file already holds.
/// </summary>
internal static class Md5Crypt
{
    /// <summary>Returns the hash of <paramref name="password"/> with <paramref name="magic"/> (<c>$apr1$</c> or <c>$1$</c>) and <paramref name="salt"/> (its first eight characters count).</summary>
    public static string Compute(string password, string magic, string salt)
    {
        var key = Encoding.UTF8.GetBytes(password);
        var saltBytes = Encoding.UTF8.GetBytes(salt.Length > 8 ? salt[..8] : salt);
        var alternate = Md5([.. key, .. saltBytes, .. key]);

        var context = new List<byte>(key.Length * 3 + 64);
        context.AddRange(key);
        context.AddRange(Encoding.ASCII.GetBytes(magic));
        context.AddRange(saltBytes);
        for (var left = key.Length; left > 0; left -= 16)
        {
            context.AddRange(alternate.AsSpan(0, Math.Min(left, 16)).ToArray());
        }

        for (var bits = key.Length; bits > 0; bits >>= 1)
        {
            context.Add((bits & 1) != 0 ? (byte)0 : key.Length > 0 ? key[0] : (byte)0);
        }

        // The thousand rounds through one reused hash and a 16-byte digest: no allocation per round.
        Span<byte> digest = stackalloc byte[16];
        using var md5 = NewMd5();
        md5.AppendData([.. context]);
        md5.GetHashAndReset(digest);
        for (var round = 0; round < 1000; round++)
        {
            if ((round & 1) != 0)
            {
                md5.AppendData(key);
            }
            else
            {
                md5.AppendData(digest);
            }

            if (round % 3 != 0)
            {
                md5.AppendData(saltBytes);
            }

            if (round % 7 != 0)
            {
                md5.AppendData(key);
            }

            if ((round & 1) != 0)
            {
                md5.AppendData(digest);
            }
            else
            {
                md5.AppendData(key);
            }

            md5.GetHashAndReset(digest);
        }

        var text = new StringBuilder(magic.Length + saltBytes.Length + 23);
        text.Append(magic).Append(Encoding.UTF8.GetString(saltBytes)).Append('$');
        CryptAlphabet.Append(text, digest[0], digest[6], digest[12], 4);
        CryptAlphabet.Append(text, digest[1], digest[7], digest[13], 4);
        CryptAlphabet.Append(text, digest[2], digest[8], digest[14], 4);
        CryptAlphabet.Append(text, digest[3], digest[9], digest[15], 4);
        CryptAlphabet.Append(text, digest[4], digest[10], digest[5], 4);
        CryptAlphabet.Append(text, 0, 0, digest[11], 2);
        return text.ToString();
    }

    // MD5 is what these files hold: it checks an existing hash, and never makes a new one.
#pragma warning disable CA5351
    private static byte[] Md5(byte[] data) => MD5.HashData(data);

    private static IncrementalHash NewMd5() => IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
}
