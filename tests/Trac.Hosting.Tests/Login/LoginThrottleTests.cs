using System.Net;
using Trac.Hosting.Login;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Login;

/// <summary>Failed logins throttled per client address and per user, and verified logins remembered briefly, on a manual clock.</summary>
public sealed class LoginThrottleTests
{
    private static readonly IPAddress First = IPAddress.Parse("10.0.0.1");
    private static readonly IPAddress Second = IPAddress.Parse("10.0.0.2");

    [Fact]
    public void AfterMaxFailures_TheAddressAndTheUserAreThrottled_UntilTheClockGivesATokenBack()
    {
        var clock = TracTestTime.StartingNow();
        var throttle = new LoginThrottle(clock, maxFailures: 3, period: TimeSpan.FromSeconds(10));

        for (var i = 0; i < 3; i++)
        {
            Assert.True(throttle.TryBegin(First, "alice"));     // an attempt that then fails: its token stays taken
        }

        Assert.True(throttle.IsThrottled(First, "alice"));
        Assert.False(throttle.TryBegin(First, "alice"));
        Assert.False(throttle.TryBegin(First, "bob"));          // the address, whoever it claims to be
        Assert.False(throttle.TryBegin(Second, "alice"));       // the user, wherever it comes from
        Assert.True(throttle.TryBegin(Second, "bob"));
        throttle.Succeeded(Second, "bob");

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.True(throttle.TryBegin(First, "alice"));
        Assert.False(throttle.TryBegin(First, "alice"));

        clock.Advance(TimeSpan.FromSeconds(40));
        Assert.True(throttle.TryBegin(First, "alice"));
        throttle.Succeeded(First, "alice");
        Assert.Equal(0, throttle.Remembered);
    }

    [Fact]
    public void SucceededAttempts_GiveTheirTokensBack()
    {
        var throttle = new LoginThrottle(TracTestTime.StartingNow(), maxFailures: 2, period: TimeSpan.FromMinutes(1));

        for (var i = 0; i < 10; i++)
        {
            Assert.True(throttle.TryBegin(First, "alice"));
            throttle.Succeeded(First, "alice");
        }

        Assert.Equal(0, throttle.Remembered);
    }

    [Fact]
    public async Task AttemptsSentAtOnce_GetNoMoreTokensThanThereAre()
    {
        var throttle = new LoginThrottle(TracTestTime.StartingNow(), maxFailures: 3, period: TimeSpan.FromMinutes(1));
        using var start = new Barrier(40);

        var begun = Enumerable.Range(0, 40)
            .Select(i => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                return throttle.TryBegin(First, "user" + i);
            }, TaskCreationOptions.LongRunning))
            .ToArray();
        var results = await Task.WhenAll(begun);

        Assert.Equal(3, results.Count(r => r));
    }

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff::9")]
    [InlineData("10.0.0.1", "::ffff:10.0.0.1")]
    public void AddressesOfOneHost_ShareABucket(string one, string other)
    {
        var throttle = new LoginThrottle(TracTestTime.StartingNow(), maxFailures: 1, period: TimeSpan.FromMinutes(1));

        Assert.True(throttle.TryBegin(IPAddress.Parse(one), "alice"));

        Assert.False(throttle.TryBegin(IPAddress.Parse(other), "bob"));
        Assert.True(throttle.TryBegin(IPAddress.Parse("2001:db8:1:3::1"), "carol"));
    }

    [Fact]
    public void AVerifiedLogin_IsRememberedForItsLifetime_OnlyWithTheSamePassword_AndWithinItsCapacity()
    {
        var clock = TracTestTime.StartingNow();
        var verified = new VerifiedLogins(clock, TimeSpan.FromMinutes(1), capacity: 4);

        verified.Add("/srv/htpasswd", "alice", "secret");

        Assert.True(verified.Contains("/srv/htpasswd", "alice", "secret"));
        Assert.False(verified.Contains("/srv/htpasswd", "alice", "Secret"));
        Assert.False(verified.Contains("/srv/other", "alice", "secret"));
        Assert.False(verified.Contains("/srv/htpasswd", "alicesecret", ""));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.False(verified.Contains("/srv/htpasswd", "alice", "secret"));

        for (var i = 0; i < 10; i++)
        {
            verified.Add("/srv/htpasswd", "user" + i, "pw");
        }

        Assert.InRange(verified.Count, 1, 4);
        Assert.True(verified.Contains("/srv/htpasswd", "user9", "pw"));
        verified.Forget();
        Assert.False(verified.Contains("/srv/htpasswd", "user9", "pw"));
    }
}
