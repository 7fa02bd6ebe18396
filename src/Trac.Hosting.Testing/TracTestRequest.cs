using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Trac.Hosting.RemoteUser;

namespace Trac.Hosting.Testing;

/// <summary>
/// A request to a <see cref="TracTestHost"/> or a <see cref="TracWebApplicationFactory{TEntryPoint}"/>: any method
/// and body, as a remote user through any of the three sources, from a given peer address, with server variables
/// (<c>trac.env_path</c>, <c>PYTHON_EGG_CACHE</c>, <c>REMOTE_USER</c>). The principal, the peer and server
/// variables need <c>TestServer</c>; with Kestrel only the method, headers and body can be sent.
/// </summary>
public sealed class TracTestRequest
{
    private readonly ITracTestTarget _host;
    private readonly string _path;
    private string _method = "GET";
    private byte[]? _body;
    private string? _contentType;
    private readonly Dictionary<string, string[]> _headers = new(StringComparer.OrdinalIgnoreCase);
    private readonly TracServerVariables _serverVariables = [];
    private ClaimsPrincipal? _principal;
    private IPAddress? _peer;

    internal TracTestRequest(ITracTestTarget host, string path)
    {
        _host = host;
        _path = path;
    }

    /// <summary>Sends the request as <paramref name="user"/>, through <paramref name="source"/>.</summary>
    /// <param name="user">The user name as the source would give it (<c>CORP\alice</c>, <c>alice@REALM</c>).</param>
    /// <param name="source">The authenticated principal (the default), the <c>REMOTE_USER</c> server variable, or the
    /// <c>X-Remote-User</c> header (which also needs <see cref="FromPeer"/> with a trusted proxy's address).</param>
    /// <param name="authenticationType">The principal's authentication type.</param>
    /// <returns>This request.</returns>
    public TracTestRequest AsUser(string user, RemoteUserSource source = RemoteUserSource.Principal, string authenticationType = "Test")
    {
        ArgumentNullException.ThrowIfNull(user);
        switch (source)
        {
            case RemoteUserSource.Principal:
                return AsUser(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user)], authenticationType)));
            case RemoteUserSource.ServerVariable:
                _serverVariables["REMOTE_USER"] = user;
                break;
            default:
                // The header the host is configured to trust.
                var options = _host.Services.GetService(typeof(Microsoft.Extensions.Options.IOptions<TracOptions>)) as Microsoft.Extensions.Options.IOptions<TracOptions>;
                _headers[options?.Value.RemoteUser.HeaderName ?? RemoteUserOptions.DefaultHeaderName] = [user];
                break;
        }

        return this;
    }

    /// <summary>
    /// Sends the request as an authenticated <paramref name="principal"/>, as the host's authentication would have set
    /// <c>HttpContext.User</c>: with roles and other claims, or of a type of its own (one whose <c>IsInRole</c> asks a
    /// directory, as a Windows principal does).
    /// </summary>
    /// <param name="principal">The principal.</param>
    /// <returns>This request.</returns>
    public TracTestRequest AsUser(ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        _principal = principal;
        return this;
    }

    /// <summary>Sends the request from <paramref name="address"/> (the TCP peer the remote-user stage judges).</summary>
    /// <param name="address">The peer address, such as <c>127.0.0.1</c>.</param>
    /// <returns>This request.</returns>
    public TracTestRequest FromPeer(string address)
    {
        _peer = IPAddress.Parse(address);
        return this;
    }

    /// <summary>Sets a server variable, as IIS or HTTP.sys would.</summary>
    /// <param name="name">The variable, such as <c>trac.env_path</c> or <c>PYTHON_EGG_CACHE</c>.</param>
    /// <param name="value">Its value.</param>
    /// <returns>This request.</returns>
    public TracTestRequest WithServerVariable(string name, string? value)
    {
        ArgumentNullException.ThrowIfNull(name);
        _serverVariables[name] = value;
        return this;
    }

    /// <summary>
    /// Sets a request header, with one value or several: a repeated header, such as two <c>X-Remote-User</c> values
    /// (on Kestrel, <see cref="HttpClient"/> sends them joined by commas).
    /// </summary>
    /// <param name="name">The header.</param>
    /// <param name="values">Its value, or its values.</param>
    /// <returns>This request.</returns>
    /// <exception cref="ArgumentException">No value, or a <see langword="null"/> one.</exception>
    public TracTestRequest WithHeader(string name, params string[] values)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0 || Array.Exists(values, v => v is null))
        {
            throw new ArgumentException("A header needs at least one value, and no value may be null.", nameof(values));
        }

        _headers[name] = [.. values];
        return this;
    }

    /// <summary>Sends the request with another method than <c>GET</c>.</summary>
    /// <param name="method">The method, such as <c>POST</c>.</param>
    /// <returns>This request.</returns>
    public TracTestRequest WithMethod(string method)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(method);
        _method = method.ToUpperInvariant();
        return this;
    }

    /// <summary>Sends <paramref name="body"/> (UTF-8) as the request body; the method becomes <c>POST</c> unless set.</summary>
    /// <param name="body">The body.</param>
    /// <param name="contentType">Its media type; form data by default, as Trac's forms post.</param>
    /// <returns>This request.</returns>
    public TracTestRequest WithBody(string body, string contentType = "application/x-www-form-urlencoded")
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        _body = System.Text.Encoding.UTF8.GetBytes(body);
        _contentType = contentType;
        if (_method == "GET")
        {
            _method = "POST";
        }

        return this;
    }

    /// <summary>Sends form fields, URL-encoded, as the request body; the method becomes <c>POST</c> unless set.</summary>
    /// <param name="fields">The fields, in order, such as <c>("__FORM_TOKEN", token), ("text", "...")</c>.</param>
    /// <returns>This request.</returns>
    public TracTestRequest WithForm(params (string Name, string Value)[] fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        return WithBody(string.Join('&', fields.Select(f => Uri.EscapeDataString(f.Name) + "=" + Uri.EscapeDataString(f.Value))));
    }

    /// <summary>Sends the request.</summary>
    /// <returns>The response's status, headers and body.</returns>
    /// <exception cref="NotSupportedException">A principal, peer or server variable on a Kestrel host.</exception>
    public async Task<TracTestResponse> SendAsync()
    {
        if (TracTestTargets.TestServerOf(_host) is not { } server)
        {
            if (_principal is not null || _peer is not null || _serverVariables.Count > 0)
            {
                throw new NotSupportedException("A principal, a peer address or server variables need TestServer: build the host without UseKestrel().");
            }

            using var client = _host.CreateRequestClient();
            using var request = new HttpRequestMessage(new HttpMethod(_method), _path);
            if (_body is not null)
            {
                request.Content = new ByteArrayContent(_body);
                request.Content.Headers.TryAddWithoutValidation("Content-Type", _contentType);
            }

            foreach (var (name, values) in _headers)
            {
                if (!request.Headers.TryAddWithoutValidation(name, values))
                {
                    request.Content ??= new ByteArrayContent([]);
                    request.Content.Headers.TryAddWithoutValidation(name, values);
                }
            }

            using var response = await client.SendAsync(request);
            return new TracTestResponse(
                (int)response.StatusCode,
                await response.Content.ReadAsStringAsync(),
                response.Headers.Concat(response.Content.Headers).ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase));
        }

        var context = await server.SendAsync(c =>
        {
            c.Request.Method = _method;
            if (_body is not null)
            {
                c.Request.Body = new MemoryStream(_body, writable: false);
                c.Request.ContentLength = _body.Length;
                c.Request.ContentType = _contentType;
            }

            var query = _path.IndexOf('?', StringComparison.Ordinal);
            // As sent over the wire: percent-encoded in the path, decoded into Request.Path as a server would.
            c.Request.Path = PathString.FromUriComponent(query < 0 ? _path : _path[..query]);
            c.Request.QueryString = query < 0 ? QueryString.Empty : QueryString.FromUriComponent(_path[query..]);
            foreach (var (name, values) in _headers)
            {
                c.Request.Headers[name] = values;
            }

            if (_principal is not null)
            {
                c.User = _principal;
            }

            if (_peer is not null)
            {
                c.Connection.RemoteIpAddress = _peer;
            }

            if (_serverVariables.Count > 0)
            {
                c.Features.Set<IServerVariablesFeature>(_serverVariables);
            }
        });
        using var reader = new StreamReader(context.Response.Body);
        return new TracTestResponse(
            context.Response.StatusCode,
            await reader.ReadToEndAsync(),
            context.Response.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
    }
}
