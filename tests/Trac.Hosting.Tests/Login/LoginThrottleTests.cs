using Trac.Hosting.Login;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Login;

/// <summary>Failed logins throttled per client address and per user, and verified logins remembered briefly, on a manual clock.</summary>
public sealed class LoginThrottleTests
{
    [Fact]
    public void AfterMaxFailures_TheAddressAndTheUserAreThrottled_UntilTheClockGivesATokenBack()
    {
        var clock = ManualTimeProvider.StartingNow();
        var throttle = new LoginThrottle(clock, maxFailures: 3, period: TimeSpan.FromSeconds(10));

        for (var i = 0; i < 3; i++)
        {
            Assert.False(throttle.IsThrottled("10.0.0.1", "alice"));
            throttle.Failed("10.0.0.1", "alice");
        }

        Assert.True(throttle.IsThrottled("10.0.0.1", "alice"));
        Assert.True(throttle.IsThrottled("10.0.0.1", "bob"));      // the address, whoever it claims to be
        Assert.True(throttle.IsThrottled("10.0.0.2", "alice"));    // the user, wherever it comes from
        Assert.False(throttle.IsThrottled("10.0.0.2", "bob"));

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.False(throttle.IsThrottled("10.0.0.1", "alice"));
        throttle.Failed("10.0.0.1", "alice");
        Assert.True(throttle.IsThrottled("10.0.0.1", "alice"));

        clock.Advance(TimeSpan.FromSeconds(40));
        Assert.False(throttle.IsThrottled("10.0.0.1", "alice"));
        Assert.Equal(0, throttle.Remembered);
    }

    [Fact]
    public void AVerifiedLogin_IsRememberedForItsLifetime_OnlyWithTheSamePassword_AndWithinItsCapacity()
    {
        var clock = ManualTimeProvider.StartingNow();
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
