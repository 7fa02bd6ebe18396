using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.RemoteUser;

/// <summary>Each source, the proxy trust rules, header removal and the user the dispatch sees, through TestServer.</summary>
public sealed class RemoteUserMiddlewareTests : IDisposable
{
    private const string Loopback = "127.0.0.1";
    private const string Stranger = "203.0.113.9";
    private readonly TracTestDirectory _projects = new();
    private Action<HttpContext>? _onDispatch;

    public RemoteUserMiddlewareTests() => _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));

    public void Dispose() => _projects.Dispose();

    /// <summary>Answers with what the dispatch saw: the feature, User, and the user header.</summary>
    private Task Echo(HttpContext context)
    {
        _onDispatch?.Invoke(context);
        var feature = context.Features.Get<ITracRemoteUserFeature>();
        var identity = context.User.Identity;
        return context.Response.WriteAsync(
            $"user={context.GetRemoteUser() ?? "-"};original={feature?.OriginalValue ?? "-"};source={feature?.Source?.ToString() ?? "-"};" +
            $"identity={(identity?.IsAuthenticated == true ? identity.Name : "-")};auth={identity?.AuthenticationType ?? "-"};" +
            $"header={context.Request.Headers["X-Remote-User"]};underscore={context.Request.Headers["X_Remote_User"]}");
    }

    [Fact]
    public async Task Principal_IsNormalizedAndUserAgrees()
    {
        await using var host = await Host().StartAsync();
        ClaimsPrincipal? seen = null;
        _onDispatch = c => seen = c.User;

        var body = await BodyAsync(host.Request("alpha", "/wiki").AsUser(new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, @"CORP\Alice"), new Claim(ClaimTypes.Role, "dev")], "Negotiate"))));

        Assert.Equal("user=Alice;original=CORP\\Alice;source=Principal;identity=Alice;auth=Negotiate;header=;underscore=", body);
        Assert.True(seen!.IsInRole("dev"));
    }

    [Fact]
    public async Task ServerVariable_IsUsedWithItsAuthenticationType()
    {
        await using var host = await Host().StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").WithServerVariable("REMOTE_USER", @"CORP\bob").WithServerVariable("AUTH_TYPE", "Negotiate"));

        Assert.Equal("user=bob;original=CORP\\bob;source=ServerVariable;identity=bob;auth=Negotiate;header=;underscore=", body);
    }

    [Fact]
    public async Task EmptyServerVariable_IsAnonymous_TheSeedsIisFix()
    {
        await using var host = await Host().StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").WithServerVariable("REMOTE_USER", string.Empty));

        Assert.Equal("user=-;original=;source=ServerVariable;identity=-;auth=-;header=;underscore=", body);
    }

    [Fact]
    public async Task AnonymousLogonPrincipal_BecomesAnonymousForUserToo()
    {
        await using var host = await Host().StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").AsUser(@"NT AUTHORITY\ANONYMOUS LOGON", authenticationType: "Negotiate"));

        Assert.StartsWith("user=-;original=NT AUTHORITY\\ANONYMOUS LOGON;source=Principal;identity=-;", body, StringComparison.Ordinal);
    }

    // Row 17
    [Fact]
    public async Task HeaderFromUntrustedPeer_IsIgnoredAndRemoved()
    {
        await using var host = await Host(o => o.KnownProxies.Add("127.0.0.1")).StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").FromPeer(Stranger).WithHeader("X-Remote-User", "admin"));

        Assert.Equal("user=-;original=-;source=-;identity=-;auth=-;header=;underscore=", body);
    }

    [Fact]
    public async Task HeaderWithNoProxyConfigured_IsNeverTrusted()
    {
        await using var host = await Host().StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").FromPeer(Loopback).WithHeader("X-Remote-User", "admin"));

        Assert.StartsWith("user=-;", body, StringComparison.Ordinal);
        Assert.EndsWith("header=;underscore=", body, StringComparison.Ordinal);
    }

    // Row 18
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::ffff:127.0.0.1")]
    public async Task HeaderFromTrustedLoopback_IsTheUser(string peer)
    {
        await using var host = await Host(o => o.KnownProxies.Add("127.0.0.1")).StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").FromPeer(peer).WithHeader("X-Remote-User", "admin"));

        Assert.Equal("user=admin;original=admin;source=Header;identity=admin;auth=TrustedProxyHeader;header=admin;underscore=", body);
    }

    [Theory]
    [InlineData("10.1.2.3", true)]
    [InlineData("::ffff:10.1.2.3", true)]
    [InlineData("11.0.0.1", false)]
    public async Task KnownIPNetworks_AreTrusted(string peer, bool trusted)
    {
        await using var host = await Host(o => o.KnownIPNetworks.Add("10.0.0.0/8")).StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").FromPeer(peer).WithHeader("X-Remote-User", "admin"));

        Assert.StartsWith(trusted ? "user=admin;" : "user=-;", body, StringComparison.Ordinal);
    }

    // Row 19
    [Fact]
    public async Task ForwardedForFromUntrustedPeer_DoesNotMakeTheHeaderTrusted_EvenWhenForwardedHeadersRewritesTheAddress()
    {
        await using var host = await Host(o => o.KnownProxies.Add("127.0.0.1"))
            .UseBefore(app =>
            {
                // A forwarded-headers set-up that trusts every peer: RemoteIpAddress becomes 127.0.0.1 from the client's header.
                var options = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor };
                options.KnownProxies.Clear();
                ClearKnownIPNetworks(options);
                app.UseForwardedHeaders(options);
            })
            .StartAsync();
        string? address = null;
        _onDispatch = c => address = c.Connection.RemoteIpAddress?.ToString();

        var body = await BodyAsync(host.Request("alpha", "/wiki")
            .FromPeer(Stranger)
            .WithHeader("X-Forwarded-For", "127.0.0.1")
            .WithHeader("X-Remote-User", "admin"));

        Assert.Equal("127.0.0.1", address);
        Assert.StartsWith("user=-;", body, StringComparison.Ordinal);
        Assert.Contains("header=;", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrustedProxy_StaysTrustedAfterForwardedHeadersRewritesTheAddress()
    {
        await using var host = await Host(o => o.KnownProxies.Add("127.0.0.1"))
            .UseBefore(app => app.UseForwardedHeaders(new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor }))
            .StartAsync();
        string? address = null;
        _onDispatch = c => address = c.Connection.RemoteIpAddress?.ToString();

        var body = await BodyAsync(host.Request("alpha", "/wiki")
            .FromPeer(Loopback)
            .WithHeader("X-Forwarded-For", "198.51.100.7")
            .WithHeader("X-Remote-User", "admin"));

        Assert.Equal("198.51.100.7", address);
        Assert.StartsWith("user=admin;", body, StringComparison.Ordinal);
    }

    // Row 10, third case
    [Fact]
    public async Task RepeatedHeader_Gets400WithoutEchoingTheValue()
    {
        await using var host = await Host(o => o.KnownProxies.Add("127.0.0.1")).StartAsync();

        var response = await host.Request("alpha", "/wiki").FromPeer(Loopback).WithHeader("X-Remote-User", "alice", "mallory").SendAsync();

        Assert.Equal(400, response.StatusCode);
        Assert.Equal("Bad Request: the remote user name is malformed.", response.Body);
        Assert.DoesNotContain("mallory", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnderscoreVariant_IsNeverHonouredAndIsRemoved()
    {
        await using var host = await Host(o => o.KnownProxies.Add("127.0.0.1")).StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").FromPeer(Loopback).WithHeader("X_Remote_User", "admin"));

        Assert.Equal("user=-;original=-;source=-;identity=-;auth=-;header=;underscore=", body);
    }

    [Fact]
    public async Task CustomHeaderName_IsUsed()
    {
        await using var host = await Host(o =>
        {
            o.KnownProxies.Add("127.0.0.1");
            o.HeaderName = "X-Forwarded-User";
        }).StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").FromPeer(Loopback).WithHeader("X-Forwarded-User", "carol"));

        Assert.StartsWith("user=carol;original=carol;source=Header;", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sources_AreAskedInTheConfiguredOrder()
    {
        await using var host = await Host(o =>
        {
            o.KnownProxies.Add("127.0.0.1");
            o.Sources.Add(RemoteUserSource.Header);
            o.Sources.Add(RemoteUserSource.Principal);
        }).StartAsync();

        var withHeader = await BodyAsync(host.Request("alpha", "/wiki")
            .AsUser("fromprincipal", authenticationType: "Cookies")
            .FromPeer(Loopback)
            .WithHeader("X-Remote-User", "fromheader"));
        var withoutHeader = await BodyAsync(host.Request("alpha", "/wiki").AsUser("fromprincipal", authenticationType: "Cookies").FromPeer(Loopback));

        Assert.StartsWith("user=fromheader;", withHeader, StringComparison.Ordinal);
        Assert.StartsWith("user=fromprincipal;", withoutHeader, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SourceNotListed_IsNotAsked()
    {
        await using var host = await Host(o => o.Sources.Add(RemoteUserSource.ServerVariable)).StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").AsUser("fromprincipal", authenticationType: "Cookies"));

        Assert.StartsWith("user=-;original=-;source=-;identity=-;", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("anonymous", 403, "Forbidden: the remote user is not allowed.")]
    [InlineData(@"CORP\WEB01$", 403, "Forbidden: the remote user is not allowed.")]
    [InlineData("(null)", 400, "Bad Request: the remote user name is malformed.")]
    [InlineData("alice,mallory", 400, "Bad Request: the remote user name is malformed.")]
    [InlineData("ali\u202Ece", 400, "Bad Request: the remote user name is malformed.")]
    public async Task RefusedValues_GetAFixedResponse_AnEscapedDebugEntry_AndAWarningWithoutTheValue(string value, int status, string message)
    {
        await using var host = await Host().StartAsync();

        var response = await host.Request("alpha", "/wiki").WithServerVariable("REMOTE_USER", value).SendAsync();

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(message, response.Body);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(message).ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers["Content-Length"]);
        var entry = Assert.Single(host.Logs.Entries, e => e.Id.Id is Diagnostics.EventIds.RemoteUserMalformed or Diagnostics.EventIds.RemoteUserRefused);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Debug, entry.Level);
        Assert.DoesNotContain('\u202E', entry.Message);
        var warning = Assert.Single(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.RemoteUserRefusalsSummarized);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.StartsWith($"Remote user values refused with {status} for ", warning.Message, StringComparison.Ordinal);
        Assert.Contains(" since the last such warning: 1. ", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(value, warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoggedValue_HasControlCharactersEscaped()
    {
        await using var host = await Host().StartAsync();

        await host.Request("alpha", "/wiki").WithServerVariable("REMOTE_USER", "alice\r\nINFO forged line").SendAsync();

        var entry = Assert.Single(host.Logs.Entries, e => e.Id.Id == Diagnostics.EventIds.RemoteUserMalformed);
        Assert.Contains("alice\\u000D\\u000AINFO forged line", entry.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', entry.Message);
    }

    [Fact]
    public async Task Options_FromTheTracRemoteUserSection_AndUseTracWithoutArguments()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Trac:Environment:ParentDirectory"] = _projects.Path,
            ["Trac:RemoteUser:Sources:0"] = "Header",
            ["Trac:RemoteUser:HeaderName"] = "X-User",
            ["Trac:RemoteUser:KnownProxies:0"] = "127.0.0.1",
            ["Trac:RemoteUser:Case"] = "Lower",
            ["Trac:RemoteUser:StripDomain"] = "false",
        }).Build();
        using var host = await TestHosts.StartAppAsync(s => s.AddTrac(configuration.GetSection("Trac")), UseTracThenEcho);

        var body = await SendAsync(host, "X-User", @"CORP\Dave");

        Assert.StartsWith(@"user=corp\dave;original=CORP\Dave;source=Header;", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("KnownProxies", "not-an-ip", "Trac:RemoteUser:KnownProxies 'not-an-ip' is not an IP address")]
    [InlineData("KnownIPNetworks", "10.0.0.0/99", "Trac:RemoteUser:KnownIPNetworks '10.0.0.0/99' is not a network")]
    [InlineData("LoginPaths", "login", "Trac:RemoteUser:LoginPaths 'login' must start with '/'")]
    [InlineData("HeaderName", "X Remote", "Trac:RemoteUser:HeaderName 'X Remote' is not a header name")]
    public async Task InvalidOptions_FailAtStartUpNamingTheKey(string key, string value, string message)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Trac:Environment:ParentDirectory"] = _projects.Path,
            [key == "HeaderName" ? "Trac:RemoteUser:HeaderName" : $"Trac:RemoteUser:{key}:0"] = value,
        }).Build();
        using var host = new HostBuilder()
            .ConfigureWebHost(web => web
                .UseTestServer()
                .ConfigureServices(s => s.AddTrac(configuration.GetSection("Trac")))
                .Configure(_ => { }))
            .Build();

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidOptionsInThePipeline_FailWhenTheStageIsBuilt()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Host(o =>
        {
            o.Sources.Add(RemoteUserSource.Header);
            o.Sources.Add(RemoteUserSource.Header);
        }).StartAsync());

        Assert.Contains("Trac:RemoteUser:Sources lists Header more than once", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeaderThatIsNotASource_IsRemovedFromEveryPeer()
    {
        await using var host = await Host(o =>
        {
            o.Sources.Add(RemoteUserSource.Principal);
            o.KnownProxies.Add("127.0.0.1");
        }).StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").FromPeer(Loopback).WithHeader("X-Remote-User", "admin").WithHeader("X_Remote_User", "admin"));

        Assert.Equal("user=-;original=-;source=-;identity=-;auth=-;header=;underscore=", body);
    }

    [Fact]
    public async Task HeaderAndLookAlikeFromUntrustedPeer_AreBothRemoved()
    {
        await using var host = await Host(o => o.KnownProxies.Add("127.0.0.1")).StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").FromPeer(Stranger).WithHeader("X-Remote-User", "admin").WithHeader("X_REMOTE-user", "admin"));

        Assert.Equal("user=-;original=-;source=-;identity=-;auth=-;header=;underscore=", body);
    }

    [Fact]
    public async Task KnownProxyWrittenAsMappedAddress_TrustsThePlainIPv4Peer()
    {
        await using var host = await Host(o => o.KnownProxies.Add("::ffff:127.0.0.1")).StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").FromPeer(Loopback).WithHeader("X-Remote-User", "admin"));

        Assert.StartsWith("user=admin;", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PeerRewrittenBeforeTheRecording_WouldNotMatter_NoRecordedPeerIsNeverTrusted()
    {
        // TestServer connections have no IP peer unless a test gives one: nothing is recorded, nothing trusted,
        // even though a middleware sets RemoteIpAddress to a trusted address before the stage runs.
        await using var host = await Host(o => o.KnownProxies.Add("127.0.0.1"))
            .UseBefore(app => app.Use((context, next) =>
            {
                context.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
                return next(context);
            }))
            .StartAsync();

        var body = await BodyAsync(host.Request("alpha", "/wiki").WithHeader("X-Remote-User", "admin"));

        Assert.StartsWith("user=-;", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RenamedPrincipal_KeepsTheOriginalRoleChecks()
    {
        var original = new GroupPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, @"CORP\Alice")], "Negotiate"), @"CORP\Developers");
        await using var host = await Host().StartAsync();
        ClaimsPrincipal? seen = null;
        _onDispatch = c => seen = c.User;

        await host.Request("alpha", "/wiki").AsUser(original).SendAsync();

        var renamed = Assert.IsType<TracRemoteUserPrincipal>(seen);
        Assert.Equal("Alice", renamed.Identity!.Name);
        Assert.Equal("Negotiate", renamed.Identity.AuthenticationType);
        Assert.True(renamed.IsInRole(@"CORP\Developers"));
        Assert.False(renamed.IsInRole(@"CORP\Admins"));
        Assert.Same(original, renamed.OriginalPrincipal);
    }

    [Fact]
    public async Task AnonymousReplacement_IsNotSharedBetweenRequests()
    {
        await using var host = await Host().StartAsync();
        var seen = new List<ClaimsPrincipal>();
        _onDispatch = c =>
        {
            seen.Add(c.User);
            c.User.AddIdentity(new ClaimsIdentity([new Claim(ClaimTypes.Name, "mallory")], "Forged"));
        };

        await host.Request("alpha", "/wiki").AsUser(string.Empty, authenticationType: "Negotiate").SendAsync();
        _onDispatch = c => seen.Add(c.User);
        await host.Request("alpha", "/wiki").AsUser(string.Empty, authenticationType: "Negotiate").SendAsync();

        Assert.NotSame(seen[0], seen[1]);
        Assert.DoesNotContain(seen[1].Identities, i => i.IsAuthenticated);
    }

    [Fact]
    public async Task UseTracWithoutArguments_AddsTheStageWhenItsOptionsWereSetInCode()
    {
        using var host = await TestHosts.StartAppAsync(
            s => s.AddTrac(o =>
            {
                o.Environment.ParentDirectory = _projects.Path;
                o.RemoteUser.KnownProxies.Add("127.0.0.1");
            }),
            UseTracThenEcho);

        var body = await SendAsync(host, "X-Remote-User", "erin");

        Assert.StartsWith("user=erin;", body, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryKey_BindsFromConfiguration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Trac:RemoteUser:Sources:0"] = "ServerVariable",
            ["Trac:RemoteUser:Sources:1"] = "Header",
            ["Trac:RemoteUser:HeaderName"] = "X-User",
            ["Trac:RemoteUser:KnownProxies:0"] = "10.0.0.1",
            ["Trac:RemoteUser:KnownIPNetworks:0"] = "10.1.0.0/16",
            ["Trac:RemoteUser:StripDomain"] = "false",
            ["Trac:RemoteUser:LocalDomains:0"] = "CORP",
            ["Trac:RemoteUser:LocalRealms:0"] = "CORP.EXAMPLE.COM",
            ["Trac:RemoteUser:Case"] = "Upper",
            ["Trac:RemoteUser:MaxLength"] = "64",
            ["Trac:RemoteUser:AllowMachineAccounts"] = "true",
            ["Trac:RemoteUser:LoginPaths:0"] = "/signin",
            ["Trac:RemoteUser:ChallengeLoginPaths"] = "false",
        }).Build();
        using var services = new ServiceCollection().AddTrac(configuration.GetSection("Trac")).BuildServiceProvider();

        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TracOptions>>().Value.RemoteUser;

        Assert.Equal([RemoteUserSource.ServerVariable, RemoteUserSource.Header], options.Sources);
        Assert.Equal("X-User", options.HeaderName);
        Assert.Equal(["10.0.0.1"], options.KnownProxies);
        Assert.Equal(["10.1.0.0/16"], options.KnownIPNetworks);
        Assert.False(options.StripDomain);
        Assert.Equal(["CORP"], options.LocalDomains);
        Assert.Equal(["CORP.EXAMPLE.COM"], options.LocalRealms);
        Assert.Equal(RemoteUserCase.Upper, options.Case);
        Assert.Equal(64, options.MaxLength);
        Assert.True(options.AllowMachineAccounts);
        Assert.Equal(["/signin"], options.LoginPaths);
        Assert.False(options.ChallengeLoginPaths);
    }

    [Fact]
    public void Validation_ReportsMaxLengthCaseAndDomains()
    {
        var options = new RemoteUserOptions { MaxLength = 0, Case = (RemoteUserCase)7 };
        options.LocalDomains.Add(@"CORP\alice");

        var errors = RemoteUserSettings.Validate(options);

        Assert.Contains(errors, e => e.StartsWith("Trac:RemoteUser:MaxLength 0 must be at least 1", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Trac:RemoteUser:Case '7' is not one of Preserve, Lower, Upper", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith(@"Trac:RemoteUser:LocalDomains 'CORP\alice' holds a '\'", StringComparison.Ordinal));
    }

    private sealed class GroupPrincipal(ClaimsIdentity identity, string group) : ClaimsPrincipal(identity)
    {
        // Like WindowsPrincipal: group membership is not a role claim.
        public override bool IsInRole(string role) => role == group;
    }

    private static void ClearKnownIPNetworks(ForwardedHeadersOptions options)
    {
#pragma warning disable ASPDEPR005 // KnownIPNetworks is obsolete in favour of KnownIPNetworks on .NET 10.
        options.KnownIPNetworks.Clear();
#pragma warning restore ASPDEPR005
        options.KnownIPNetworks.Clear();
    }

    /// <summary>A host whose Trac pipeline normalizes the remote user and answers with <see cref="Echo"/>.</summary>
    private TracTestHostBuilder Host(Action<RemoteUserOptions>? remoteUser = null) =>
        TracTestHost.CreateBuilder(_projects).UseTrac(t => t.ResolveEnvironment().NormalizeRemoteUser(remoteUser).Dispatch(Echo));

    private static async Task<string> BodyAsync(TracTestRequest request) => (await request.SendAsync()).Body;

    /// <summary><c>UseTrac()</c> without arguments, then <see cref="Echo"/> for whatever continues.</summary>
    private void UseTracThenEcho(IApplicationBuilder app)
    {
        app.UseTrac();
        app.Run(Echo);
    }

    /// <summary>Sends a request to alpha from the loopback proxy with one header, to a host built by hand.</summary>
    private static async Task<string> SendAsync(IHost host, string header, string value)
    {
        var context = await host.GetTestServer().SendAsync(c =>
        {
            c.Request.Path = "/alpha/wiki";
            c.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
            c.Request.Headers[header] = value;
        });
        using var reader = new StreamReader(context.Response.Body);
        return await reader.ReadToEndAsync();
    }
}
