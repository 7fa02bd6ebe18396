using System.Buffers;
using System.Globalization;
using System.Text;

namespace Trac.Hosting.FastCgi;

/// <summary>
/// Splits an application's output into the CGI header section and the body, however the output was cut into
/// records: fed piece by piece, it keeps the bytes of the header section (at most <c>maxHeaderBytes</c>) until the
/// blank line that ends it, then hands back the body bytes of each piece.
/// </summary>
internal sealed class CgiResponseReader(int maxHeaderBytes = 64 * 1024)
{
    private readonly ArrayBufferWriter<byte> _head = new(1024);

    /// <summary>Gets the header section once it has arrived whole.</summary>
    public CgiResponseHead? Head { get; private set; }

    /// <summary>Takes the next piece of output; returns the part of it that is body (empty while the header section is incomplete).</summary>
    /// <exception cref="FastCgiProtocolException">The header section is malformed or longer than the limit.</exception>
    public ReadOnlySequence<byte> Feed(ReadOnlySequence<byte> piece)
    {
        if (Head is not null)
        {
            return piece;
        }

        var before = _head.WrittenCount;
        var take = (int)Math.Min(piece.Length, maxHeaderBytes - before);
        piece.Slice(0, take).CopyTo(_head.GetSpan(take));
        _head.Advance(take);
        var end = EndOfHead(_head.WrittenSpan, Math.Max(0, before - 2));
        if (end < 0)
        {
            if (_head.WrittenCount >= maxHeaderBytes)
            {
                throw new FastCgiProtocolException($"The application's CGI header section is longer than {maxHeaderBytes} bytes.");
            }

            return ReadOnlySequence<byte>.Empty;
        }

        Head = Parse(_head.WrittenSpan[..end]);
        return piece.Slice(end - before);
    }

    /// <summary>Returns the index just past the blank line that ends the header section, or -1.</summary>
    private static int EndOfHead(ReadOnlySpan<byte> bytes, int from)
    {
        for (var i = from; i < bytes.Length; i++)
        {
            if (bytes[i] != '\n')
            {
                continue;
            }

            if (i + 1 < bytes.Length && bytes[i + 1] == '\n')
            {
                return i + 2;
            }

            if (i + 2 < bytes.Length && bytes[i + 1] == '\r' && bytes[i + 2] == '\n')
            {
                return i + 3;
            }
        }

        return -1;
    }

    private static CgiResponseHead Parse(ReadOnlySpan<byte> head)
    {
        var text = Encoding.Latin1.GetString(head);
        var headers = new List<KeyValuePair<string, string>>();
        int? status = null;
        var location = false;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !IsToken(line.AsSpan(0, colon)))
            {
                throw new FastCgiProtocolException($"The application's CGI header line '{Shorten(line)}' is not 'Name: value'.");
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(' ', '\t');
            if (name.Equals("Status", StringComparison.OrdinalIgnoreCase))
            {
                status = ParseStatus(value);
                continue;
            }

            location |= name.Equals("Location", StringComparison.OrdinalIgnoreCase);
            headers.Add(new(name, value));
        }

        return new CgiResponseHead(status ?? (location ? 302 : 200), headers);
    }

    private static int ParseStatus(string value)
    {
        var code = value.Length >= 3 ? value.AsSpan(0, 3) : value.AsSpan();
        if (code.Length == 3 && (value.Length == 3 || value[3] == ' ') &&
            int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var status) && status is >= 100 and <= 999)
        {
            return status;
        }

        throw new FastCgiProtocolException($"The application's CGI status '{Shorten(value)}' is not a three-digit code.");
    }

    private static bool IsToken(ReadOnlySpan<char> name)
    {
        foreach (var c in name)
        {
            if (c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "...";
}
