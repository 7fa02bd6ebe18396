using System.Text.RegularExpressions;

namespace Trac.Hosting.Environments;

/// <summary>
/// Decides which strings may name an environment. Checked before any lookup, so a rejected name never reaches
/// the file system.
/// </summary>
internal static class EnvironmentNames
{
    /// <summary>
    /// Returns whether <paramref name="name"/> can be an environment name: not empty, not <c>.</c> or <c>..</c>,
    /// no separator (<c>/</c>, <c>\</c>, or their percent-encoded forms, which the server leaves encoded), no
    /// control or format characters, no lone surrogates, and matching <paramref name="pattern"/> when given.
    /// </summary>
    public static bool IsValid(ReadOnlySpan<char> name, Regex? pattern)
    {
        if (name.IsEmpty || name is "." || name is "..")
        {
            return false;
        }

        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (c is '/' or '\\' || char.IsControl(c) || IsFormatOrUnpaired(name, ref i))
            {
                return false;
            }

            // The server decodes the path except for encoded separators, which stay as %2F / %5C.
            if (c == '%' && i + 2 < name.Length && IsEncodedSeparator(name.Slice(i + 1, 2)))
            {
                return false;
            }
        }

        return pattern is null || pattern.IsMatch(name);
    }

    private static bool IsEncodedSeparator(ReadOnlySpan<char> hex) =>
        hex.Equals("2F", StringComparison.OrdinalIgnoreCase) || hex.Equals("5C", StringComparison.OrdinalIgnoreCase);

    private static bool IsFormatOrUnpaired(ReadOnlySpan<char> name, ref int i)
    {
        var c = name[i];
        if (char.IsHighSurrogate(c))
        {
            if (i + 1 >= name.Length || !char.IsLowSurrogate(name[i + 1]))
            {
                return true;
            }

            var category = System.Globalization.CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, name[i + 1]));
            i++;
            return category == System.Globalization.UnicodeCategory.Format;
        }

        return char.IsLowSurrogate(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format;
    }
}
