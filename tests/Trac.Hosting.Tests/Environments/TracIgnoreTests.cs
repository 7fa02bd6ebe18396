using System.Text.RegularExpressions;
using Trac.Hosting.Environments;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// Trac's own <c>.tracignore</c> table (a parent with <c>mydir1</c>, <c>mydir2</c>, <c>.hidden_dir</c>), and the
/// shell-pattern semantics of Python's <c>fnmatch</c> that the patterns follow.
/// </summary>
public class TracIgnoreTests
{
    private static readonly string[] DirectoryNames = ["mydir1", "mydir2", ".hidden_dir"];

    [Fact]
    public void NoTracIgnore_ListsOnlyNonHiddenDirectories()
    {
        string[] expected = ["mydir1", "mydir2"];

        Assert.Equal(expected, Environments(TracIgnore.Default));
    }

    [Fact]
    public void NoTracIgnore_DefaultPatternIsHiddenNames()
    {
        string[] expected = [".*"];

        Assert.Equal(expected, TracIgnore.Default.Patterns);
    }

    [Fact]
    public void EmptyTracIgnore_ListsHiddenDirectories()
    {
        var ignore = TracIgnore.Parse(string.Empty);

        Assert.Empty(ignore.Patterns);
        Assert.Equal(DirectoryNames, Environments(ignore));
    }

    [Fact]
    public void QuestionMarkPattern_IgnoresBothNumberedDirectories()
    {
        string[] expected = [".hidden_dir"];

        Assert.Equal(expected, Environments(TracIgnore.Parse("mydir?")));
    }

    [Fact]
    public void StarPatternAndExplicitHiddenName_IgnoreEveryDirectory()
    {
        Assert.Empty(Environments(TracIgnore.Parse("my*\n.hidden_dir")));
    }

    [Fact]
    public void BlankLinesAndCommentLines_AreNotPatterns()
    {
        var ignore = TracIgnore.Parse("my*i?1\n\n#mydir2");
        string[] expectedPatterns = ["my*i?1"];
        string[] expectedEnvironments = ["mydir2", ".hidden_dir"];

        Assert.Equal(expectedPatterns, ignore.Patterns);
        Assert.Equal(expectedEnvironments, Environments(ignore));
    }

    [Fact]
    public void OnlyCommentsAndBlankLines_IgnoreNothingNotEvenHiddenDirectories()
    {
        var ignore = TracIgnore.Parse("# nothing here\n\n   \n\t# indented comment\n");

        Assert.Empty(ignore.Patterns);
        Assert.False(ignore.IsIgnored(".hidden_dir"));
        Assert.False(ignore.IsIgnored("mydir1"));
    }

    [Fact]
    public void Lines_AreTrimmed()
    {
        var ignore = TracIgnore.Parse("  mydir1  \n\tmydir2\t");
        string[] expected = ["mydir1", "mydir2"];

        Assert.Equal(expected, ignore.Patterns);
        Assert.True(ignore.IsIgnored("mydir1"));
        Assert.True(ignore.IsIgnored("mydir2"));
        Assert.False(ignore.IsIgnored(" mydir1"));
    }

    [Theory]
    [InlineData("mydir1\r\nmydir2\r\n")]
    [InlineData("mydir1\rmydir2")]
    [InlineData("mydir1\n\r\n\rmydir2\n")]
    public void CarriageReturnLineEndings_SplitLines(string content)
    {
        var ignore = TracIgnore.Parse(content);
        string[] expectedPatterns = ["mydir1", "mydir2"];
        string[] expectedEnvironments = [".hidden_dir"];

        Assert.Equal(expectedPatterns, ignore.Patterns);
        Assert.Equal(expectedEnvironments, Environments(ignore));
    }

    [Fact]
    public void Hash_StartsACommentOnlyAtTheStartOfATrimmedLine()
    {
        var ignore = TracIgnore.Parse("   # mydir1\nmy#dir\n");
        string[] expected = ["my#dir"];

        Assert.Equal(expected, ignore.Patterns);
        Assert.True(ignore.IsIgnored("my#dir"));
        Assert.False(ignore.IsIgnored("mydir1"));
        Assert.False(ignore.IsIgnored("# mydir1"));
    }

