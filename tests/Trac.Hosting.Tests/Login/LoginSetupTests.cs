using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Trac.Hosting.Login;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.Login;

/// <summary>Setting up password-file logins: from configuration, and every mistake stopping start-up with the key to fix.</summary>
public sealed class LoginSetupTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();
    private readonly TracTestDirectory _files = new();

    public LoginSetupTests() => _projects.CreateEnvironment("alpha");

    public void Dispose()
    {
        _projects.Dispose();
        _files.Dispose();
    }

    [Fact]
    public async Task FromConfiguration_UseTracWithoutArguments_LogsIn()
    {
        var file = await HtpasswdAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Trac:Environment:ParentDirectory"] = _projects.Path,
            ["Trac:Login:Files:*:Path"] = file,
            ["Trac:Login:Files:*:Realm"] = "Our Trac",
            ["Trac:Login:MaxFailures"] = "4",
            ["Trac:Login:FailurePeriod"] = "00:01:00",
        }).Build();
        var recorder = new TracRecorder();
        using var host = await TestHosts.StartAppAsync(
            s => s.AddTrac(configuration.GetSection("Trac")).AddAuthentication().AddTracLogin(),
            app =>
            {
                app.UseTrac();
                app.Run(recorder.Dispatch);
            });
        using var client = host.GetTestClient();

        using var challenge = await client.GetAsync("/alpha/login");
        using var login = new HttpRequestMessage(HttpMethod.Get, "/alpha/login");
        login.Headers.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:pw")));
        using var response = await client.SendAsync(login);

        Assert.Equal("Basic realm=\"Our Trac\", charset=\"UTF-8\"", challenge.Headers.WwwAuthenticate.ToString());
        Assert.Equal("alpha#0 /alpha|/login user=alice", await response.Content.ReadAsStringAsync());
        var options = host.Services.GetRequiredService<IOptions<TracOptions>>().Value.Login;
        Assert.Equal(4, options.MaxFailures);
        Assert.Equal(TimeSpan.FromMinutes(1), options.FailurePeriod);
    }

    [Fact]
    public async Task FilesWithoutTheScheme_StopStartUp_SayingToAddIt()
    {
        var file = await HtpasswdAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Builder(o => o.Files["*"] = new() { Path = file }, addScheme: false).StartAsync());

        Assert.Contains("builder.Services.AddAuthentication().AddTracLogin()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SchemeWithoutFiles_StopsStartUp_SayingWhichKeyToSet()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Builder(_ => { }).StartAsync());

        Assert.Contains("Trac:Login:Files:*:Path", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingFile_StopsStartUp_NamingTheKeyThePathAndHowToCreateIt()
    {
        var missing = Path.Combine(_files.Path, "nowhere", "htdigest");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Builder(o => o.Files["alpha"] = new() { Path = missing, Format = PasswordFileFormat.Htdigest }).StartAsync());

        Assert.StartsWith($"Trac:Login:Files:alpha:Path '{missing}' cannot be read:", error.Message, StringComparison.Ordinal);
        Assert.Contains("htdigest -c", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RelativePath_IsTakenFromTheContentRoot()
    {
        var file = await HtpasswdAsync();
        var contentRoot = Path.GetDirectoryName(file)!;
        var recorder = new TracRecorder();
        using var host = await TestHosts.StartAppAsync(
            s => s.AddTrac(o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.Login.Files["*"] = new() { Path = Path.GetFileName(file) };
            }).AddAuthentication().AddTracLogin(),
            app =>
            {
                app.UseTrac();
                app.Run(recorder.Dispatch);
            },
            contentRoot);
        using var login = new HttpRequestMessage(HttpMethod.Get, "/alpha/login");
        login.Headers.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:pw")));

        using var response = await host.GetTestClient().SendAsync(login);

        Assert.Equal("alpha#0 /alpha|/login user=alice", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task InvalidOptions_AreRefused_NamingEachKey()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => Builder(o =>
        {
            o.Files["*"] = new() { Path = " " };
            o.Files["a/b"] = new() { Path = "x" };
            o.Files["alpha"] = new() { Path = "x", Realm = "say \"hi\"" };
            o.Files["beta"] = new() { Path = "x", Realm = "a:b", Format = PasswordFileFormat.Htdigest };
            o.Files["gamma"] = new() { Path = "x", Format = (PasswordFileFormat)7 };
            o.MaxFailures = 0;
            o.FailurePeriod = TimeSpan.Zero;
            o.Files["delta"] = new() { Path = "x", Realm = "Café" };
            o.NonceLifetime = TimeSpan.FromDays(2);
            o.VerifiedLoginLifetime = TimeSpan.FromSeconds(-1);
        }).StartAsync());

        Assert.Contains("Trac:Login:Files:*:Path is not set", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Login:Files:a/b is not a project name", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Login:Files:alpha:Realm 'say \"hi\"' cannot be a realm", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Login:Files:beta:Realm 'a:b' cannot be a realm", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Login:Files:gamma:Format '7' is not one of Htpasswd, Htdigest", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Login:MaxFailures 0 must be at least 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Login:Files:delta:Realm 'Café' cannot be a realm: it must be printable ASCII", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Login:FailurePeriod 00:00:00 must be positive and at most a day", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Login:NonceLifetime 2.00:00:00 must be positive and at most a day", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Login:VerifiedLoginLifetime -00:00:01 must be between '00:00:00' (check every login) and a day", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PipelineWithoutTheRemoteUserStage_OrWithoutLoginChallenges_StopsStartUp()
    {
        var file = await HtpasswdAsync();

        var noStage = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Builder(o => o.Files["*"] = new() { Path = file }).UseTrac(t => t.ResolveEnvironment()).StartAsync());
        var noChallenge = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Builder(o => o.Files["*"] = new() { Path = file }).UseTrac(t => t.ResolveEnvironment().NormalizeRemoteUser(r => r.ChallengeLoginPaths = false)).StartAsync());
        var noPrincipal = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Builder(o => o.Files["*"] = new() { Path = file })
                .UseTrac(t => t.ResolveEnvironment().NormalizeRemoteUser(r => r.Sources.Add(Hosting.RemoteUser.RemoteUserSource.Header))).StartAsync());

        var noProjects = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Builder(o => o.Files["alpha"] = new() { Path = file }).UseTrac(t => t.NormalizeRemoteUser()).StartAsync());

        Assert.Contains("add .ResolveEnvironment() first", noProjects.Message, StringComparison.Ordinal);
        Assert.Contains("add .NormalizeRemoteUser()", noStage.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:RemoteUser:ChallengeLoginPaths is false", noChallenge.Message, StringComparison.Ordinal);
        Assert.Contains("add Principal to the sources", noPrincipal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddTracLogin_Twice_OrWithoutAName_Throws()
    {
        var services = new ServiceCollection();
        var authentication = services.AddAuthentication().AddTracLogin();

        Assert.Throws<InvalidOperationException>(() => authentication.AddTracLogin("Other"));
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddAuthentication().AddTracLogin(" "));
        Assert.Throws<ArgumentNullException>(() => TracLoginAuthenticationBuilderExtensions.AddTracLogin(null!));
    }

    [Fact]
    public async Task HtdigestFileWithoutUsersInTheRealm_IsWarnedAbout_NamingTheRealmsItHas()
    {
        var file = Path.Combine(_files.Path, "htdigest");
        await ApacheTools.HtdigestAsync(["-c", file, "Elsewhere", "alice"], "pw");
        await using var host = await Builder(o => o.Files["*"] = new() { Path = file, Format = PasswordFileFormat.Htdigest }).StartAsync();

        var warning = Assert.Single(host.Logs.Entries, e => e.Id.Name == "PasswordFileNoUsersInRealm");

        Assert.Contains("realm 'Trac'", warning.Message, StringComparison.Ordinal);
        Assert.Contains("'Elsewhere'", warning.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Login:Files:*:Realm", warning.Message, StringComparison.Ordinal);
    }

    private async Task<string> HtpasswdAsync()
    {
        var file = Path.Combine(_files.Path, "htpasswd");
        await ApacheTools.HtpasswdAsync("-B", "-c", file, "alice", "pw");
        return file;
    }

    private TracTestHostBuilder Builder(Action<LoginOptions> login, bool addScheme = true)
    {
        var builder = TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => login(o.Login))
            .UseTrac((trac, recorder) => trac.ResolveEnvironment().NormalizeRemoteUser().Dispatch(recorder.Dispatch));
        return addScheme ? builder.ConfigureServices(s => s.AddAuthentication().AddTracLogin()) : builder;
    }
}
