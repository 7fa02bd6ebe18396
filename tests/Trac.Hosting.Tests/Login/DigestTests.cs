using Trac.Hosting.Login;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.Login;

/// <summary>
/// Digest logins' parts: htdigest files written by Apache's own <c>htdigest</c>, a client's answer checked as RFC 7616
/// (MD5, <c>qop=auth</c>) computes it, and server nonces that expire and refuse a replayed count, on a manual clock.
/// </summary>
public sealed class DigestTests : IDisposable
{
    private readonly TracTestDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task AnHtdigestFile_GivesEachUsersKeyPerRealm_AndChecksABasicPassword()
    {
        var file = Path.Combine(_directory.Path, "htdigest");
        await ApacheTools.HtdigestAsync(["-c", file, "Trac", "alice"], "Wonderland 1");
        await ApacheTools.HtdigestAsync([file, "Other realm", "alice"], "elsewhere");

        var users = HtdigestFile.Load(file);

        Assert.Empty(users.Problems);
        Assert.Equal(Digest.Md5Hex("alice:Trac:Wonderland 1"), users.KeyOf("alice", "Trac"));
        Assert.True(users.Verify("alice", "Trac", "Wonderland 1"));
        Assert.False(users.Verify("alice", "Trac", "elsewhere"));
        Assert.True(users.Verify("alice", "Other realm", "elsewhere"));
        Assert.Null(users.KeyOf("bob", "Trac"));
    }

    [Fact]
    public void MalformedHtdigestLines_AreSkippedWithTheirNumber_NotTheirText()
    {
        var users = HtdigestFile.Parse("digest", ["# users", "alice:Trac:202a2b9639dc31d00be8b0d8e126192f", "bob:Trac:not-hex-at-all-but-32-characters!", "carol"]);

        Assert.Equal([("alice", "Trac")], users.Users);
        Assert.Equal([3, 4], users.Problems.Select(p => p.Line));
        Assert.All(users.Problems, p => Assert.DoesNotContain("not-hex", p.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public void AClientsAnswer_IsCheckedAsTheSpecificationComputesIt()
    {
        // The worked example of RFC 2617, section 3.5 (MD5, qop=auth).
        var answer = DigestResponse.Parse(
            "username=\"Mufasa\", realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", " +
            "qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
        var key = Digest.Md5Hex("Mufasa:testrealm@host.com:Circle Of Life");

        Assert.NotNull(answer);
        Assert.Equal("Mufasa", answer.User);
        Assert.True(answer.IsValid(key, "GET"));
        Assert.False(answer.IsValid(key, "POST"));
        Assert.False(answer.IsValid(Digest.Md5Hex("Mufasa:testrealm@host.com:circle of life"), "GET"));
    }

    [Theory]
    [InlineData("username=\"a\", realm=\"r\", nonce=\"n\", uri=\"/\", nc=00000001, cnonce=\"c\", qop=auth")]
    [InlineData("username=\"a\", realm=\"r\", nonce=\"n\", uri=\"/\", nc=00000001, cnonce=\"c\", qop=auth-int, response=\"x\"")]
    [InlineData("username=\"a\", realm=\"r\", nonce=\"n\", uri=\"/\", nc=00000001, cnonce=\"c\", qop=auth, response=\"x\", algorithm=SHA-256")]
    [InlineData("username=\"a\", username=\"b\", realm=\"r\", nonce=\"n\", uri=\"/\", nc=00000001, cnonce=\"c\", qop=auth, response=\"x\"")]
    [InlineData("username=\"a\", realm=\"r\", nonce=\"n\", uri=\"/\", nc=1, cnonce=\"c\", qop=auth, response=\"x\"")]
    [InlineData("username=\"a\", realm=\"r\", nonce=\"n\", uri=\"/\", nc=0000000g, cnonce=\"c\", qop=auth, response=\"x\"")]
    public void AnswersThatAreIncompleteOrAskForSomethingElse_AreRefused(string parameters) => Assert.Null(DigestResponse.Parse(parameters));

    [Fact]
    public void Nonces_ExpireAndRefuseAReplayedCount()
    {
        var clock = TracTestTime.StartingNow();
        var nonces = new DigestNonces(clock, TimeSpan.FromMinutes(5));
        var nonce = nonces.Create();

        Assert.Equal(DigestNonceCheck.Valid, nonces.Check(nonce, "00000001"));
        Assert.Equal(DigestNonceCheck.Replayed, nonces.Check(nonce, "00000001"));
        Assert.Equal(DigestNonceCheck.Valid, nonces.Check(nonce, "00000002"));
        Assert.Equal(DigestNonceCheck.Replayed, nonces.Check(nonce, "00000001"));
        Assert.Equal(DigestNonceCheck.Invalid, nonces.Check(nonce[..^2] + (nonce[^2] == 'A' ? "BA" : "AA"), "00000003"));
        Assert.Equal(DigestNonceCheck.Invalid, nonces.Check(new DigestNonces(clock, TimeSpan.FromMinutes(5)).Create(), "00000001"));
        Assert.Equal(DigestNonceCheck.Invalid, nonces.Check(nonce, "3"));

        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));

        Assert.Equal(DigestNonceCheck.Stale, nonces.Check(nonce, "00000003"));
        Assert.Equal(DigestNonceCheck.Valid, nonces.Check(nonces.Create(), "00000001"));
    }

    [Fact]
    public void Nonces_RememberTheCountsOfLiveNoncesOnly()
    {
        var clock = TracTestTime.StartingNow();
        var nonces = new DigestNonces(clock, TimeSpan.FromMinutes(5));
        var used = Enumerable.Range(0, 1100).Select(_ => nonces.Create()).ToList();
        Assert.All(used, n => Assert.Equal(DigestNonceCheck.Valid, nonces.Check(n, "00000001")));
        Assert.Equal(1100, nonces.Remembered);

        clock.Advance(TimeSpan.FromMinutes(6));
        var fresh = nonces.Create();

        Assert.Equal(DigestNonceCheck.Valid, nonces.Check(fresh, "00000001"));
        Assert.Equal(1, nonces.Remembered);
        Assert.Equal(DigestNonceCheck.Replayed, nonces.Check(fresh, "00000001"));
    }
}
