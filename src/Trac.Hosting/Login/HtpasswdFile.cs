namespace Trac.Hosting.Login;

/// <summary>
/// The users of an htpasswd file, read as Trac's own loader reads one: everything after <c>#</c> is a comment, lines
/// are trimmed, blank ones skipped, <c>user:hash</c> (anything after a second <c>:</c> ignored). A line without a
/// <c>:</c> is skipped with a warning naming its number (never its text: it may hold a hash); a user whose hash
/// cannot be used (DES crypt, a hostile bcrypt cost, plain text off Windows) is left out with an error naming the file,
/// the line, the user and how to re-hash.
/// </summary>
internal sealed class HtpasswdFile
{
    private readonly Dictionary<string, string> _hashes;

    // The costliest hash of the file, checked for an unknown user: the answer then takes at least as long as for a
    // known one, so its time does not tell which users exist.
    private readonly string? _standIn;

    private HtpasswdFile(Dictionary<string, string> hashes, IReadOnlyList<PasswordFileProblem> problems)
    {
        _hashes = hashes;
        _standIn = hashes.Values.MaxBy(PasswordHashes.Work);
        Problems = problems;
    }

    /// <summary>Gets what was wrong with some lines, in file order.</summary>
    public IReadOnlyList<PasswordFileProblem> Problems { get; }

    /// <summary>Gets the hash an unknown user's password is checked against (for tests).</summary>
    internal string? StandIn => _standIn;

    /// <summary>Gets the users that can log in.</summary>
    public IReadOnlyCollection<string> Users => _hashes.Keys;

    /// <summary>Reads the lines of the file at <paramref name="path"/> (named in the problems).</summary>
    public static HtpasswdFile Parse(string path, IEnumerable<string> lines)
    {
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        var problems = new List<PasswordFileProblem>();
        foreach (var (number, line) in PasswordFileLines.Read(lines))
        {
            var parts = line.Split(':');
            if (parts.Length < 2 || parts[0].Length == 0)
            {
                problems.Add(new PasswordFileProblem(path, number, null, IsError: false, "the line is not user:hash; it is skipped"));
                continue;
            }

            var (user, hash) = (parts[0], parts[1]);
            if (PasswordHashes.Refusal(hash, user) is { } refusal)
            {
                problems.Add(new PasswordFileProblem(path, number, user, IsError: true, $"user '{user}' cannot log in: {refusal}"));
                continue;
            }

            hashes[user] = hash;
        }

        return new HtpasswdFile(hashes, problems);
    }

    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static HtpasswdFile Load(string path) => Parse(path, File.ReadLines(path));

    /// <summary>Returns whether <paramref name="user"/> is in the file with <paramref name="password"/>.</summary>
    public bool Verify(string user, string password)
    {
        if (_hashes.TryGetValue(user, out var hash))
        {
            return PasswordHashes.Verify(password, hash);
        }

        if (_standIn is not null)
        {
            PasswordHashes.Verify(password, _standIn);
        }

        return false;
    }
}

/// <summary>A line of a password file that was skipped (a warning) or a user left out (an error).</summary>
/// <param name="Path">The file.</param>
/// <param name="Line">The line number, from 1.</param>
/// <param name="User">The user of the line, when it has one.</param>
/// <param name="IsError">Whether a user was left out (rather than a malformed line skipped).</param>
/// <param name="Message">What is wrong and how to fix it; never a hash or password.</param>
internal sealed record PasswordFileProblem(string Path, int Line, string? User, bool IsError, string Message)
{
    public override string ToString() => $"{Path}, line {Line}: {Message}";
}
