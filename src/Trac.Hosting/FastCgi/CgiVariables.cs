using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Trac.Hosting.FastCgi;

/// <summary>
/// The CGI variables of a request (RFC 3875, and what the FastCGI guide's nginx block passes), as a FastCGI
/// application reads them from <c>FCGI_PARAMS</c>. <c>REMOTE_USER</c> and <c>AUTH_TYPE</c> come only from the user the
/// pipeline established, never from the client. A request header becomes <c>HTTP_*</c> (upper case, <c>-</c> as
/// <c>_</c>) unless it could stand for something else: a name with <c>_</c> (so <c>X-Remote_User</c> cannot pass for
/// <c>X-Remote-User</c>, as nginx drops them by default), <c>Proxy</c> (<c>HTTP_PROXY</c> would set the application's
/// outgoing proxy), <c>Authorization</c> (the host checks credentials; mod_wsgi withholds it too), and the two that
/// are <c>CONTENT_TYPE</c> and <c>CONTENT_LENGTH</c> already.
/// </summary>
internal static class CgiVariables
{
    /// <summary>The server software the application is told about.</summary>
    public const string ServerSoftware = "Trac.Hosting";

    /// <summary>Returns the variables of <paramref name="context"/>'s request, in the order a web server sends them.</summary>
    /// <param name="context">The request, with the <c>PathBase</c> of its project.</param>
    /// <param name="environmentPath">The environment the request is for (<c>trac.env_path</c>), if any.</param>
    /// <param name="remoteUser">The normalized remote user, or <see langword="null"/> for an anonymous request.</param>
    /// <param name="authenticationType">How the user was authenticated (<c>AUTH_TYPE</c>), when there is one.</param>
    public static List<KeyValuePair<string, string>> For(HttpContext context, string? environmentPath, string? remoteUser, string? authenticationType)
    {
        var request = context.Request;
        var connection = context.Connection;
        var variables = new List<KeyValuePair<string, string>>(24 + request.Headers.Count);
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                variables.Add(new(name, value));
            }
        }

        Add("GATEWAY_INTERFACE", "CGI/1.1");
        Add("SERVER_SOFTWARE", ServerSoftware);
        Add("SERVER_PROTOCOL", request.Protocol);
        Add("REQUEST_METHOD", request.Method);
        Add("SCRIPT_NAME", request.PathBase.Value ?? string.Empty);
        Add("PATH_INFO", request.Path.Value ?? string.Empty);
        Add("QUERY_STRING", request.QueryString.HasValue ? request.QueryString.Value![1..] : string.Empty);
        Add("REQUEST_URI", request.PathBase.ToUriComponent() + request.Path.ToUriComponent() + request.QueryString.ToUriComponent());
        Add("CONTENT_TYPE", request.ContentType);
        Add("CONTENT_LENGTH", request.ContentLength?.ToString(CultureInfo.InvariantCulture));
        var host = request.Host;
        Add("SERVER_NAME", host.HasValue ? host.Host : connection.LocalIpAddress?.ToString() ?? "localhost");
        Add("SERVER_PORT", (host.Port ?? (host.HasValue ? (request.IsHttps ? 443 : 80) : connection.LocalPort)).ToString(CultureInfo.InvariantCulture));
        Add("REMOTE_ADDR", connection.RemoteIpAddress?.ToString());
        Add("REMOTE_PORT", connection.RemoteIpAddress is null ? null : connection.RemotePort.ToString(CultureInfo.InvariantCulture));
        if (request.IsHttps)
        {
            Add("HTTPS", "on");
        }

        Add("trac.env_path", environmentPath);
        if (!string.IsNullOrEmpty(remoteUser))
        {
            Add("REMOTE_USER", remoteUser);
            Add("AUTH_TYPE", authenticationType);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (HeaderVariable(name) is { } variable)
            {
                // Repeated headers are one line, as HTTP allows; cookies are joined as the Cookie header joins them.
                Add(variable, string.Join(name.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase) ? "; " : ", ", (IEnumerable<string?>)values));
            }
        }

        return variables;
    }

    /// <summary>Returns the <c>HTTP_*</c> variable of a request header, or <see langword="null"/> when it is not forwarded.</summary>
    public static string? HeaderVariable(string headerName)
    {
        if (headerName.Length == 0 || headerName.Contains('_', StringComparison.Ordinal) ||
            headerName.Equals(HeaderNames.ContentType, StringComparison.OrdinalIgnoreCase) ||
            headerName.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase) ||
            headerName.Equals(HeaderNames.Authorization, StringComparison.OrdinalIgnoreCase) ||
            headerName.Equals("Proxy", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return string.Create(5 + headerName.Length, headerName, static (span, name) =>
        {
            "HTTP_".CopyTo(span);
            for (var i = 0; i < name.Length; i++)
            {
                var c = name[i];
                span[5 + i] = c == '-' ? '_' : char.ToUpperInvariant(c);
            }
        });
    }
}
