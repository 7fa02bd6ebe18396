using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Login;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.Login;

/// <summary>
/// The password-file scheme through the pipeline: files written by Apache's <c>htpasswd</c> and <c>htdigest</c>,
/// logins at <c>/&lt;project&gt;/login</c> with Basic and Digest (a real <see cref="HttpClient"/> on Kestrel for
/// Digest), stale and replayed nonces, per-project files and <c>*</c>, reload, throttling on a manual clock.
/// </summary>
public sealed class PasswordLoginTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();
    private readonly TracTestDirectory _files = new();

    public PasswordLoginTests()
    {
        _projects.CreateEnvironment("alpha");
        _projects.CreateEnvironment("beta");
    }

    public void Dispose()
    {
        _projects.Dispose();
        _files.Dispose();
    }

    [Theory]
    [InlineData("-B")]
    [InlineData("-m")]
    [InlineData("-5")]
    public async Task Basic_RightPasswordLogsIn_WrongOneIsChallenged(string format)
    {
        var file = await HtpasswdAsync(format, ("alice", "s3cret: äö"));
        await using var host = await StartAsync(o => o.Files["*"] = new() { Path = file });

        var right = await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "s3cret: äö")).SendAsync();
        var wrong = await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "s3cret")).SendAsync();
        var none = await host.Request("alpha", "/login").SendAsync();

        Assert.Equal(200, right.StatusCode);
        Assert.EndsWith("user=alice", right.Body, StringComparison.Ordinal);
        Assert.All(new[] { wrong, none }, r =>
        {
            Assert.Equal(401, r.StatusCode);
            Assert.Equal("Basic realm=\"Trac\", charset=\"UTF-8\"", r.Headers["WWW-Authenticate"]);
        });
        Assert.Equal(1, host.Metrics.Sum("trac.login.attempts", (LoginResult.Tag, LoginResult.Success)));
        Assert.Equal(1, host.Metrics.Sum("trac.login.attempts", (LoginResult.Tag, LoginResult.Failure)));
    }

    [Fact]
    public async Task CredentialsElsewhere_AreNotChecked_SoBrowsingStaysAnonymous()
    {
        // tracd's rule: only the login path logs in; elsewhere Trac's cookie says who is logged in, and its logout works.
        var file = await HtpasswdAsync("-B", ("alice", "pw"));
        await using var host = await StartAsync(o => o.Files["*"] = new() { Path = file });

        var wiki = await host.Request("alpha", "/wiki").WithHeader("Authorization", Basic("alice", "pw")).SendAsync();
        var wrongWiki = await host.Request("alpha", "/wiki").WithHeader("Authorization", Basic("alice", "nope")).SendAsync();

        Assert.Equal(200, wiki.StatusCode);
        Assert.EndsWith("user=-", wiki.Body, StringComparison.Ordinal);
        Assert.Equal(200, wrongWiki.StatusCode);
        Assert.Equal(0, host.Metrics.Sum("trac.login.attempts"));
    }

    [Fact]
    public async Task LoggedInName_IsNormalizedLikeAnyOther()
    {
        var file = await HtpasswdAsync("-m", (@"CORP\Alice", "pw"));
        await using var host = await StartAsync(o =>
        {
            o.Files["*"] = new() { Path = file };
        }, remoteUser: r => r.Case = RemoteUserCase.Lower);

        var response = await host.Request("alpha", "/login").WithHeader("Authorization", Basic(@"CORP\Alice", "pw")).SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.EndsWith("user=alice", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProjectFiles_AndTheStarDefault_EachCheckTheirOwnUsers()
    {
        var alphaFile = await HtpasswdAsync("-B", ("alice", "a-pw"));
        var anyFile = await HtpasswdAsync("-m", ("bob", "b-pw"));
        await using var host = await StartAsync(o =>
        {
            o.Files["alpha"] = new() { Path = alphaFile, Realm = "Alpha team" };
            o.Files["*"] = new() { Path = anyFile };
        });

        async Task<int> LogIn(string project, string user, string password) =>
            (await host.Request(project, "/login").WithHeader("Authorization", Basic(user, password)).SendAsync()).StatusCode;

        Assert.Equal(200, await LogIn("alpha", "alice", "a-pw"));
        Assert.Equal(401, await LogIn("alpha", "bob", "b-pw"));
        Assert.Equal(200, await LogIn("beta", "bob", "b-pw"));
        Assert.Equal(401, await LogIn("beta", "alice", "a-pw"));
        Assert.Equal("Basic realm=\"Alpha team\", charset=\"UTF-8\"", (await host.Request("alpha", "/login").SendAsync()).Headers["WWW-Authenticate"]);
        Assert.Equal("Basic realm=\"Trac\", charset=\"UTF-8\"", (await host.Request("beta", "/login").SendAsync()).Headers["WWW-Authenticate"]);
    }

    [Fact]
    public async Task ProjectWithoutAFile_GetsTracsMessageAndOneWarning()
    {
        var alphaFile = await HtpasswdAsync("-B", ("alice", "a-pw"));
        await using var host = await StartAsync(o => o.Files["alpha"] = new() { Path = alphaFile }, defaultScheme: true);

        var first = await host.Request("beta", "/login").SendAsync();
        var second = await host.Request("beta", "/login").WithHeader("Authorization", Basic("alice", "a-pw")).SendAsync();

        Assert.Equal(500, first.StatusCode);
        Assert.Contains("Authentication information not available", first.Body, StringComparison.Ordinal);
        Assert.Equal(500, second.StatusCode);
        var warning = Assert.Single(host.Logs.Entries, e => e.Id.Name == "LoginWithoutPasswordFile");
        Assert.Contains("Trac:Login:Files:beta", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChangedFile_IsReadAgain_AndForgetsWhatWasVerified()
    {
        var file = await HtpasswdAsync("-B", ("alice", "old"));
        await using var host = await StartAsync(o => o.Files["*"] = new() { Path = file });
        Assert.Equal(200, (await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "old")).SendAsync()).StatusCode);

        var reloaded = host.Logs.WaitForNextAsync("PasswordFileLoaded");
        await ApacheTools.HtpasswdAsync("-B", file, "alice", "new");
        // htpasswd empties the file before it writes it again: it is read once the change has been quiet a while.
        await host.Time.AdvanceUntilAsync(reloaded, TimeSpan.FromMilliseconds(50));

        Assert.Equal(401, (await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "old")).SendAsync()).StatusCode);
        Assert.Equal(200, (await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "new")).SendAsync()).StatusCode);
    }

    [Fact]
    public async Task FileThatBecomesUnreadable_KeepsItsLastGoodUsers()
    {
        var file = await HtpasswdAsync("-m", ("alice", "pw"));
        await using var host = await StartAsync(o => o.Files["*"] = new() { Path = file });

        var failed = host.Logs.WaitForNextAsync("PasswordFileReloadFailed");
        File.Delete(file);
        await host.Time.AdvanceUntilAsync(failed, TimeSpan.FromMilliseconds(50));

        Assert.Equal(200, (await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "pw")).SendAsync()).StatusCode);
    }

    [Fact]
    public async Task FailedLogins_AreThrottledWith429_UntilTheManualClockForgivesOne()
    {
        var file = await HtpasswdAsync("-m", ("alice", "right"));
        var clock = TracTestTime.StartingNow();
        await using var host = await StartAsync(o =>
        {
            o.Files["*"] = new() { Path = file };
            o.MaxFailures = 3;
            o.FailurePeriod = TimeSpan.FromSeconds(40);
        }, clock);

        Task<TracTestResponse> LogIn(string password, string peer = "192.0.2.10") =>
            host.Request("alpha", "/login").FromPeer(peer).WithHeader("Authorization", Basic("alice", password)).SendAsync();

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(401, (await LogIn("wrong")).StatusCode);
        }

        var throttled = await LogIn("right");
        var otherAddress = await LogIn("right", "192.0.2.99");
        clock.Advance(TimeSpan.FromSeconds(39));
        var stillThrottled = await LogIn("right");
        clock.Advance(TimeSpan.FromSeconds(1));
        var forgiven = await LogIn("right");

        Assert.Equal(429, throttled.StatusCode);
        Assert.Equal("40", throttled.Headers["Retry-After"]);
        Assert.Contains("too many failed logins", throttled.Body, StringComparison.Ordinal);
        // The user is throttled too, not only the address: a guesser cannot move to another address.
        Assert.Equal(429, otherAddress.StatusCode);
        Assert.Equal(429, stillThrottled.StatusCode);
        Assert.Equal(200, forgiven.StatusCode);
        Assert.Equal(3, host.Metrics.Sum("trac.login.attempts", (LoginResult.Tag, LoginResult.Throttled)));
        var warning = Assert.Single(host.Logs.Entries, e => e.Id.Name == "LoginsThrottled");
        Assert.DoesNotContain("right", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NothingOfAPasswordOrHash_IsLogged()
    {
        var file = await HtpasswdAsync("-m", ("alice", "Sup3rSecret"));
        await using var host = await StartAsync(o => o.Files["*"] = new() { Path = file });
        var hash = File.ReadAllText(file).Split(':')[1].Trim();

        await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "Sup3rSecret")).SendAsync();
        await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "Wr0ngGuess")).SendAsync();
        await host.Request("alpha", "/login").WithHeader("Authorization", "Basic !!not-base64").SendAsync();

        Assert.Contains(host.Logs.Entries, e => e.Id.Name == "LoginFailed");
        Assert.All(host.Logs.Entries, e =>
        {
            Assert.DoesNotContain("Sup3rSecret", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("Wr0ngGuess", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(hash, e.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task BasicOverPlainHttpFromAnotherMachine_IsWarnedOnce()
    {
        var file = await HtpasswdAsync("-m", ("alice", "pw"));
        await using var host = await StartAsync(o => o.Files["*"] = new() { Path = file });

        await host.Request("alpha", "/login").FromPeer("127.0.0.1").WithHeader("Authorization", Basic("alice", "pw")).SendAsync();
        Assert.DoesNotContain(host.Logs.Entries, e => e.Id.Name == "BasicLoginOverPlainHttp");
        await host.Request("alpha", "/login").FromPeer("192.0.2.7").WithHeader("Authorization", Basic("alice", "pw")).SendAsync();
        await host.Request("alpha", "/login").FromPeer("192.0.2.8").WithHeader("Authorization", Basic("alice", "pw")).SendAsync();

        var warning = Assert.Single(host.Logs.Entries, e => e.Id.Name == "BasicLoginOverPlainHttp");
        Assert.Contains("192.0.2.7", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Digest_WithHttpClientsCredentialCache_LogsInOverKestrel()
    {
        var file = await HtdigestAsync("Trac", ("alice", "Wonder land"));
        await using var host = await StartAsync(o => o.Files["*"] = new() { Path = file, Format = PasswordFileFormat.Htdigest }, kestrel: true);
        var login = new Uri(host.BaseAddress!, "/alpha/login?from=test");

        using var right = Client(login, "alice", "Wonder land");
        using var wrong = Client(login, "alice", "wonder land");
        var ok = await right.GetStringAsync(login);
        using var refused = await wrong.GetAsync(login);
        using var plain = host.CreateClient();
        using var anonymous = await plain.GetAsync(login);

        Assert.EndsWith("user=alice", ok, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        var challenge = Assert.Single(anonymous.Headers.WwwAuthenticate);
        Assert.Equal("Digest", challenge.Scheme);
        Assert.Contains("realm=\"Trac\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.Contains("qop=\"auth\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.DoesNotContain("stale", challenge.Parameter, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Digest_StaleNonce_IsChallengedWithStaleTrue_AndAReplayIsRefused()
    {
        var file = await HtdigestAsync("Trac", ("alice", "pw"));
        var clock = TracTestTime.StartingNow();
        await using var host = await StartAsync(o =>
        {
            o.Files["*"] = new() { Path = file, Format = PasswordFileFormat.Htdigest };
            o.NonceLifetime = TimeSpan.FromMinutes(5);
        }, clock);
        var nonce = NonceOf((await host.Request("alpha", "/login").SendAsync()).Headers["WWW-Authenticate"]);

        var first = await host.Request("alpha", "/login").WithHeader("Authorization", DigestAnswer("alice", "pw", nonce, 1)).SendAsync();
        var replayed = await host.Request("alpha", "/login").WithHeader("Authorization", DigestAnswer("alice", "pw", nonce, 1)).SendAsync();
        var next = await host.Request("alpha", "/login").WithHeader("Authorization", DigestAnswer("alice", "pw", nonce, 2)).SendAsync();
        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var stale = await host.Request("alpha", "/login").WithHeader("Authorization", DigestAnswer("alice", "pw", nonce, 3)).SendAsync();
        var staleWrong = await host.Request("alpha", "/login").WithHeader("Authorization", DigestAnswer("alice", "nope", nonce, 4)).SendAsync();
        var fresh = NonceOf(stale.Headers["WWW-Authenticate"]);
        var again = await host.Request("alpha", "/login").WithHeader("Authorization", DigestAnswer("alice", "pw", fresh, 1)).SendAsync();

        Assert.Equal(200, first.StatusCode);
        Assert.Equal(401, replayed.StatusCode);
        Assert.DoesNotContain("stale=true", replayed.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.Equal(200, next.StatusCode);
        Assert.Equal(401, stale.StatusCode);
        Assert.Contains("stale=true", stale.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        // stale=true tells a client its password was right: never for a wrong one.
        Assert.DoesNotContain("stale=true", staleWrong.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        Assert.NotEqual(nonce, fresh);
        Assert.Equal(200, again.StatusCode);
        Assert.Equal(1, host.Metrics.Sum("trac.login.attempts", (LoginResult.Tag, LoginResult.Replayed)));
        Assert.Equal(1, host.Metrics.Sum("trac.login.attempts", (LoginResult.Tag, LoginResult.Stale)));
    }

    [Theory]
    [InlineData("Other realm", "/alpha/login")]
    [InlineData("Trac", "/alpha/login/elsewhere")]
    public async Task Digest_AnswerForAnotherRealmOrUri_IsABadRequest_SayingWhich(string realm, string uri)
    {
        var file = await HtdigestAsync("Trac", ("alice", "pw"));
        await using var host = await StartAsync(o => o.Files["*"] = new() { Path = file, Format = PasswordFileFormat.Htdigest });
        var nonce = NonceOf((await host.Request("alpha", "/login").SendAsync()).Headers["WWW-Authenticate"]);

        var response = await host.Request("alpha", "/login")
            .WithHeader("Authorization", DigestAnswer("alice", "pw", nonce, 1, realm, uri)).SendAsync();

        // RFC 7616: an answer for another URI is a bad request; a proxy that rewrites the path is the usual cause.
        Assert.Equal(400, response.StatusCode);
        Assert.Contains(realm == "Trac" ? "another URI" : "another realm", response.Body, StringComparison.Ordinal);
        Assert.Equal(1, host.Metrics.Sum("trac.login.attempts", (LoginResult.Tag, LoginResult.Malformed)));
    }

    [Fact]
    public async Task HtdigestFile_AlsoAcceptsBasicFromAClientThatSendsIt()
    {
        var file = await HtdigestAsync("Trac", ("alice", "pw"));
        await using var host = await StartAsync(o => o.Files["*"] = new() { Path = file, Format = PasswordFileFormat.Htdigest });

        var response = await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "pw")).SendAsync();

        Assert.Equal(200, response.StatusCode);
    }

    [Fact]
    public async Task HostsUseAuthenticationFirst_DoesNotDecideBeforeTheProjectIsKnown()
    {
        var alphaFile = await HtpasswdAsync("-B", ("alice", "pw"));
        await using var host = await StartAsync(o => o.Files["alpha"] = new() { Path = alphaFile }, defaultScheme: true,
            before: app => app.UseAuthentication());

        var response = await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "pw")).SendAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.EndsWith("user=alice", response.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Basic !!not-base64", "not Base64 of UTF-8 user:password")]
    [InlineData("Basic /w==", "not Base64 of UTF-8 user:password")]
    [InlineData("Basic OnB3", "not Base64 of UTF-8 user:password")]
    [InlineData("LONG", "longer than 1024 characters each")]
    [InlineData("TWO", "more than one Authorization header")]
    public async Task UnreadableCredentials_AreABadRequest_SayingWhat_WithoutAnyHashWork(string header, string reason)
    {
        var file = await HtpasswdAsync("-5", ("alice", "pw"));
        await using var host = await StartAsync(o => o.Files["*"] = new() { Path = file });
        var request = host.Request("alpha", "/login");
        request = header switch
        {
            // A password a SHA crypt file would hash with quadratic work: refused unread.
            "LONG" => request.WithHeader("Authorization", Basic("alice", new string('x', 8000))),
            "TWO" => request.WithHeader("Authorization", Basic("alice", "pw"), Basic("bob", "pw")),
            _ => request.WithHeader("Authorization", header),
        };

        var response = await request.SendAsync();

        Assert.Equal(400, response.StatusCode);
        Assert.Equal($"Bad Request: the {(header == "TWO" ? "request has" : "Basic credentials are")} {reason}.", response.Body);
        Assert.Equal(1, host.Metrics.Sum("trac.login.attempts", (LoginResult.Tag, LoginResult.Malformed)));
    }

    [Fact]
    public async Task HostsUseAuthenticationWithOnlyAStarFile_StillLogsInOnLoginPathsOnly()
    {
        var file = await HtpasswdAsync("-m", ("alice", "pw"));
        await using var host = await StartAsync(o => o.Files["*"] = new() { Path = file }, defaultScheme: true,
            before: app => app.UseAuthentication());

        var wiki = await host.Request("alpha", "/wiki").WithHeader("Authorization", Basic("alice", "pw")).SendAsync();
        var login = await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "pw")).SendAsync();

        Assert.EndsWith("user=-", wiki.Body, StringComparison.Ordinal);
        Assert.EndsWith("user=alice", login.Body, StringComparison.Ordinal);
        Assert.Equal(1, host.Metrics.Sum("trac.login.attempts"));
    }

    [Fact]
    public async Task ProjectKeys_IgnoreCase_AsConfigurationKeysDo()
    {
        var alphaFile = await HtpasswdAsync("-B", ("alice", "a-pw"));
        var anyFile = await HtpasswdAsync("-m", ("bob", "b-pw"));
        await using var host = await StartAsync(o =>
        {
            o.Files["ALPHA"] = new() { Path = alphaFile };
            o.Files["*"] = new() { Path = anyFile };
        });

        Assert.Equal(401, (await host.Request("alpha", "/login").WithHeader("Authorization", Basic("bob", "b-pw")).SendAsync()).StatusCode);
        Assert.Equal(200, (await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "a-pw")).SendAsync()).StatusCode);
    }

    [Fact]
    public async Task DotFile_IsReadAgainWhenItChanges()
    {
        var file = Path.Combine(_files.Path, ".htpasswd");
        await ApacheTools.HtpasswdAsync("-m", "-c", file, "alice", "old");
        await using var host = await StartAsync(o => o.Files["*"] = new() { Path = file });

        var reloaded = host.Logs.WaitForNextAsync("PasswordFileLoaded");
        await ApacheTools.HtpasswdAsync("-m", file, "alice", "new");
        await host.Time.AdvanceUntilAsync(reloaded, TimeSpan.FromMilliseconds(50));

        Assert.Equal(200, (await host.Request("alpha", "/login").WithHeader("Authorization", Basic("alice", "new")).SendAsync()).StatusCode);
    }

    [Fact]
    public async Task AVerifiedLogin_PassesWhileGuessersThrottleItsUser_WithoutHashWork()
    {
        var file = await HtpasswdAsync("-m", ("alice", "right"));
        await using var host = await StartAsync(o =>
        {
            o.Files["*"] = new() { Path = file };
            o.MaxFailures = 2;
        });
        Assert.Equal(200, (await host.Request("alpha", "/login").FromPeer("192.0.2.1").WithHeader("Authorization", Basic("alice", "right")).SendAsync()).StatusCode);

        for (var i = 0; i < 2; i++)
        {
            await host.Request("alpha", "/login").FromPeer("198.51.100.7").WithHeader("Authorization", Basic("alice", "guess" + i)).SendAsync();
        }

        var guesser = await host.Request("alpha", "/login").FromPeer("198.51.100.8").WithHeader("Authorization", Basic("alice", "guess2")).SendAsync();
        var owner = await host.Request("alpha", "/login").FromPeer("192.0.2.1").WithHeader("Authorization", Basic("alice", "right")).SendAsync();

        Assert.Equal(429, guesser.StatusCode);
        Assert.Equal(200, owner.StatusCode);
    }

    private static string Basic(string user, string password) =>
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    private static string NonceOf(string challenge)
    {
        var start = challenge.IndexOf("nonce=\"", StringComparison.Ordinal) + 7;
        return challenge[start..challenge.IndexOf('"', start)];
    }

    // A client's answer as RFC 7616 computes it (MD5, qop=auth; the MD5 helper is checked against RFC 2617's example).
    private static string DigestAnswer(string user, string password, string nonce, int count, string realm = "Trac", string uri = "/alpha/login")
    {
        static string Md5(string text) => Digest.Md5Hex(text);
        var nc = count.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
        const string Cnonce = "0a4f113b";
        var response = Md5($"{Md5($"{user}:{realm}:{password}")}:{nonce}:{nc}:{Cnonce}:auth:{Md5($"GET:{uri}")}");
        return $"Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", qop=auth, nc={nc}, cnonce=\"{Cnonce}\", response=\"{response}\", algorithm=MD5";
    }

    private static HttpClient Client(Uri uri, string user, string password) =>
        new(new HttpClientHandler { Credentials = new CredentialCache { { uri, "Digest", new NetworkCredential(user, password) } } });

    private async Task<string> HtpasswdAsync(string format, params (string User, string Password)[] users)
    {
        var file = Path.Combine(_files.Path, Guid.NewGuid().ToString("N") + ".htpasswd");
        for (var i = 0; i < users.Length; i++)
        {
            await ApacheTools.HtpasswdAsync(i == 0 ? [format, "-c", file, users[i].User, users[i].Password] : [format, file, users[i].User, users[i].Password]);
        }

        return file;
    }

    private async Task<string> HtdigestAsync(string realm, params (string User, string Password)[] users)
    {
        var file = Path.Combine(_files.Path, Guid.NewGuid().ToString("N") + ".htdigest");
        for (var i = 0; i < users.Length; i++)
        {
            await ApacheTools.HtdigestAsync(i == 0 ? ["-c", file, realm, users[i].User] : [file, realm, users[i].User], users[i].Password);
        }

        return file;
    }

    private Task<TracTestHost> StartAsync(Action<LoginOptions> login, TimeProvider? time = null, bool kestrel = false,
        Action<RemoteUserOptions>? remoteUser = null, bool defaultScheme = false, Action<IApplicationBuilder>? before = null)
    {
        var builder = TracTestHost.CreateBuilder(_projects)
            .ConfigureTrac(o => login(o.Login))
            .ConfigureServices(s => (defaultScheme ? s.AddAuthentication(TracLoginDefaults.AuthenticationScheme) : s.AddAuthentication()).AddTracLogin())
            .UseTrac((trac, recorder) => trac.ResolveEnvironment().NormalizeRemoteUser(remoteUser).Dispatch(recorder.Dispatch));
        if (time is not null)
        {
            builder.UseTime(time);
        }

        if (kestrel)
        {
            builder.UseKestrel();
        }

        if (before is not null)
        {
            builder.UseBefore(before);
        }

        return builder.StartAsync();
    }
}
