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
        using var host = await StartAsync(withAuthentication: true);

        var response = await host.GetTestClient().GetAsync("/alpha/login");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(TestAuthenticationHandler.SchemeName, response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task LoginWithUser_ReachesTheDispatchAsTheNormalizedUser()
    {
        using var host = await StartAsync(withAuthentication: true);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/alpha/login");
        request.Headers.Add("X-Test-User", @"CORP\Alice");

        var response = await host.GetTestClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Alice at /login", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/alpha/wiki")]
    [InlineData("/alpha/loginx")]
    [InlineData("/alpha/Login")]
    [InlineData("/login")]
    public async Task OtherPaths_AreNotChallenged(string path)
    {
        using var host = await StartAsync(withAuthentication: true);

        var response = await host.GetTestClient().GetAsync(path);

        // /login alone is outside every environment: the environment stage answers 404 before anyone challenges.
        Assert.Equal(path == "/login" ? HttpStatusCode.NotFound : HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task LoginSubPath_IsChallenged()
    {
        using var host = await StartAsync(withAuthentication: true);

        Assert.Equal(HttpStatusCode.Unauthorized, (await host.GetTestClient().GetAsync("/alpha/login/")).StatusCode);
    }

    [Fact]
    public async Task LoginWithoutAnyAuthentication_Gets500WithTracsMessageAndAnErrorLog()
    {
        var logs = new TracTestLogs();
        using var host = await StartAsync(withAuthentication: false, logs: logs);

        var response = await host.GetTestClient().GetAsync("/alpha/login/%0D%0Aforged");
        var again = await host.GetTestClient().GetAsync("/alpha/login");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, again.StatusCode);
        Assert.Equal(
            "Trac Error\n\nTracError: Authentication information not available. Please refer to the installation documentation.",
            await response.Content.ReadAsStringAsync());
        var entry = Assert.Single(logs.Entries, e => e.EventId.Id == Diagnostics.EventIds.LoginWithoutAuthentication);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Contains("AddAuthentication", entry.Message, StringComparison.Ordinal);
        Assert.Contains("/login/\\u000D\\u000Aforged", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CustomLoginPaths_AndTurningTheChallengeOff()
    {
        using var custom = await StartAsync(withAuthentication: true, configure: o => o.LoginPaths.Add("/signin"));
        using var off = await StartAsync(withAuthentication: true, configure: o => o.ChallengeLoginPaths = false);

        Assert.Equal(HttpStatusCode.Unauthorized, (await custom.GetTestClient().GetAsync("/alpha/signin")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await custom.GetTestClient().GetAsync("/alpha/login")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await off.GetTestClient().GetAsync("/alpha/login")).StatusCode);
    }

    [Fact]
    public async Task AuthorizeEndpoints_AgreeWithTheNormalizedUser()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton<TracProcessEnvironment>(new TestHosts.FakeProcessEnvironment());
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

    private Task<IHost> StartAsync(bool withAuthentication, Action<RemoteUserOptions>? configure = null, TracTestLogs? logs = null) =>
        TestHosts.StartAsync(
            o => o.Environment.ParentDirectory = _projects.Path,
            t => t.ResolveEnvironment().NormalizeRemoteUser(configure).Dispatch(c =>
                c.Response.WriteAsync($"{c.GetRemoteUser() ?? "-"} at {c.Request.Path.Value}")),
            services: withAuthentication
                ? s => s.AddAuthentication(TestAuthenticationHandler.SchemeName)
                    .AddScheme<AuthenticationSchemeOptions, TestAuthenticationHandler>(TestAuthenticationHandler.SchemeName, null)
                : null,
            logs: logs,
            before: withAuthentication ? app => app.UseAuthentication() : null);
}
