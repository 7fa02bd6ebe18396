using System.Net;
using Microsoft.AspNetCore.Http;
using Trac.Hosting.FastCgi;

namespace Trac.Hosting.Tests.FastCgi;

/// <summary>The CGI variables a FastCGI application gets for a request, and the client headers that never become one.</summary>
public sealed class CgiVariablesTests
{
    [Fact]
    public void Request_GivesTheVariablesOfRfc3875_WithTheProjectAsScriptName()
    {
        var context = Request("POST", "/alpha", "/wiki/Start", "?action=edit&x=%20");
        context.Request.ContentType = "application/x-www-form-urlencoded";
        context.Request.ContentLength = 42;

        var variables = Variables(context, "/srv/trac/alpha", "alice", "Basic");

        Assert.Equal("CGI/1.1", variables["GATEWAY_INTERFACE"]);
        Assert.Equal("HTTP/1.1", variables["SERVER_PROTOCOL"]);
        Assert.Equal("POST", variables["REQUEST_METHOD"]);
        Assert.Equal("/alpha", variables["SCRIPT_NAME"]);
        Assert.Equal("/wiki/Start", variables["PATH_INFO"]);
        Assert.Equal("action=edit&x=%20", variables["QUERY_STRING"]);
        Assert.Equal("/alpha/wiki/Start?action=edit&x=%20", variables["REQUEST_URI"]);
        Assert.Equal("application/x-www-form-urlencoded", variables["CONTENT_TYPE"]);
        Assert.Equal("42", variables["CONTENT_LENGTH"]);
        Assert.Equal("trac.example.org", variables["SERVER_NAME"]);
        Assert.Equal("8080", variables["SERVER_PORT"]);
        Assert.Equal("192.0.2.7", variables["REMOTE_ADDR"]);
        Assert.Equal("50123", variables["REMOTE_PORT"]);
        Assert.Equal("/srv/trac/alpha", variables["trac.env_path"]);
        Assert.Equal("alice", variables["REMOTE_USER"]);
        Assert.Equal("Basic", variables["AUTH_TYPE"]);
        Assert.False(variables.ContainsKey("HTTPS"));
        Assert.False(variables.ContainsKey("HTTP_CONTENT_TYPE"));
        Assert.False(variables.ContainsKey("HTTP_CONTENT_LENGTH"));
    }

    [Fact]
    public void Anonymous_HasNoRemoteUser_EvenWhenTheClientSendsOne()
    {
        var context = Request("GET", "/alpha", "/", "");
        context.Request.Headers["Remote-User"] = "admin";
        context.Request.Headers["X-Remote-User"] = "admin";

        var variables = Variables(context, "/srv/trac/alpha", remoteUser: null, authenticationType: "Basic");

        Assert.False(variables.ContainsKey("REMOTE_USER"));
        Assert.False(variables.ContainsKey("AUTH_TYPE"));
        Assert.Equal("admin", variables["HTTP_REMOTE_USER"]);
    }

    [Fact]
    public void HeadersThatCouldPassForAnother_AreNotForwarded()
    {
        var context = Request("GET", "/alpha", "/", "");
        context.Request.Headers["X-Remote-User"] = "alice";
        context.Request.Headers["X-Remote_User"] = "admin";
        context.Request.Headers["Proxy"] = "http://evil.example:3128";
        context.Request.Headers["Authorization"] = "Basic YWxpY2U6c2VjcmV0";
        context.Request.Headers["Content-Type"] = "text/plain";

        var variables = Variables(context, null, null, null);

        Assert.Equal("alice", variables["HTTP_X_REMOTE_USER"]);
        Assert.DoesNotContain(variables, v => v.Value == "admin");
        Assert.False(variables.ContainsKey("HTTP_PROXY"));
        Assert.False(variables.ContainsKey("HTTP_AUTHORIZATION"));
        Assert.False(variables.ContainsKey("HTTP_CONTENT_TYPE"));
        Assert.Equal("text/plain", variables["CONTENT_TYPE"]);
    }

    [Fact]
    public void RepeatedHeaders_AreOneVariable_CookiesJoinedAsTheCookieHeaderJoinsThem()
    {
        var context = Request("GET", "/alpha", "/", "");
        context.Request.Headers["Cookie"] = new(["trac_form_token=abc", "trac_session=def"]);
        context.Request.Headers["Accept-Language"] = new(["de", "en;q=0.5"]);

        var variables = Variables(context, null, null, null);

        Assert.Equal("trac_form_token=abc; trac_session=def", variables["HTTP_COOKIE"]);
        Assert.Equal("de, en;q=0.5", variables["HTTP_ACCEPT_LANGUAGE"]);
    }

    [Fact]
    public void Https_IsOn_AndTheDefaultPortIsTheSchemes()
    {
        var context = Request("GET", "", "/alpha/", "");
        context.Request.IsHttps = true;
        context.Request.Host = new HostString("trac.example.org");

        var variables = Variables(context, null, null, null);

        Assert.Equal("on", variables["HTTPS"]);
        Assert.Equal("443", variables["SERVER_PORT"]);
        Assert.Equal("", variables["SCRIPT_NAME"]);
        Assert.Equal("", variables["QUERY_STRING"]);
    }

    [Fact]
    public void NoHostHeader_NamesTheLocalAddressAndPort()
    {
        var context = Request("GET", "/alpha", "/", "");
        context.Request.Host = default;

        var variables = Variables(context, null, null, null);

        Assert.Equal("127.0.0.1", variables["SERVER_NAME"]);
        Assert.Equal("5000", variables["SERVER_PORT"]);
    }

    [Fact]
    public void NonAsciiPath_IsTheDecodedPath_AndTheRequestUriStaysEscaped()
    {
        var context = Request("GET", "/alpha", "/wiki/Zürich", "");

        var variables = Variables(context, null, null, null);

        Assert.Equal("/wiki/Zürich", variables["PATH_INFO"]);
        Assert.Equal("/alpha/wiki/Z%C3%BCrich", variables["REQUEST_URI"]);
    }

    [Theory]
    [InlineData("User-Agent", "HTTP_USER_AGENT")]
    [InlineData("x-forwarded-for", "HTTP_X_FORWARDED_FOR")]
    [InlineData("Host", "HTTP_HOST")]
    [InlineData("X_Remote_User", null)]
    [InlineData("PROXY", null)]
    [InlineData("content-length", null)]
    public void HeaderVariable_MapsOrRefuses(string header, string? expected) => Assert.Equal(expected, CgiVariables.HeaderVariable(header));

    private static DefaultHttpContext Request(string method, string pathBase, string path, string query)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Protocol = "HTTP/1.1";
        context.Request.PathBase = pathBase;
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query);
        context.Request.Host = new HostString("trac.example.org", 8080);
        context.Connection.RemoteIpAddress = IPAddress.Parse("192.0.2.7");
        context.Connection.RemotePort = 50123;
        context.Connection.LocalIpAddress = IPAddress.Loopback;
        context.Connection.LocalPort = 5000;
        return context;
    }

    private static Dictionary<string, string> Variables(HttpContext context, string? environmentPath, string? remoteUser, string? authenticationType)
    {
        var list = CgiVariables.For(context, environmentPath, remoteUser, authenticationType);
        Assert.Equal(list.Count, list.Select(v => v.Key).Distinct(StringComparer.Ordinal).Count());
        return list.ToDictionary(v => v.Key, v => v.Value, StringComparer.Ordinal);
    }
}
