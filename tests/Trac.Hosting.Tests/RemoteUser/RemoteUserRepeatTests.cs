using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.Logging.Abstractions;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.RemoteUser;

/// <summary>
/// The middleware on its own, over many requests: values it has accepted before, the principals of the requests of one
/// connection, look-alike headers in every spelling, and anonymous requests, with a <see cref="DefaultHttpContext"/>
/// from a trusted peer.
/// </summary>
public sealed class RemoteUserRepeatTests
{
    // Its own meter factory: these measurements stay out of every test host's.
    private static readonly TracMetrics s_metrics = new(new TestMeterFactory());

    [Theory]
    [InlineData("X_Remote_User")]
    [InlineData("X-Remote_User")]
    [InlineData("X_Remote-User")]
    [InlineData("x_REMOTE-user")]
    public async Task EveryLookAlikeSpelling_IsRemoved(string lookAlike)
    {
        var (middleware, seen) = Middleware();
        var context = Context(("X-Remote-User", "alice"), (lookAlike, "mallory"));

        await middleware.InvokeAsync(context);

        Assert.Equal("alice", seen.Single());
        Assert.False(context.Request.Headers.ContainsKey(lookAlike));
        Assert.Equal("alice", context.Request.Headers["X-Remote-User"]);
    }

    [Fact]
    public async Task LookAlikeOfANameWithManySeparators_IsRemoved()
    {
        var (middleware, seen) = Middleware(o => o.HeaderName = "X-A-B-C-D-User");
        var context = Context(("X-A-B-C-D-User", "alice"), ("X_A-B_C-D_User", "mallory"));

        await middleware.InvokeAsync(context);

        Assert.Equal("alice", seen.Single());
        Assert.False(context.Request.Headers.ContainsKey("X_A-B_C-D_User"));
    }

    [Fact]
    public async Task RepeatedUser_GetsTheSameNameAndAPrincipalOfItsOwn()
    {
        var (middleware, seen) = Middleware();
        var first = Context(("X-Remote-User", @"CORP\Alice"));
        var second = Context(("X-Remote-User", @"CORP\Alice"));

        await middleware.InvokeAsync(first);
        await middleware.InvokeAsync(second);

        Assert.Equal(["Alice", "Alice"], seen);
        Assert.Equal(@"CORP\Alice", second.Features.Get<ITracRemoteUserFeature>()!.OriginalValue);
        Assert.Equal("Alice", second.User.Identity!.Name);
        Assert.Equal("TrustedProxyHeader", second.User.Identity.AuthenticationType);
        Assert.NotSame(first.User, second.User);
    }

    [Fact]
    public async Task RequestsOfOneConnection_EachGetTheirOwnPrincipal()
    {
        var (middleware, _) = Middleware();
        var connection = new ConnectionState();
        var first = Context(("X-Remote-User", "alice"));
        var second = Context(("X-Remote-User", "bob"));
        first.Features.Set<IPersistentStateFeature>(connection);
        second.Features.Set<IPersistentStateFeature>(connection);

        await middleware.InvokeAsync(first);
        var alice = first.User;
        await middleware.InvokeAsync(second);

        // What the first request read stays its own; the second's user is made for it.
        Assert.Equal("alice", alice.Identity!.Name);
        Assert.Equal("bob", second.User.Identity!.Name);
        Assert.True(second.User.Identity.IsAuthenticated);
        Assert.Equal([ClaimTypes.Name], second.User.Claims.Select(c => c.Type));
    }

    [Fact]
    public async Task UserSetAfterTheStage_IsTheUser()
    {
        var replacement = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "carol")], "Later"));
        var options = new RemoteUserOptions();
        options.KnownProxies.Add("127.0.0.1");
        var middleware = new RemoteUserMiddleware(
            context =>
            {
                context.User = replacement;
                return Task.CompletedTask;
            },
            RemoteUserSettings.Create(options),
            NullLogger.Instance,
            TimeProvider.System,
            s_metrics);
        var context = Context(("X-Remote-User", "alice"));

        await middleware.InvokeAsync(context);

        Assert.Same(replacement, context.User);
        Assert.Equal("alice", context.GetRemoteUser());
    }

    [Fact]
    public async Task UserReadBeforeTheStage_IsReplacedByTheHeaderUser()
    {
        var (middleware, _) = Middleware();
        var context = Context(("X-Remote-User", "alice"));
        var before = context.User;

        await middleware.InvokeAsync(context);

        Assert.False(before.Identity!.IsAuthenticated);
        Assert.Equal("alice", context.User.Identity!.Name);
        Assert.Equal("TrustedProxyHeader", context.User.Identity.AuthenticationType);
    }

    [Fact]
    public async Task MoreUsersThanAreRemembered_AreAllNormalized()
    {
        var (middleware, seen) = Middleware(o => o.Case = RemoteUserCase.Lower);
        var count = AcceptedUsers.Limit + 100;

        for (var i = 0; i < count; i++)
        {
            await middleware.InvokeAsync(Context(("X-Remote-User", $@"CORP\User{i}")));
        }

        await middleware.InvokeAsync(Context(("X-Remote-User", $@"CORP\User{count - 1}")));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"user{i}").Append($"user{count - 1}"), seen);
    }

    [Fact]
    public async Task AnonymousRequest_GetsNoPrincipalMadeForIt()
    {
        var (middleware, seen) = Middleware();
        var context = Context();

        await middleware.InvokeAsync(context);

        Assert.Equal([null], seen);
        Assert.Null(context.Features.Get<IHttpAuthenticationFeature>());
        Assert.False(context.User.Identity!.IsAuthenticated);
    }

    [Fact]
    public async Task AuthenticatedPrincipalWithoutAName_StillBecomesAnonymous()
    {
        var (middleware, seen) = Middleware();
        var context = Context();
        context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Role, "dev")], "Negotiate"));

        await middleware.InvokeAsync(context);

        Assert.Equal([null], seen);
        Assert.False(context.User.Identity!.IsAuthenticated);
    }

    private sealed class ConnectionState : IPersistentStateFeature
    {
        public IDictionary<object, object?> State { get; } = new Dictionary<object, object?>();
    }

    private static (RemoteUserMiddleware Middleware, List<string?> Seen) Middleware(Action<RemoteUserOptions>? configure = null)
    {
        var options = new RemoteUserOptions();
        options.KnownProxies.Add("127.0.0.1");
        configure?.Invoke(options);
        var seen = new List<string?>();
        var middleware = new RemoteUserMiddleware(
            context =>
            {
                seen.Add(context.GetRemoteUser());
                return Task.CompletedTask;
            },
            RemoteUserSettings.Create(options),
            NullLogger.Instance,
            TimeProvider.System,
            s_metrics);
        return (middleware, seen);
    }

    private static DefaultHttpContext Context(params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = "/wiki";
        context.Connection.RemoteIpAddress = IPAddress.Loopback;
        ConnectionPeer.Set(context, IPAddress.Loopback);
        foreach (var (name, value) in headers)
        {
            context.Request.Headers[name] = value;
        }

        return context;
    }
}
