using System.Globalization;
using System.Text;
using Trac.Hosting.RemoteUser;

namespace Trac.Hosting.Tests.RemoteUser;

/// <summary>The normalization rules, row by row from the reference table, and their idempotence.</summary>
public sealed class RemoteUserNormalizerTests
{
    private static RemoteUserNormalizer Normalizer(
        bool stripDomain = true, string[]? realms = null, RemoteUserCase @case = RemoteUserCase.Preserve, int maxLength = 256, bool machines = false,
        string[]? domains = null) =>
        new(stripDomain, realms ?? [], @case, maxLength, machines, domains);

    // Row 1
    [Fact]
    public void PlainName_IsKept() => Assert.Equal("User(alice)", Normalizer().Normalize("alice").ToString());

    // Row 2
    [Theory]
    [InlineData(true, "alice")]
    [InlineData(false, @"CORP\alice")]
    public void Domain_IsStrippedOnlyWithStripDomain(bool strip, string expected) =>
        Assert.Equal($"User({expected})", Normalizer(stripDomain: strip).Normalize(@"CORP\alice").ToString());

    // Row 3
    [Theory]
    [InlineData(true, "alice")]
    [InlineData(false, @"corp\alice")]
    public void LowerCase_FoldsWhatIsLeft(bool strip, string expected) =>
        Assert.Equal($"User({expected})", Normalizer(stripDomain: strip, @case: RemoteUserCase.Lower).Normalize(@"CORP\Alice").ToString());

    // Row 4
    [Fact]
    public void LocalRealm_IsStripped_ForeignRealmIsRefused()
    {
        var normalizer = Normalizer(realms: ["CORP.EXAMPLE.COM"]);

        Assert.Equal("User(alice)", normalizer.Normalize("alice@CORP.EXAMPLE.COM").ToString());
        Assert.Equal("User(alice)", normalizer.Normalize("alice@corp.example.com").ToString());
        Assert.Equal(RemoteUserOutcome.Refused, normalizer.Normalize("alice@OTHER.EXAMPLE.COM").Outcome);
    }

    [Fact]
    public void WithoutLocalRealms_UserAtDomainIsKept() =>
        Assert.Equal("User(alice@example.com)", Normalizer().Normalize("alice@example.com").ToString());

    // Row 5
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MultiComponentPrincipal_IsRefused(bool withRealms) =>
        Assert.Equal(RemoteUserOutcome.Refused, Normalizer(realms: withRealms ? ["CORP.EXAMPLE.COM"] : []).Normalize("alice/admin@CORP.EXAMPLE.COM").Outcome);

    // Row 6
    [Fact]
    public void DomainAndRealm_AreBothStripped() =>
        Assert.Equal("User(alice)", Normalizer(realms: ["CORP.EXAMPLE.COM"]).Normalize(@"CORP\alice@corp.example.com").ToString());

    // Row 7
    [Fact]
    public void EmptyDomain_IsStripped() => Assert.Equal("User(alice)", Normalizer().Normalize(@"\alice").ToString());

    // Row 8
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void NestedDomains_AreRefused(bool strip) =>
        Assert.Equal(RemoteUserOutcome.Malformed, Normalizer(stripDomain: strip).Normalize(@"CORP\sub\alice").Outcome);

    // Row 9
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t")]
    [InlineData(@"NT AUTHORITY\ANONYMOUS LOGON")]
    [InlineData(@"nt authority\anonymous logon")]
    [InlineData("ANONYMOUS LOGON")]
    public void EmptyBlankMissingAndAnonymousLogon_AreAnonymous(string? value) =>
        Assert.Equal(RemoteUserOutcome.Anonymous, Normalizer().Normalize(value).Outcome);

    // Row 10 (the repeated header is a middleware test)
    [Theory]
    [InlineData("(null)")]
    [InlineData("alice,mallory")]
    [InlineData("alice, mallory")]
    public void NullLiteralAndLists_AreRefused(string value) =>
        Assert.Equal(RemoteUserOutcome.Malformed, Normalizer().Normalize(value).Outcome);

