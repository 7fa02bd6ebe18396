using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;
using Trac.Hosting.Common;

namespace Trac.Hosting.Tests.RemoteUser;

/// <summary>Login paths are challenged through the host's authentication, and [Authorize] sees the normalized user.</summary>
public sealed class RemoteUserLoginTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public RemoteUserLoginTests() => _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task LoginWithoutUser_IsChallengedThroughTheDefaultScheme()
    {
        await using var host = await StartAsync(withAuthentication: true);

        var response = await host.Request("alpha", "/login").SendAsync();

        Assert.Equal(401, response.StatusCode);
        Assert.Equal(TestAuthenticationHandler.SchemeName, response.Headers["WWW-Authenticate"]);
    }

    [Fact]
    public async Task LoginWithUser_ReachesTheDispatchAsTheNormalizedUser()
    {
        await using var host = await StartAsync(withAuthentication: true);

        var response = await host.Request("alpha", "/login").WithHeader("X-Test-User", @"CORP\Alice").SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("alpha#0 /alpha|/login user=Alice", response.Body);
    }

    [Theory]
    [InlineData("/alpha/wiki")]
    [InlineData("/alpha/loginx")]
    [InlineData("/alpha/Login")]
    [InlineData("/login")]
    public async Task OtherPaths_AreNotChallenged(string path)
    {
        await using var host = await StartAsync(withAuthentication: true);

        var response = await host.RequestPath(path).SendAsync();

        // /login alone is outside every environment: the environment stage answers 404 before anyone challenges.
        Assert.Equal(path == "/login" ? 404 : 200, response.StatusCode);
    }

    [Fact]
    public async Task LoginSubPath_IsChallenged()
    {
        await using var host = await StartAsync(withAuthentication: true);

        Assert.Equal(401, (await host.Request("alpha", "/login/").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task LoginWithoutAnyAuthentication_Gets500WithTracsMessageAndAnErrorLog()
    {
        await using var host = await StartAsync(withAuthentication: false);
        using var client = host.CreateClient();

        // Percent-encoded on the wire: the path the stage logs holds the decoded CR LF.
        using var response = await client.GetAsync("/alpha/login/%0D%0Aforged");
        var again = await host.Request("alpha", "/login").SendAsync();

        Assert.Equal(500, (int)response.StatusCode);
        Assert.Equal(500, again.StatusCode);
        Assert.Equal(
            "Trac Error\n\nTracError: Authentication information not available. Please refer to the installation documentation.",
            await response.Content.ReadAsStringAsync());
        var entry = Assert.Single(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.LoginWithoutAuthentication);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Contains("AddAuthentication", entry.Message, StringComparison.Ordinal);
        Assert.Contains("/login/\\u000D\\u000Aforged", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CustomLoginPaths_AndTurningTheChallengeOff()
    {
        await using var custom = await StartAsync(withAuthentication: true, configure: o => o.LoginPaths.Add("/signin"));
        await using var off = await StartAsync(withAuthentication: true, configure: o => o.ChallengeLoginPaths = false);

        Assert.Equal(401, (await custom.Request("alpha", "/signin").SendAsync()).StatusCode);
        Assert.Equal(200, (await custom.Request("alpha", "/login").SendAsync()).StatusCode);
        Assert.Equal(200, (await off.Request("alpha", "/login").SendAsync()).StatusCode);
    }

    [Fact]
    public async Task AuthorizeEndpoints_AgreeWithTheNormalizedUser()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton<TracProcessEnvironment>(new TestProcessVariables());
        builder.Services.AddAuthentication(TestAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, TestAuthenticationHandler>(TestAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddTrac(o => o.Environment.ParentDirectory = _projects.Path);
        await using var app = builder.Build();
        app.UseTrac(t => t.ResolveEnvironment().NormalizeRemoteUser(o => o.Case = RemoteUserCase.Lower));
        app.UseAuthorization();
        app.MapGet("/admin", [Authorize] (HttpContext context) =>
            $"{context.User.Identity!.Name}|{context.GetRemoteUser()}|{context.User.Identity.AuthenticationType}|{context.User.IsInRole("developer")}");
        app.MapGet("/admin/bob-only", (HttpContext context) => context.User.Identity!.Name!)
            .RequireAuthorization(policy => policy.RequireUserName("bob"));
        await app.StartAsync();
        var client = app.GetTestClient();

        using var alice = new HttpRequestMessage(HttpMethod.Get, "/alpha/admin");
        alice.Headers.Add("X-Test-User", @"CORP\ALICE");
        var allowed = await client.SendAsync(alice);
        using var bob = new HttpRequestMessage(HttpMethod.Get, "/alpha/admin/bob-only");
        bob.Headers.Add("X-Test-User", @"CORP\Bob");
        var bobAllowed = await client.SendAsync(bob);
        var anonymous = await client.GetAsync("/alpha/admin");

        Assert.Equal("alice|alice|Test|True", await allowed.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, bobAllowed.StatusCode);
        Assert.Equal("bob", await bobAllowed.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    /// <summary>A host normalizing the remote user before the recorder, with the test scheme in front when asked.</summary>
    private Task<TracTestHost> StartAsync(bool withAuthentication, Action<RemoteUserOptions>? configure = null)
    {
        var builder = TracTestHost.CreateBuilder(_projects)
            .UseTrac((trac, recorder) => trac.ResolveEnvironment().NormalizeRemoteUser(configure).Dispatch(recorder.Dispatch));
        if (withAuthentication)
        {
            builder
                .ConfigureServices(s => s.AddAuthentication(TestAuthenticationHandler.SchemeName)
                    .AddScheme<AuthenticationSchemeOptions, TestAuthenticationHandler>(TestAuthenticationHandler.SchemeName, null))
                .UseBefore(app => app.UseAuthentication());
        }

        return builder.StartAsync();
    }
}
