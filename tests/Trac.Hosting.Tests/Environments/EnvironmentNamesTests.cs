using System.Text.RegularExpressions;
using Trac.Hosting.Environments;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// Which strings may name an environment: the structural checks, then the optional whole-name pattern.
/// </summary>
public class EnvironmentNamesTests
{
    [Theory]
    [InlineData("trac")]
    [InlineData("my_proj")]
    [InlineData("Project-1.0")]
    [InlineData("a b")]
    [InlineData(".hidden")]
    [InlineData("...")]
    [InlineData("a..b")]
    [InlineData("projekt-ä")]
    [InlineData("日本")]
    [InlineData("проект")]
    [InlineData("100%")]
    [InlineData("%")]
    [InlineData("%25")]
    [InlineData("a%252F")]
    [InlineData("a%2")]
    [InlineData("%2")]
    [InlineData("%5")]
    [InlineData("%2G")]
    [InlineData("%20")]
    public void IsValid_AcceptsOrdinaryNames(string name)
    {
        Assert.True(EnvironmentNames.IsValid(name, null));
    }

    [Fact]
    public void IsValid_AcceptsSurrogatePairs()
    {
        string[] names = ["\U0001F600", "x\U0001F680y", "\U0001F600\U0001F600", "\U00020000"];

        Assert.All(names, name => Assert.True(EnvironmentNames.IsValid(name, null)));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    public void IsValid_RejectsEmptyAndDotNames(string name)
    {
        Assert.False(EnvironmentNames.IsValid(name, null));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("a/b")]
    [InlineData("/a")]
    [InlineData("a/")]
    [InlineData("\\")]
    [InlineData("a\\b")]
    [InlineData("..\\a")]
    public void IsValid_RejectsSeparators(string name)
    {
        Assert.False(EnvironmentNames.IsValid(name, null));
    }

    [Theory]
    [InlineData("%2F")]
    [InlineData("%2f")]
    [InlineData("%5C")]
    [InlineData("%5c")]
    [InlineData("a%2Fb")]
    [InlineData("a%2fb")]
    [InlineData("a%5Cb")]
    [InlineData("a%5cb")]
    [InlineData("%2Fa")]
    [InlineData("a%2F")]
    [InlineData("a%5c")]
    [InlineData("%%2F")]
    [InlineData("..%2F..")]
    public void IsValid_RejectsPercentEncodedSeparatorsAnywhere(string name)
    {
        Assert.False(EnvironmentNames.IsValid(name, null));
    }

    [Fact]
    public void IsValid_RejectsControlCharacters()
    {
        string[] names = ["a\0b", "\0", "a\rb", "a\nb", "a\n", "\ta", "a\u001Bb", "a\u007Fb", "a\u0085b", "a\u009Fb"];

        Assert.All(names, name => Assert.False(EnvironmentNames.IsValid(name, null)));
    }

    [Fact]
    public void IsValid_RejectsFormatCharacters()
    {
        // Right-to-left override, zero-width space, zero-width joiner, byte order mark, soft hyphen, and a format
        // character outside the BMP (U+E0001 LANGUAGE TAG) that is written as a surrogate pair.
        string[] names = ["a\u202Eb", "\u202E", "a\u200Bb", "a\u200Db", "\uFEFFa", "a\u00ADb", "a\U000E0001b"];

        Assert.All(names, name => Assert.False(EnvironmentNames.IsValid(name, null)));
    }

    [Fact]
    public void IsValid_RejectsLoneSurrogates()
    {
        string[] names = ["\uD800", "a\uD83Db", "a\uD83D", "\uDC00", "a\uDE00b", "\uDE00\uD83D", "\uD83D\uD83D"];

        Assert.All(names, name => Assert.False(EnvironmentNames.IsValid(name, null)));
    }

    [Theory]
    [InlineData("my_proj", true)]
    [InlineData("trac", true)]
    [InlineData("_", true)]
    [InlineData("MyProj", false)]
    [InlineData("a1", false)]
    [InlineData("my-proj", false)]
    [InlineData("my_proj ", false)]
    public void IsValid_WithPattern_RequiresTheWholeNameToMatch(string name, bool expected)
    {
        Assert.Equal(expected, EnvironmentNames.IsValid(name, NamePattern("[a-z_]+")));
    }

    [Fact]
    public void IsValid_WithAlternationPattern_AnchorsEveryAlternative()
    {
        var pattern = NamePattern("alpha|beta");

        Assert.True(EnvironmentNames.IsValid("alpha", pattern));
        Assert.True(EnvironmentNames.IsValid("beta", pattern));
        Assert.False(EnvironmentNames.IsValid("alphabeta", pattern));
        Assert.False(EnvironmentNames.IsValid("xbeta", pattern));
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a/b")]
    [InlineData("a%2Fb")]
    [InlineData("a\u202Eb")]
    public void IsValid_WithPermissivePattern_StillAppliesStructuralChecks(string name)
    {
        Assert.False(EnvironmentNames.IsValid(name, NamePattern(".*")));
    }

    [Fact]
    public void IsValid_WithPermissivePattern_StillRejectsEmptyName()
    {
        Assert.False(EnvironmentNames.IsValid(string.Empty, NamePattern(".*")));
    }

    [Fact]
    public void IsValid_AcceptsASliceOfALongerString()
    {
        var path = "/alpha/wiki".AsSpan();

        Assert.True(EnvironmentNames.IsValid(path.Slice(1, 5), NamePattern("[a-z]+")));
    }

    // Built the way EnvironmentSettings builds Trac:Environment:NamePattern.
    private static Regex NamePattern(string pattern) =>
        new($"^(?:{pattern})$", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
}
