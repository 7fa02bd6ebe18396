using Trac.Hosting.Login;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.Login;

/// <summary>
/// Password files written by Apache's own <c>htpasswd</c> (apache2-utils, which <c>.ci/run</c> installs): every format
/// it writes accepts the right password and refuses a wrong one; DES crypt and hostile bcrypt costs are refused at
/// load naming the line and user; comments and malformed lines are read as Trac's loader reads them.
/// </summary>
public sealed class HtpasswdFileTests : IDisposable
{
    private readonly TracTestDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("-B", "$2y$")]
    [InlineData("-m", "$apr1$")]
    [InlineData("-2", "$5$")]
    [InlineData("-5", "$6$")]
    [InlineData("-s", "{SHA}")]
    public async Task EachFormatHtpasswdWrites_AcceptsTheRightPassword_AndRefusesAWrongOne(string option, string prefix)
    {
        var file = Path.Combine(_directory.Path, "htpasswd");
        await ApacheTools.HtpasswdAsync(option, "-c", file, "alice", "s3cret pass: äö");
        await ApacheTools.HtpasswdAsync(option, file, "bob", "x");

        var users = HtpasswdFile.Load(file);

        Assert.StartsWith(prefix, File.ReadAllLines(file)[0].Split(':')[1], StringComparison.Ordinal);
        Assert.Empty(users.Problems);
        Assert.True(users.Verify("alice", "s3cret pass: äö"));
        Assert.False(users.Verify("alice", "s3cret pass: äo"));
        Assert.False(users.Verify("alice", ""));
        Assert.True(users.Verify("bob", "x"));
        Assert.False(users.Verify("bob", "s3cret pass: äö"));
        Assert.False(users.Verify("carol", "x"));
    }

    [Fact]
    public async Task ShaCryptWithExplicitRounds_IsChecked()
    {
        var file = Path.Combine(_directory.Path, "rounds");
        await ApacheTools.HtpasswdAsync("-5", "-r", "12000", "-c", file, "alice", "pw");

        Assert.Contains("rounds=12000$", File.ReadAllText(file), StringComparison.Ordinal);
        Assert.True(HtpasswdFile.Load(file).Verify("alice", "pw"));
        Assert.False(HtpasswdFile.Load(file).Verify("alice", "pW"));
    }

    [Fact]
    public async Task DesCrypt_AndAHostileBcryptCost_AreRefusedAtLoad_NamingTheLineAndUser_NotTheHash()
    {
        var file = Path.Combine(_directory.Path, "mixed");
        await ApacheTools.HtpasswdAsync("-d", "-c", file, "old", "password");
        await ApacheTools.HtpasswdAsync("-B", file, "good", "fine");
        var des = File.ReadAllLines(file)[0].Split(':')[1];
        File.AppendAllLines(file, ["slow:$2y$17$abcdefghijklmnopqrstuu5I0Vf1f8jDCSMXh3yCE8V9KEdJz6pW2"]);

        var users = HtpasswdFile.Load(file);

        Assert.Equal(["good"], users.Users);
        Assert.True(users.Verify("good", "fine"));
        Assert.False(users.Verify("old", "password"));
        var refused = Assert.Single(users.Problems, p => p.User == "old");
        Assert.True(refused.IsError);
        Assert.Equal(1, refused.Line);
        Assert.Contains("DES crypt", refused.ToString(), StringComparison.Ordinal);
        Assert.Contains(file + ", line 1", refused.ToString(), StringComparison.Ordinal);
        Assert.Contains("htpasswd -B", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(des, refused.ToString(), StringComparison.Ordinal);
        var slow = Assert.Single(users.Problems, p => p.User == "slow");
        Assert.Equal(3, slow.Line);
        Assert.Contains("cost 17", slow.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CommentsBlankAndMalformedLines_AreReadAsTracReadsThem()
    {
        var file = HtpasswdFile.Parse("users", [
            "# the project's users",
            "",
            "   alice:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=   # test",
            "no colon here",
            ":{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=",
            "bob:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=:ignored:fields",
        ]);

        Assert.True(file.Verify("alice", "test"));
        Assert.True(file.Verify("bob", "test"));
        Assert.Equal([4, 5], file.Problems.Select(p => p.Line));
        Assert.All(file.Problems, p => Assert.False(p.IsError));
        Assert.All(file.Problems, p => Assert.DoesNotContain("qUqP5", p.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public void PlainText_IsAcceptedOnlyWhereApacheAcceptsIt()
    {
        var file = HtpasswdFile.Parse("users", ["alice:plain-secret"]);

        Assert.Equal(OperatingSystem.IsWindows(), file.Verify("alice", "plain-secret"));
        Assert.Equal(OperatingSystem.IsWindows(), file.Problems.Count == 0);
    }

    [Fact]
    public void AnUnknownUser_IsCheckedAgainstTheCostliestHashOfTheFile()
    {
        // {SHA} first, then bcrypt: an unknown user must cost the bcrypt, not the SHA-1, or its quick answer tells it is unknown.
        var bcrypt = BCrypt.Net.BCrypt.HashPassword("x", 5).Replace("$2a$", "$2y$", StringComparison.Ordinal);
        var file = HtpasswdFile.Parse("users", ["fast:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=", "slow:" + bcrypt, "md5:$apr1$q5Lx2b0e$ftuhxCaHF6xWnUmQmTq0E/"]);

        Assert.Equal(bcrypt, file.StandIn);
        Assert.False(file.Verify("nobody", "x"));
        Assert.True(PasswordHashes.Work("$2y$12$" + new string('a', 53)) > PasswordHashes.Work("$6$rounds=100000$salt$x"));
        Assert.True(PasswordHashes.Work("$6$salt$x") > PasswordHashes.Work("$apr1$salt$x"));
        Assert.True(PasswordHashes.Work("$apr1$salt$x") > PasswordHashes.Work("{SHA}x"));
    }
}