    // Row 11
    [Theory]
    [InlineData("ali\0ce")]
    [InlineData("alice\r\nX-Admin: 1")]
    [InlineData("alice\n")]
    [InlineData("\u202Eecila")]
    [InlineData("ali\u200Bce")]
    [InlineData("alice\u0085")]
    public void ControlAndFormatCharacters_AreRefused(string value) =>
        Assert.Equal(RemoteUserOutcome.Malformed, Normalizer().Normalize(value).Outcome);

    [Fact]
    public void LoneSurrogates_AreRefused()
    {
        // Built in code: attribute arguments cannot carry a lone surrogate.
        Assert.Equal(RemoteUserOutcome.Malformed, Normalizer().Normalize("ali" + (char)0xD800 + "ce").Outcome);
        Assert.Equal(RemoteUserOutcome.Malformed, Normalizer().Normalize("alice" + (char)0xDC00).Outcome);
    }

    // Row 12
    [Fact]
    public void OverTheLengthCap_IsRefused()
    {
        Assert.Equal(RemoteUserOutcome.User, Normalizer().Normalize(new string('a', 256)).Outcome);
        Assert.Equal(RemoteUserOutcome.Malformed, Normalizer().Normalize(new string('a', 257)).Outcome);
        Assert.Equal(RemoteUserOutcome.Malformed, Normalizer().Normalize(new string('a', 100_000)).Outcome);
        Assert.Equal(RemoteUserOutcome.Malformed, Normalizer(maxLength: 5).Normalize("abcdef").Outcome);
    }

    // Row 13
    [Fact]
    public void CaseFolding_IgnoresTheCurrentCulture()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("tr-TR");
            Assert.Equal("User(ismail)", Normalizer(@case: RemoteUserCase.Lower).Normalize("ISMAIL").ToString());
            Assert.Equal("User(ISMAIL)", Normalizer(@case: RemoteUserCase.Upper).Normalize("ismail").ToString());
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    // Row 14
    [Fact]
    public void CanonicallyEquivalentSpellings_AreTheSameUser()
    {
        var composed = Normalizer().Normalize("\u00E9").Name;
        var decomposed = Normalizer().Normalize("e\u0301").Name;

        Assert.Equal("\u00E9", composed);
        Assert.Equal(composed, decomposed);
    }

    [Fact]
    public void KelvinSign_FoldsToPlainK() =>
        Assert.Equal("User(kelvin)", Normalizer(@case: RemoteUserCase.Lower).Normalize("\u212Aelvin").ToString());

    // Row 15
    [Fact]
    public void MachineAccount_IsRefusedUnlessAllowed()
    {
        Assert.Equal(RemoteUserOutcome.Refused, Normalizer().Normalize(@"CORP\WEB01$").Outcome);
        Assert.Equal("User(WEB01$)", Normalizer(machines: true).Normalize(@"CORP\WEB01$").ToString());
    }

    // Row 16
    [Theory]
    [InlineData("anonymous")]
    [InlineData("authenticated")]
    [InlineData("Anonymous")]
    [InlineData(@"CORP\authenticated")]
    public void TracGroupNames_AreRefused(string value) =>
        Assert.Equal(RemoteUserOutcome.Refused, Normalizer().Normalize(value).Outcome);