    [Fact]
    public void EachPattern_MustMatchTheWholeName()
    {
        var ignore = TracIgnore.Parse("mydir\nother");

        Assert.True(ignore.IsIgnored("mydir"));
        Assert.True(ignore.IsIgnored("other"));
        Assert.False(ignore.IsIgnored("mydir1"));
        Assert.False(ignore.IsIgnored("xmydir"));
        Assert.False(ignore.IsIgnored("mydirother"));
    }

    [Fact]
    public void RegexSyntaxInAPattern_DoesNotLeakIntoOtherPatterns()
    {
        var ignore = TracIgnore.Parse("a)|(.*\nb");

        Assert.True(ignore.IsIgnored("a)|(.*"));
        Assert.True(ignore.IsIgnored("b"));
        Assert.False(ignore.IsIgnored("mydir1"));
        Assert.False(ignore.IsIgnored("a"));
    }

    [Fact]
    public void DefaultPattern_IgnoresAnyNameStartingWithADot()
    {
        Assert.True(TracIgnore.Default.IsIgnored(".git"));
        Assert.True(TracIgnore.Default.IsIgnored("."));
        Assert.False(TracIgnore.Default.IsIgnored("git."));
        Assert.False(TracIgnore.Default.IsIgnored("a.b"));
    }

    [Fact]
    public void Matching_IsCaseSensitiveExceptOnWindows()
    {
        var ignore = TracIgnore.Parse("mydir1");

        Assert.True(ignore.IsIgnored("mydir1"));
        Assert.Equal(OperatingSystem.IsWindows(), ignore.IsIgnored("MYDIR1"));
    }

    [Fact]
    public void FileName_IsDotTracIgnore()
    {
        Assert.Equal(".tracignore", TracIgnore.FileName);
    }

