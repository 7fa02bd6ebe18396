using System.Security.Cryptography;
using System.Text;

namespace Trac.Hosting.Login;

/// <summary>
/// The users of an htdigest file (<c>user:realm:HA1</c>, HA1 the hex MD5 of <c>user:realm:password</c>, as Apache's
/// <c>htdigest</c> writes it), read with the same rules as <see cref="HtpasswdFile"/>: comments after <c>#</c>, trimmed
/// lines, blank ones skipped; a malformed line is skipped with a warning naming its number, never its text.
/// </summary>
internal sealed class HtdigestFile
{
    private readonly Dictionary<(string User, string Realm), byte[]> _keys;

    private HtdigestFile(Dictionary<(string, string), byte[]> keys, IReadOnlyList<PasswordFileProblem> problems)
    {
        _keys = keys;
        Problems = problems;
    }

    /// <summary>Gets the lines that were skipped, in file order.</summary>
    public IReadOnlyList<PasswordFileProblem> Problems { get; }

    /// <summary>Gets the (user, realm) pairs that can log in.</summary>
    public IReadOnlyCollection<(string User, string Realm)> Users => _keys.Keys;

    public static HtdigestFile Parse(string path, IEnumerable<string> lines)
    {
        var keys = new Dictionary<(string, string), byte[]>();
        var problems = new List<PasswordFileProblem>();
        foreach (var (number, line) in PasswordFileLines.Read(lines))
        {
            var parts = line.Split(':');
            if (parts.Length < 3 || parts[0].Length == 0 || parts[2].Length != 32 || !IsHex(parts[2]))
            {
                problems.Add(new PasswordFileProblem(path, number, null, IsError: false, "the line is not user:realm:<32 hex digits>; it is skipped"));
                continue;
            }

            keys[(parts[0], parts[1])] = Convert.FromHexString(parts[2]);
        }

        return new HtdigestFile(keys, problems);
    }

    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static HtdigestFile Load(string path) => Parse(path, File.ReadLines(path));

    /// <summary>Returns the HA1 of a user in a realm (lowercase hex), or <see langword="null"/> when the file has no such pair.</summary>
    public string? KeyOf(string user, string realm) =>
        _keys.TryGetValue((user, realm), out var key) ? Convert.ToHexString(key).ToLowerInvariant() : null;

    /// <summary>Returns whether <paramref name="password"/> is the user's in the realm (for a client that sent Basic credentials).</summary>
    public bool Verify(string user, string realm, string password) =>
        _keys.TryGetValue((user, realm), out var key) &&
        CryptographicOperations.FixedTimeEquals(key, Digest.Md5($"{user}:{realm}:{password}"));

    private static bool IsHex(string text) => text.All(Uri.IsHexDigit);
}

/// <summary>The MD5 of RFC 7616's <c>MD5</c> algorithm, the one htdigest stores.</summary>
internal static class Digest
{
    // MD5 is the algorithm htdigest files hold: it checks what they store, and is never used to store anything new.
#pragma warning disable CA5351
    public static byte[] Md5(string text) => MD5.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5351

    public static string Md5Hex(string text) => Convert.ToHexString(Md5(text)).ToLowerInvariant();
}