    [Theory]
    [InlineData(@"CORP\")]
    [InlineData("@CORP.EXAMPLE.COM")]
    [InlineData("alice@")]
    [InlineData("a@b@CORP.EXAMPLE.COM")]
    public void NothingLeftOrAmbiguousRealm_IsMalformed(string value) =>
        Assert.Equal(RemoteUserOutcome.Malformed, Normalizer(realms: ["CORP.EXAMPLE.COM"]).Normalize(value).Outcome);

    [Theory]
    [InlineData(@"CORP\(null)")]
    [InlineData("(null)@CORP.EXAMPLE.COM")]
    public void NullLiteralUncoveredByStripping_IsRefused(string value) =>
        Assert.Equal(RemoteUserOutcome.Malformed, Normalizer(realms: ["CORP.EXAMPLE.COM"]).Normalize(value).Outcome);

    [Theory]
    [InlineData(@"CORP\ANONYMOUS LOGON")]
    [InlineData("ANONYMOUS LOGON@CORP.EXAMPLE.COM")]
    public void AnonymousLogonUncoveredByStripping_IsAnonymous(string value) =>
        Assert.Equal(RemoteUserOutcome.Anonymous, Normalizer(realms: ["CORP.EXAMPLE.COM"]).Normalize(value).Outcome);

    [Fact]
    public void LocalDomains_StripListedDomainsAndRefuseOthers()
    {
        var normalizer = Normalizer(domains: ["CORP"]);

        Assert.Equal("User(alice)", normalizer.Normalize(@"corp\alice").ToString());
        Assert.Equal(RemoteUserOutcome.Refused, normalizer.Normalize(@"OTHER\alice").Outcome);
        Assert.Equal(RemoteUserOutcome.Refused, normalizer.Normalize(@"\alice").Outcome);
        Assert.Equal("User(alice)", normalizer.Normalize("alice").ToString());
    }

    [Fact]
    public void HugeMaxLength_DoesNotOverflow() =>
        Assert.Equal("User(alice)", Normalizer(maxLength: int.MaxValue).Normalize("alice").ToString());

    [Theory]
    [InlineData("ali\u2028ce")]
    [InlineData("ali\u2029ce")]
    public void LineAndParagraphSeparators_AreRefused(string value) =>
        Assert.Equal(RemoteUserOutcome.Malformed, Normalizer().Normalize(value).Outcome);

    [Fact]
    public void SurroundingBlanks_AreTrimmed() => Assert.Equal("User(alice)", Normalizer().Normalize(@"  CORP\ alice  ").ToString());

    [Fact]
    public void Normalization_IsIdempotent_OverGeneratedInputs()
    {
        // A fixed seed keeps the run reproducible; the alphabet favours the characters the rules care about.
        var random = new Random(20261121);
        string[] pieces =
        [
            "a", "Z", "i", "I", "\u0130", "\u0131", "\u00DF", "\u212A", "e\u0301", "\u00E9", "\u1E9E", "\u01C5", "\u03A3", "\u03C2",
            "\\", "@", "$", "/", " ", ".", "-", "_", "CORP", "corp.example.com", "CORP.EXAMPLE.COM", "anonymous", "\uD83D\uDE00",
            "\u0345", "\uFB01", "\u2126", "(null)", "ANONYMOUS LOGON", "NT AUTHORITY", ",", "\u2028",
        ];
        var normalizers = new[]
        {
            Normalizer(),
            Normalizer(stripDomain: false),
            Normalizer(realms: ["CORP.EXAMPLE.COM"], @case: RemoteUserCase.Lower),
            Normalizer(@case: RemoteUserCase.Upper, machines: true),
            Normalizer(stripDomain: false, realms: ["corp.example.com"], @case: RemoteUserCase.Upper, maxLength: 12),
            Normalizer(realms: ["CORP.EXAMPLE.COM"], domains: ["CORP"]),
        };
        var users = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var input = new StringBuilder();
            for (var n = random.Next(1, 8); n > 0; n--)
            {
                input.Append(pieces[random.Next(pieces.Length)]);
            }

            foreach (var normalizer in normalizers)
            {
                var once = normalizer.Normalize(input.ToString());
                if (once.Outcome != RemoteUserOutcome.User)
                {
                    continue;
                }

                users++;
                var twice = normalizer.Normalize(once.Name);
                Assert.True(twice.Outcome == RemoteUserOutcome.User && twice.Name == once.Name,
                    $"f(f(x)) != f(x) for x = {Escape(input.ToString())}: f(x) = {Escape(once.Name!)}, f(f(x)) = {twice}");
            }
        }

        Assert.True(users > 10_000, $"Only {users} generated inputs were users; the generator is not exercising the rules.");
    }

    private static string Escape(string value) => string.Concat(value.Select(c => c < 128 && !char.IsControl(c) ? c.ToString() : $"\\u{(int)c:X4}"));
}