    [Theory]
    // '*' matches everything, leading dots and the empty string included.
    [InlineData("*", "mydir1", true)]
    [InlineData("*", ".hidden_dir", true)]
    [InlineData("*", "", true)]
    [InlineData("*1", "mydir1", true)]
    [InlineData("*1", "mydir2", false)]
    [InlineData("*.bak", "a.bak", true)]
    [InlineData("*.bak", "a.bak.x", false)]
    [InlineData("my*dir", "mydir", true)]
    // '?' matches exactly one character.
    [InlineData("?", "a", true)]
    [InlineData("?", ".", true)]
    [InlineData("?", "", false)]
    [InlineData("?", "ab", false)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a?c", "ac", false)]
    // [seq] and ranges.
    [InlineData("[abc]", "b", true)]
    [InlineData("[abc]", "d", false)]
    [InlineData("[abc]", "ab", false)]
    [InlineData("[a-c]", "b", true)]
    [InlineData("[a-c]", "d", false)]
    [InlineData("[a-c]", "-", false)]
    [InlineData("dir[0-9]", "dir7", true)]
    [InlineData("dir[0-9]", "dirx", false)]
    // [!seq] negates.
    [InlineData("[!a]", "b", true)]
    [InlineData("[!a]", "a", false)]
    [InlineData("[!a]", "", false)]
    [InlineData("[!a-c]", "d", true)]
    [InlineData("[!a-c]", "b", false)]
    // A ']' right after '[' or '[!' is a member of the class.
    [InlineData("[]]", "]", true)]
    [InlineData("[]]", "a", false)]
    [InlineData("[]a]", "a", true)]
    [InlineData("[]a]", "]", true)]
    [InlineData("[!]]", "a", true)]
    [InlineData("[!]]", "]", false)]
    // A '-' at either end of a class is literal.
    [InlineData("[a-]", "-", true)]
    [InlineData("[a-]", "a", true)]
    [InlineData("[a-]", "b", false)]
    [InlineData("[-a]", "-", true)]
    [InlineData("[!-a]", "-", false)]
    [InlineData("[!-a]", "b", true)]
    // Regex-special characters inside a class are literal members.
    [InlineData("[^a]", "^", true)]
    [InlineData("[^a]", "a", true)]
    [InlineData("[^a]", "b", false)]
    [InlineData("[[]", "[", true)]
    [InlineData("[\\]", "\\", true)]
    [InlineData("[.]", ".", true)]
    [InlineData("[.]", "x", false)]
    // An unclosed '[' is a literal '['.
    [InlineData("[", "[", true)]
    [InlineData("a[b", "a[b", true)]
    [InlineData("a[b", "ab", false)]
    [InlineData("a[b", "a", false)]
    [InlineData("[!", "[!", true)]
    [InlineData("[]", "[]", true)]
    [InlineData("[!]", "[!]", true)]
    [InlineData("[!]", "a", false)]
    // Regular-expression metacharacters outside classes are literal.
    [InlineData("a.b", "a.b", true)]
    [InlineData("a.b", "axb", false)]
    [InlineData("a+b", "a+b", true)]
    [InlineData("a+b", "ab", false)]
    [InlineData("a+b", "aab", false)]
    [InlineData("(a|b)", "(a|b)", true)]
    [InlineData("(a|b)", "a", false)]
    [InlineData("a|b", "a", false)]
    [InlineData("^a$", "^a$", true)]
    [InlineData("^a$", "a", false)]
    [InlineData("a{2}", "a{2}", true)]
    [InlineData("a{2}", "aa", false)]
    [InlineData("\\d", "\\d", true)]
    [InlineData("\\d", "1", false)]
    [InlineData("a\\*", "a\\xyz", true)]
    [InlineData("a\\*", "a*", false)]
    [InlineData("my dir", "my dir", true)]
    [InlineData("#dir", "#dir", true)]
    // Patterns are anchored at both ends.
    [InlineData("mydir", "mydir", true)]
    [InlineData("mydir", "mydir1", false)]
    [InlineData("mydir", "xmydir", false)]
    // Non-ASCII.
    [InlineData("日*", "日本", true)]
    [InlineData("projekt-?", "projekt-ä", true)]
    public void Translate_FollowsFnmatchSemantics(string pattern, string name, bool expected)
    {
        var regex = new Regex(TracIgnore.Translate(pattern), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);

        Assert.Equal(expected, regex.IsMatch(name));
    }

    [Theory]
    [InlineData("my*i?1", "mydir1", true)]
    [InlineData("my*i?1", "mydir2", false)]
    [InlineData("[!.]*", "mydir1", true)]
    [InlineData("[!.]*", ".hidden_dir", false)]
    [InlineData("a.b", "axb", false)]
    [InlineData("[]]", "]", true)]
    public void IsIgnored_AppliesTranslatedPatterns(string pattern, string name, bool expected)
    {
        Assert.Equal(expected, TracIgnore.Parse(pattern).IsIgnored(name));
    }

    [Theory]
    [InlineData("[z-a]", "m", false)]
    [InlineData("[z-a]", "z", false)]
    [InlineData("[!z-a]", "m", true)]
    [InlineData("[z-ab]", "b", true)]
    [InlineData("[z-ab]", "m", false)]
    public void ReversedRange_IsEmptyAndDoesNotBreakTheFile(string pattern, string name, bool expected)
    {
        var ignore = TracIgnore.Parse(pattern + "\nmydir1");

        Assert.Equal(expected, ignore.IsIgnored(name));
        Assert.True(ignore.IsIgnored("mydir1"));
    }

    [Theory]
    [InlineData("*", "a\nb", true)]
    [InlineData("a?b", "a\nb", true)]
    [InlineData("mydir1", "mydir1\n", false)]
    public void Wildcards_MatchEveryCharacterAndPatternsEndAtTheEndOfTheName(string pattern, string name, bool expected)
    {
        Assert.Equal(expected, TracIgnore.Parse(pattern).IsIgnored(name));
    }

    private static string[] Environments(TracIgnore ignore) =>
        DirectoryNames.Where(name => !ignore.IsIgnored(name)).ToArray();
}
