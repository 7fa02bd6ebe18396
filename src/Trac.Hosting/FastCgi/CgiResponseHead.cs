using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.FastCgi;

/// <summary>
/// The header section of a CGI response (RFC 3875 section 6): the status (<c>Status:</c>, else <c>302</c> with a
/// <c>Location:</c>, else <c>200</c>) and the other header fields in order, repeated ones (<c>Set-Cookie</c>) kept apart.
/// </summary>
internal sealed class CgiResponseHead(int statusCode, IReadOnlyList<KeyValuePair<string, string>> headers)
{
    // The server frames the response itself: the application's framing fields would contradict it.
    private static readonly HashSet<string> s_hopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer",
    };

    public int StatusCode { get; } = statusCode;

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; } = headers;

    /// <summary>Sets the status and the headers on a response that has not started.</summary>
    public void ApplyTo(HttpResponse response)
    {
        response.StatusCode = StatusCode;
        foreach (var (name, value) in Headers)
        {
            if (!s_hopByHop.Contains(name))
            {
                response.Headers.Append(name, value);
            }
        }
    }
}
