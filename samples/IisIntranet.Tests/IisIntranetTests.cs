using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Testing;

namespace IisIntranet.Tests;

/// <summary>
/// The sample as IIS runs it, minus IIS: the test sets the Windows user on each request before the app's pipeline,
/// where IIS's in-process server puts it, and checks what the app makes of it.
/// </summary>
public sealed class IisIntranetTests : IDisposable
{
    private readonly WindowsAuthenticatedFactory _app = new();

    public IisIntranetTests() => _app.Projects.CreateEnvironment("wiki", e => e.WithProject("Intranet Wiki"));

    public void Dispose() => _app.Dispose();

    [Theory]
    [InlineData(@"CORP\Alice")]
    [InlineData(@"corp\ALICE")]
    public async Task UserOfTheLocalDomain_IsTheBareNameInLowerCase(string windowsUser)
    {
        var response = await GetAsync("/wiki/", windowsUser);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("Project: Intranet Wiki\nUser: alice\n", response.Body);
    }

    [Fact]
    public async Task UserOfAnotherDomain_IsRefused()
    {
        var response = await GetAsync("/wiki/", @"OTHER\alice");

        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
        Assert.DoesNotContain("alice", response.Body, StringComparison.OrdinalIgnoreCase);
    }

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path, string windowsUser)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add(WindowsAuthenticatedFactory.UserHeader, windowsUser);
        using var response = await _app.CreateClient().SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The sample's app, with each request authenticated as the Windows user the test names.</summary>
    private sealed class WindowsAuthenticatedFactory : TracWebApplicationFactory<Program>
    {
        public const string UserHeader = "Test-Windows-User";

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureTestServices(services => services.AddSingleton<IStartupFilter, WindowsUserFilter>());
        }

        private sealed class WindowsUserFilter : IStartupFilter
        {
            public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
            {
                app.Use((context, nextMiddleware) =>
                {
                    var name = context.Request.Headers[UserHeader].ToString();
                    context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], "Negotiate"));
                    return nextMiddleware(context);
                });
                next(app);
            };
        }
    }
}
