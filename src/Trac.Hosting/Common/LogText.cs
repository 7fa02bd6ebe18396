using System.Globalization;
using System.Text;

namespace Trac.Hosting.Common;

/// <summary>Client-supplied text made fit for a log line.</summary>
internal static class LogText
{
    /// <summary>Makes a client-supplied value safe for a log line: no control characters, bounded length.</summary>
    public static string Escape(string value)
    {
        const int Limit = 300;
        var escaped = new StringBuilder(Math.Min(value.Length, Limit) + 16);
        foreach (var c in value.AsSpan(0, Math.Min(value.Length, Limit)))
        {
            if (char.IsControl(c) || char.IsSurrogate(c) || c is '"' or '\\' or '\u2028' or '\u2029' ||
                CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                escaped.Append(c);
            }
        }

        return value.Length > Limit ? escaped.Append("...").ToString() : escaped.ToString();
    }
}
