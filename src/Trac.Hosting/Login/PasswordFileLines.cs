namespace Trac.Hosting.Login;

/// <summary>How htpasswd and htdigest files are split into lines: the rules of Trac's own loader.</summary>
internal static class PasswordFileLines
{
    /// <summary>
    /// Returns the lines of a password file that hold something, numbered from 1, as Trac's loader reads them:
    /// everything after <c>#</c> is a comment, lines are trimmed, blank ones skipped.
    /// </summary>
    public static IEnumerable<(int Number, string Line)> Read(IEnumerable<string> lines)
    {
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var hashMark = raw.IndexOf('#', StringComparison.Ordinal);
            var line = (hashMark < 0 ? raw : raw[..hashMark]).Trim();
            if (line.Length > 0)
            {
                yield return (number, line);
            }
        }
    }
}
