using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Login;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.Login;

/// <summary>
/// Logins from password files in front of real Trac, as tracd's <c>--basic-auth</c> and <c>--auth</c> give them: a
/// login at <c>/&lt;project&gt;/login</c> hands Trac the user, Trac sets its cookie, and its pages say "logged in as".
/// </summary>
[Collection(RealTracTests.Name)]
public sealed class RealTracLoginTests(TracTemplate template) : IDisposable
{
    private readonly TracTestDirectory _projects = new();
    private readonly TracTestDirectory _run = new();

    public void Dispose()
    {
        _projects.Dispose();
        _run.Dispose();
    }

    [Fact]
    public async Task LoggingIn_WithAnHtpasswdOrAnHtdigestPassword_ShowsLoggedInAs()
    {
        template.CopyTo(Path.Combine(_projects.Path, "alpha"), "Alpha Project");
        template.CopyTo(Path.Combine(_projects.Path, "beta"), "Beta Project");
        var htpasswd = Path.Combine(_run.Path, "htpasswd");
        var htdigest = Path.Combine(_run.Path, "htdigest");
        await ApacheTools.HtpasswdAsync("-B", "-c", htpasswd, "alice", "alice's secret");
        await ApacheTools.HtdigestAsync(["-c", htdigest, "Beta", "bob"], "bob's secret");
        await using var host = await TracTestHost.CreateBuilder(_projects)
            .UseKestrel()
            .UseTime(TracTestTime.StartingNow())
            .ConfigureTrac(o =>
            {
                o.Login.Files["*"] = new() { Path = htpasswd };
                o.Login.Files["beta"] = new() { Path = htdigest, Format = PasswordFileFormat.Htdigest, Realm = "Beta" };
            })
            .ConfigureServices(s => s.AddAuthentication().AddTracLogin())
            .UseTrac(t => t
                .ResolveEnvironment()
                .NormalizeRemoteUser()
                .RecycleWorkers(o => o.StartTimeout = TimeSpan.FromSeconds(60))
                .DispatchToTrac(RealTrac.Configure(_run.Path)))
            .StartAsync();
        var alphaLogin = new Uri(host.BaseAddress!, "/alpha/login");
        var betaLogin = new Uri(host.BaseAddress!, "/beta/login");
        using var alice = Client(host, new NetworkCredential("alice", "alice's secret"), alphaLogin, "Basic");
        using var bob = Client(host, new NetworkCredential("bob", "bob's secret"), betaLogin, "Digest");
        using var stranger = Client(host);

        using var challenge = await stranger.GetAsync(alphaLogin);
        using var aliceLogin = await alice.GetAsync(alphaLogin);
        var alicePage = await alice.GetStringAsync("/alpha/wiki/WikiStart");
        using var bobLogin = await bob.GetAsync(betaLogin);
        var bobPage = await bob.GetStringAsync("/beta/wiki/WikiStart");
        using var withoutCookie = new HttpRequestMessage(HttpMethod.Get, "/alpha/wiki/WikiStart");
        withoutCookie.Headers.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:alice's secret")));
        using var credentialsElsewhere = await stranger.SendAsync(withoutCookie);

        Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
        Assert.Equal("Basic realm=\"Trac\", charset=\"UTF-8\"", challenge.Headers.WwwAuthenticate.ToString());
        // Trac takes the user, sets its session cookie, and sends the browser back.
        Assert.True(aliceLogin.StatusCode is HttpStatusCode.SeeOther or HttpStatusCode.Found, $"login answered {aliceLogin.StatusCode}");
        Assert.Contains(aliceLogin.Headers.GetValues("Set-Cookie"), c => c.StartsWith("trac_auth=", StringComparison.Ordinal));
        Assert.Contains("logged in as <span class=\"trac-author-user\">alice</span>", alicePage, StringComparison.Ordinal);
        Assert.True(bobLogin.StatusCode is HttpStatusCode.SeeOther or HttpStatusCode.Found, $"Digest login answered {bobLogin.StatusCode}");
        Assert.Contains("logged in as <span class=\"trac-author-user\">bob</span>", bobPage, StringComparison.Ordinal);
        // Away from the login path the credentials are not Trac's concern: without its cookie the page is anonymous.
        var anonymous = await credentialsElsewhere.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, credentialsElsewhere.StatusCode);
        Assert.DoesNotContain("logged in as", anonymous, StringComparison.Ordinal);
    }

    private static HttpClient Client(TracTestHost host, NetworkCredential? credential = null, Uri? at = null, string scheme = "Basic")
    {
        var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() };
        if (credential is not null)
        {
            handler.Credentials = new CredentialCache { { at!, scheme, credential } };
        }

        return new HttpClient(handler) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
    }
}
