using System.Text;
using System.Text.RegularExpressions;

namespace Trac.Hosting.Environments;

/// <summary>
/// The patterns of a parent directory's <c>.tracignore</c> file, with Trac's semantics: one shell-style pattern
/// per line (<c>*</c>, <c>?</c>, <c>[seq]</c>, <c>[!seq]</c>, as Python's <c>fnmatch</c>), lines trimmed, blank
/// lines and lines starting with <c>#</c> skipped; a missing file means the single pattern <c>.*</c>.
/// </summary>
/// <remarks>
/// <c>Microsoft.Extensions.FileSystemGlobbing</c> is not used: it has no <c>?</c> or <c>[seq]</c>, which
/// existing <c>.tracignore</c> files rely on.
/// </remarks>
internal sealed class TracIgnore
{
    /// <summary>The file name, in the parent directory.</summary>
    public const string FileName = ".tracignore";

    private readonly Regex? _regex;

    private TracIgnore(IReadOnlyList<string> patterns)
    {
        Patterns = patterns;
        if (patterns.Count > 0)
        {
            // Singleline: '*' and '?' match any character, as in fnmatch.
            var options = RegexOptions.CultureInvariant | RegexOptions.NonBacktracking | RegexOptions.Singleline;
            if (OperatingSystem.IsWindows())
            {
                // fnmatch compares case-insensitively where the file system does.
                options |= RegexOptions.IgnoreCase;
            }

            _regex = new Regex(string.Join('|', patterns.Select(Translate)), options);
        }
    }

    /// <summary>Gets the default, used when there is no <c>.tracignore</c> file: hidden directories.</summary>
    public static TracIgnore Default { get; } = new([".*"]);

    /// <summary>Gets the effective patterns.</summary>
    public IReadOnlyList<string> Patterns { get; }

    /// <summary>Parses the content of a <c>.tracignore</c> file.</summary>
    public static TracIgnore Parse(string content)
    {
        var patterns = content
            .Split(['\r', '\n'])
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .ToArray();
        return new TracIgnore(patterns);
    }

    /// <summary>Returns whether a directory name is ignored.</summary>
    public bool IsIgnored(string name) => _regex is not null && _regex.IsMatch(name);

    /// <summary>Translates one shell-style pattern to an anchored regular expression (Python's <c>fnmatch.translate</c>).</summary>
    internal static string Translate(string pattern)
    {
        var result = new StringBuilder("^(?:");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*':
                    result.Append(".*");
                    break;
                case '?':
                    result.Append('.');
                    break;
                case '[':
                    var end = FindClassEnd(pattern, i);
                    if (end < 0)
                    {
                        result.Append(@"\[");
                        break;
                    }

                    result.Append(TranslateClass(pattern.AsSpan(i + 1, end - i - 1)));
                    i = end;
                    break;
                default:
                    result.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        return result.Append(@")\z").ToString();
    }

    // Index of the ']' closing the class opened at 'start', or -1. As in fnmatch, a ']' right after '[' or '[!'
    // is a literal member of the class.
    private static int FindClassEnd(string pattern, int start)
    {
        var j = start + 1;
        if (j < pattern.Length && pattern[j] == '!')
        {
            j++;
        }

        if (j < pattern.Length && pattern[j] == ']')
        {
            j++;
        }

        return j < pattern.Length ? pattern.IndexOf(']', j) : -1;
    }

    private static string TranslateClass(ReadOnlySpan<char> body)
    {
        var negate = body.Length > 0 && body[0] == '!';
        var members = new StringBuilder();
        for (var k = negate ? 1 : 0; k < body.Length; k++)
        {
            var low = body[k];
            if (k + 2 < body.Length && body[k + 1] == '-')
            {
                var high = body[k + 2];
                k += 2;
                if (low > high)
                {
                    // A reversed range is empty, as in Python's fnmatch; it must not break the whole file.
                    continue;
                }

                AppendMember(members, low).Append('-');
                AppendMember(members, high);
            }
            else
            {
                AppendMember(members, low);
            }
        }

        if (members.Length == 0)
        {
            return negate ? "." : @"[^\s\S]";
        }

        return (negate ? "[^" : "[") + members + "]";
    }

    private static StringBuilder AppendMember(StringBuilder members, char c) =>
        c is '\\' or '^' or '[' or ']' or '-' ? members.Append('\\').Append(c) : members.Append(c);
}
