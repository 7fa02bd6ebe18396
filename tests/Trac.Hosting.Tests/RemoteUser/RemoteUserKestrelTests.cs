using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.RemoteUser;

/// <summary>On real Kestrel, where the requests of one keep-alive connection share the server's per-connection state.</summary>
public sealed class RemoteUserKestrelTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public RemoteUserKestrelTests() => _projects.CreateEnvironment("alpha");

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task RequestsOfOneConnection_EachSeeTheirOwnUser()
    {
        var seen = new List<(string Connection, ClaimsPrincipal User, string? RemoteUser)>();
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseKestrel()
            .ConfigureTrac(o => o.RemoteUser.KnownProxies.Add("127.0.0.1"))
            .UseTrac(t => t.ResolveEnvironment().NormalizeRemoteUser().Dispatch(context =>
            {
                // Only every other request reads User: the others leave it unmade.
                var user = context.Request.Query.ContainsKey("read") ? context.User : null;
                lock (seen)
                {
                    seen.Add((context.Connection.Id, user!, context.GetRemoteUser()));
                }

                return context.Response.WriteAsync(user?.Identity?.Name ?? "-");
            }))
            .StartAsync();
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = host.BaseAddress };
        string[] users = ["alice", "bob", "dave", @"CORP\carol"];

        var bodies = new List<string>();
        for (var i = 0; i < users.Length; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, i % 2 == 0 ? "/alpha/wiki?read" : "/alpha/wiki");
            request.Headers.Add("X-Remote-User", users[i]);
            using var response = await client.SendAsync(request);
            bodies.Add(await response.Content.ReadAsStringAsync());
        }

        Assert.Single(seen.Select(s => s.Connection).Distinct());
        Assert.Equal(["alice", "-", "dave", "-"], bodies);
        Assert.Equal(["alice", "bob", "dave", "carol"], seen.Select(s => s.RemoteUser));
        // The principal a request read is its own: later requests on the connection leave it as it was.
        Assert.Equal("alice", seen[0].User.Identity!.Name);
        Assert.Equal("TrustedProxyHeader", seen[0].User.Identity!.AuthenticationType);
    }
}
