using Microsoft.AspNetCore.Http;
using Trac.Hosting.Environments;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// The effective settings: process-variable fallbacks (from a dictionary, never the real process environment),
/// path resolution against the content root, and validation.
/// </summary>
public class EnvironmentSettingsTests
{
    private static readonly string ContentRoot = Path.GetFullPath(Path.Combine(Path.GetTempPath(), "trac-settings-root"));

    // An absolute directory outside the content root, valid on every platform.
    private static readonly string Elsewhere = Path.Combine(Path.GetPathRoot(ContentRoot)!, "srv", "trac");

    [Fact]
    public void Create_NothingConfigured_ThrowsTracsMissingOptionsMessage()
    {
        var exception = Assert.Throws<InvalidOperationException>(() => Create(new EnvironmentOptions()));

        Assert.Contains("The environment options \"TRAC_ENV\" or \"TRAC_ENV_PARENT_DIR\"", exception.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Environment:Path", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_NothingConfigured_DoesNotReadTheRealProcessEnvironment()
    {
        // Only the given function is asked: with it returning nothing, there is nothing to find.
        var asked = new List<string>();
        string? Variables(string name)
        {
            asked.Add(name);
            return null;
        }

        Assert.Throws<InvalidOperationException>(() => EnvironmentSettings.Create(new EnvironmentOptions(), Variables, ContentRoot));
        Assert.Contains("TRAC_ENV", asked);
        Assert.Contains("TRAC_ENV_PARENT_DIR", asked);
    }

    [Fact]
    public void Create_OnlyTracEnvVariable_IsSingleEnvironment()
    {
        var settings = Create(new EnvironmentOptions(), ("TRAC_ENV", Elsewhere));

        Assert.Equal(Elsewhere, settings.SinglePath);
        Assert.Null(settings.ParentDirectory);
        Assert.Empty(settings.Paths);
        Assert.False(settings.IsMultiProject);
    }

    [Fact]
    public void Create_OnlyTracEnvParentDirVariable_IsParentMode()
    {
        var settings = Create(new EnvironmentOptions(), ("TRAC_ENV_PARENT_DIR", Elsewhere));

        Assert.Null(settings.SinglePath);
        Assert.Equal(Elsewhere, settings.ParentDirectory);
        Assert.True(settings.IsMultiProject);
    }

    [Fact]
    public void Create_BothVariables_TracEnvWins()
    {
        var settings = Create(
            new EnvironmentOptions(),
            ("TRAC_ENV", Path.Combine(Elsewhere, "alpha")),
            ("TRAC_ENV_PARENT_DIR", Elsewhere));

        Assert.Equal(Path.Combine(Elsewhere, "alpha"), settings.SinglePath);
        Assert.Null(settings.ParentDirectory);
        Assert.False(settings.IsMultiProject);
    }

    [Fact]
    public void Create_ConfiguredParentDirectory_IgnoresTracEnvVariable()
    {
        var options = new EnvironmentOptions { ParentDirectory = Elsewhere };

        var settings = Create(options, ("TRAC_ENV", Path.Combine(Elsewhere, "alpha")));

        Assert.Null(settings.SinglePath);
        Assert.Equal(Elsewhere, settings.ParentDirectory);
        Assert.True(settings.IsMultiProject);
    }

    [Fact]
    public void Create_ConfiguredPaths_IgnoreBothVariables()
    {
        var options = new EnvironmentOptions();
        options.Paths.Add(Path.Combine(Elsewhere, "alpha"));

        var settings = Create(
            options,
            ("TRAC_ENV", Path.Combine(Elsewhere, "beta")),
            ("TRAC_ENV_PARENT_DIR", Elsewhere));

        Assert.Null(settings.SinglePath);
        Assert.Null(settings.ParentDirectory);
        string[] expected = [Path.Combine(Elsewhere, "alpha")];
        Assert.Equal(expected, settings.Paths);
        Assert.True(settings.IsMultiProject);
    }

    [Fact]
    public void Create_ConfiguredPath_IgnoresTracEnvParentDirVariable()
    {
        var options = new EnvironmentOptions { Path = Path.Combine(Elsewhere, "alpha") };

        var settings = Create(options, ("TRAC_ENV_PARENT_DIR", Elsewhere));

        Assert.Equal(Path.Combine(Elsewhere, "alpha"), settings.SinglePath);
        Assert.Null(settings.ParentDirectory);
        Assert.False(settings.IsMultiProject);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Create_EmptyPathAndEmptyTracEnv_Throws(string empty)
    {
        var options = new EnvironmentOptions { Path = empty };

        var exception = Assert.Throws<InvalidOperationException>(() => Create(options, ("TRAC_ENV", empty)));

        Assert.Contains("TRAC_ENV_PARENT_DIR", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_EmptyOptionValues_FallBackToVariables()
    {
        var options = new EnvironmentOptions { Path = string.Empty, ParentDirectory = string.Empty };
        options.Paths.Add(string.Empty);

        var settings = Create(options, ("TRAC_ENV", Elsewhere));

        Assert.Equal(Elsewhere, settings.SinglePath);
    }

    [Fact]
    public void Create_EmptyTracEnvButParentDirSet_IsParentMode()
    {
        var settings = Create(new EnvironmentOptions(), ("TRAC_ENV", string.Empty), ("TRAC_ENV_PARENT_DIR", Elsewhere));

        Assert.Null(settings.SinglePath);
        Assert.Equal(Elsewhere, settings.ParentDirectory);
        Assert.True(settings.IsMultiProject);
    }

    [Fact]
    public void Create_OnlyEmptyPathsEntries_Throws()
    {
        var options = new EnvironmentOptions();
        options.Paths.Add(string.Empty);
        options.Paths.Add("  ");

        Assert.Throws<InvalidOperationException>(() => Create(options));
    }

    [Fact]
    public void Create_SinglePath_WinsOverParentAndList()
    {
        var options = new EnvironmentOptions { Path = Path.Combine(Elsewhere, "alpha"), ParentDirectory = Elsewhere };
        options.Paths.Add(Path.Combine(Elsewhere, "beta"));

        var settings = Create(options);

        Assert.Equal(Path.Combine(Elsewhere, "alpha"), settings.SinglePath);
        Assert.Null(settings.ParentDirectory);
        Assert.Empty(settings.Paths);
        Assert.False(settings.IsMultiProject);
    }

    [Fact]
    public void Create_ParentAndList_AreCombined()
    {
        var options = new EnvironmentOptions { ParentDirectory = Elsewhere };
        options.Paths.Add(Path.Combine(Elsewhere, "..", "other", "beta"));
        options.Paths.Add(string.Empty);

        var settings = Create(options);

        Assert.Null(settings.SinglePath);
        Assert.Equal(Elsewhere, settings.ParentDirectory);
        string[] expected = [Path.Combine(Path.GetPathRoot(ContentRoot)!, "srv", "other", "beta")];
        Assert.Equal(expected, settings.Paths);
        Assert.True(settings.IsMultiProject);
    }

    [Theory]
    [InlineData("alpha")]
    [InlineData("alpha/")]
    [InlineData("./alpha")]
    [InlineData("sub/../alpha")]
    [InlineData("sub/../alpha//")]
    public void Create_RelativePath_ResolvesAgainstContentRootWithoutTrailingSeparator(string relative)
    {
        var settings = Create(new EnvironmentOptions { Path = relative });

        Assert.Equal(Path.Combine(ContentRoot, "alpha"), settings.SinglePath);
        Assert.Equal(ContentRoot, settings.ContentRoot);
    }

    [Fact]
    public void Create_RelativeParentListAndTemplate_ResolveAgainstContentRoot()
    {
        var options = new EnvironmentOptions { ParentDirectory = "projects/", IndexTemplate = "templates/index.html" };
        options.Paths.Add("more/beta");
        options.Paths.Add("gamma" + Path.DirectorySeparatorChar);

        var settings = Create(options);

        Assert.Equal(Path.Combine(ContentRoot, "projects"), settings.ParentDirectory);
        string[] expected = [Path.Combine(ContentRoot, "more", "beta"), Path.Combine(ContentRoot, "gamma")];
        Assert.Equal(expected, settings.Paths);
        Assert.Equal(Path.Combine(ContentRoot, "templates", "index.html"), settings.IndexTemplate);
    }

    [Fact]
    public void Create_RelativeVariable_ResolvesAgainstContentRoot()
    {
        var settings = Create(new EnvironmentOptions(), ("TRAC_ENV_PARENT_DIR", "envs" + Path.DirectorySeparatorChar));

        Assert.Equal(Path.Combine(ContentRoot, "envs"), settings.ParentDirectory);
    }

    [Fact]
    public void Create_AbsolutePathWithTrailingSeparator_IsTrimmed()
    {
        var settings = Create(new EnvironmentOptions { Path = Elsewhere + Path.DirectorySeparatorChar });

        Assert.Equal(Elsewhere, settings.SinglePath);
    }

    [Fact]
    public void Create_RootDirectory_KeepsItsSeparator()
    {
        var root = Path.GetPathRoot(ContentRoot)!;

        var settings = Create(new EnvironmentOptions { ParentDirectory = root });

        Assert.Equal(root, settings.ParentDirectory);
    }

    [Fact]
    public void ResolvePath_UsesTheContentRoot()
    {
        var settings = Create(new EnvironmentOptions { Path = Elsewhere });

        Assert.Equal(Path.Combine(ContentRoot, "x", "y"), settings.ResolvePath("x/y/"));
        Assert.Equal(Elsewhere, settings.ResolvePath(Elsewhere));
    }

    [Fact]
    public void Create_BaseUrlAndIndexTemplateVariables_ApplyWhenOptionsLeaveThemUnset()
    {
        var settings = Create(
            new EnvironmentOptions { ParentDirectory = Elsewhere },
            ("TRAC_ENV", Path.Combine(Elsewhere, "ignored")),
            ("TRAC_BASE_URL", "https://example.org/projects"),
            ("TRAC_ENV_INDEX_TEMPLATE", "index.html"));

        Assert.Null(settings.SinglePath);
        Assert.Equal(new Uri("https://example.org/projects"), settings.BaseUrl);
        Assert.False(settings.BasePath.HasValue);
        Assert.Equal(Path.Combine(ContentRoot, "index.html"), settings.IndexTemplate);
    }

    [Fact]
    public void Create_BaseUrlAndIndexTemplateOptions_WinOverVariables()
    {
        var options = new EnvironmentOptions
        {
            ParentDirectory = Elsewhere,
            BaseUrl = "https://example.org/configured",
            IndexTemplate = "configured.html",
        };

        var settings = Create(
            options,
            ("TRAC_BASE_URL", "https://example.org/variable"),
            ("TRAC_ENV_INDEX_TEMPLATE", "variable.html"));

        Assert.Equal(new Uri("https://example.org/configured"), settings.BaseUrl);
        Assert.Equal(Path.Combine(ContentRoot, "configured.html"), settings.IndexTemplate);
    }

    [Fact]
    public void Create_Fallbacks_ApplyPerKey()
    {
        var options = new EnvironmentOptions { ParentDirectory = Elsewhere, BaseUrl = "https://example.org/configured" };

        var settings = Create(
            options,
            ("TRAC_BASE_URL", "https://example.org/variable"),
            ("TRAC_ENV_INDEX_TEMPLATE", "variable.html"));

        Assert.Equal(new Uri("https://example.org/configured"), settings.BaseUrl);
        Assert.Equal(Path.Combine(ContentRoot, "variable.html"), settings.IndexTemplate);
    }

    [Fact]
    public void Create_EmptyBaseUrlAndTemplateOptions_FallBackToVariables()
    {
        var options = new EnvironmentOptions { ParentDirectory = Elsewhere, BaseUrl = string.Empty, IndexTemplate = string.Empty };

        var settings = Create(
            options,
            ("TRAC_BASE_URL", "https://example.org/variable"),
            ("TRAC_ENV_INDEX_TEMPLATE", "variable.html"));

        Assert.Equal(new Uri("https://example.org/variable"), settings.BaseUrl);
        Assert.Equal(Path.Combine(ContentRoot, "variable.html"), settings.IndexTemplate);
    }

    [Fact]
    public void Create_NoBaseUrlOrTemplate_LeavesThemUnset()
    {
        var settings = Create(new EnvironmentOptions { ParentDirectory = Elsewhere }, ("TRAC_BASE_URL", string.Empty));

        Assert.Null(settings.BaseUrl);
        Assert.False(settings.BasePath.HasValue);
        Assert.Null(settings.IndexTemplate);
    }

    [Theory]
    [InlineData("https://example.org/projects/")]
    [InlineData("https://example.org")]
    public void Create_BaseUrl_NeverRestrictsRequestPaths(string baseUrl)
    {
        var settings = Create(new EnvironmentOptions { ParentDirectory = Elsewhere, BaseUrl = baseUrl });

        Assert.Equal(new Uri(baseUrl), settings.BaseUrl);
        Assert.False(settings.BasePath.HasValue);
    }

    [Theory]
    [InlineData("/projects/", "/projects")]
    [InlineData("/projects", "/projects")]
    [InlineData("/a/b", "/a/b")]
    [InlineData("/my projects", "/my projects")]
    public void Create_BasePath_IsTrimmed(string basePath, string expected)
    {
        var settings = Create(new EnvironmentOptions { ParentDirectory = Elsewhere, BasePath = basePath });

        Assert.Equal(expected, settings.BasePath.Value);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("")]
    public void Create_RootOrEmptyBasePath_RequiresNoPrefix(string basePath)
    {
        var settings = Create(new EnvironmentOptions { ParentDirectory = Elsewhere, BasePath = basePath });

        Assert.False(settings.BasePath.HasValue);
    }

    [Theory]
    [InlineData("projects")]
    [InlineData("/projects?x=1")]
    [InlineData("/projects#top")]
    public void Validate_BasePathThatIsNotAPath_IsReported(string basePath)
    {
        var errors = EnvironmentSettings.Validate(new EnvironmentOptions { ParentDirectory = Elsewhere, BasePath = basePath });

        Assert.Contains(errors, e => e.Contains("Trac:Environment:BasePath", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_NamePatternWithSlash_IsReportedWithTheFix()
    {
        var errors = EnvironmentSettings.Validate(new EnvironmentOptions { ParentDirectory = Elsewhere, NamePattern = "^/([a-z_]+)" });

        Assert.Contains(errors, e => e.Contains("'[a-z_]+' instead of '^/([a-z_]+)'", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_NegativeRescanInterval_IsReported()
    {
        var errors = EnvironmentSettings.Validate(new EnvironmentOptions { ParentDirectory = Elsewhere, RescanInterval = TimeSpan.FromSeconds(-1) });

        Assert.Contains(errors, e => e.Contains("Trac:Environment:RescanInterval", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Create_ZeroOrInfiniteRescanInterval_TurnsRescanningOff(int milliseconds)
    {
        var settings = Create(new EnvironmentOptions { ParentDirectory = Elsewhere, RescanInterval = TimeSpan.FromMilliseconds(milliseconds) });

        Assert.Equal(TimeSpan.Zero, settings.RescanInterval);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://x/y")]
    [InlineData("https://x/y?q=1")]
    [InlineData("https://x/y#top")]
    [InlineData("projects")]
    [InlineData("/projects")]
    public void InvalidBaseUrl_IsRejected(string baseUrl)
    {
        var options = new EnvironmentOptions { ParentDirectory = Elsewhere, BaseUrl = baseUrl };

        var exception = Assert.Throws<InvalidOperationException>(() => Create(options));
        var error = Assert.Single(EnvironmentSettings.Validate(options));

        Assert.Contains("BaseUrl", exception.Message, StringComparison.Ordinal);
        Assert.Contains(baseUrl, exception.Message, StringComparison.Ordinal);
        Assert.Contains("BaseUrl", error, StringComparison.Ordinal);
        Assert.Contains(baseUrl, error, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidBaseUrlVariable_IsRejected()
    {
        var exception = Assert.Throws<InvalidOperationException>(
            () => Create(new EnvironmentOptions { ParentDirectory = Elsewhere }, ("TRAC_BASE_URL", "ftp://x/y")));

        Assert.Contains("TRAC_BASE_URL", exception.Message, StringComparison.Ordinal);
        Assert.Contains("ftp://x/y", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("(")]
    [InlineData("[a-")]
    [InlineData("(a)\\1")]
    [InlineData("(?=a)a")]
    public void InvalidNamePattern_IsRejected(string pattern)
    {
        var options = new EnvironmentOptions { ParentDirectory = Elsewhere, NamePattern = pattern };

        var error = Assert.Single(EnvironmentSettings.Validate(options));
        var exception = Assert.Throws<InvalidOperationException>(() => Create(options));

        Assert.Contains("NamePattern", error, StringComparison.Ordinal);
        Assert.Contains(pattern, error, StringComparison.Ordinal);
        Assert.Contains("NamePattern", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ReportsEveryProblem()
    {
        var options = new EnvironmentOptions { ParentDirectory = Elsewhere, BaseUrl = "ftp://x/y", NamePattern = "(" };

        var errors = EnvironmentSettings.Validate(options);

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, error => error.Contains("BaseUrl", StringComparison.Ordinal));
        Assert.Contains(errors, error => error.Contains("NamePattern", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_PathWithNulCharacter_IsReported()
    {
        var options = new EnvironmentOptions { Path = "a\0b" };

        var error = Assert.Single(EnvironmentSettings.Validate(options));

        Assert.Contains("not valid in a path", error, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => Create(options));
    }

    [Fact]
    public void Validate_GoodOptions_ReportsNothing()
    {
        var options = new EnvironmentOptions
        {
            ParentDirectory = Elsewhere,
            BaseUrl = "https://example.org/projects/",
            NamePattern = "[a-z_]+",
            IndexTemplate = "index.html",
        };
        options.Paths.Add("alpha");

        Assert.Empty(EnvironmentSettings.Validate(options));
    }

    [Fact]
    public void Validate_EmptyOptions_ReportsNothing()
    {
        Assert.Empty(EnvironmentSettings.Validate(new EnvironmentOptions()));
    }

    [Fact]
    public void Create_NamePattern_MatchesWholeNamesOnly()
    {
        var settings = Create(new EnvironmentOptions { ParentDirectory = Elsewhere, NamePattern = "[a-z_]+" });

        var pattern = Assert.IsType<System.Text.RegularExpressions.Regex>(settings.NamePattern);
        Assert.Matches(pattern, "my_proj");
        Assert.DoesNotMatch(pattern, "MyProj");
        Assert.DoesNotMatch(pattern, "a1");
        Assert.True(EnvironmentNames.IsValid("my_proj", settings.NamePattern));
        Assert.False(EnvironmentNames.IsValid("MyProj", settings.NamePattern));
    }

    [Fact]
    public void Create_NamePatternAlternation_IsAnchoredAsAWhole()
    {
        var settings = Create(new EnvironmentOptions { ParentDirectory = Elsewhere, NamePattern = "alpha|beta" });

        Assert.True(EnvironmentNames.IsValid("beta", settings.NamePattern));
        Assert.False(EnvironmentNames.IsValid("alphabeta", settings.NamePattern));
        Assert.False(EnvironmentNames.IsValid("betax", settings.NamePattern));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Create_NoNamePattern_AcceptsEveryName(string? pattern)
    {
        var settings = Create(new EnvironmentOptions { ParentDirectory = Elsewhere, NamePattern = pattern });

        Assert.Null(settings.NamePattern);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("TRUE", true)]
    [InlineData("True", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("yes", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Create_PollingVariable_EnablesPollingFileWatcher(string? value, bool expected)
    {
        var settings = Create(new EnvironmentOptions { ParentDirectory = Elsewhere }, ("DOTNET_USE_POLLING_FILE_WATCHER", value));

        Assert.Equal(expected, settings.UsePollingFileWatcher);
    }

    [Fact]
    public void Create_PollingOption_WinsOverAFalseVariable()
    {
        var options = new EnvironmentOptions { ParentDirectory = Elsewhere, UsePollingFileWatcher = true };

        var settings = Create(options, ("DOTNET_USE_POLLING_FILE_WATCHER", "0"));

        Assert.True(settings.UsePollingFileWatcher);
    }

    [Fact]
    public void Create_SelectorAlone_IsAccepted()
    {
        Func<HttpContext, string?> selector = _ => Elsewhere;

        var settings = Create(new EnvironmentOptions { Selector = selector });

        Assert.Same(selector, settings.Selector);
        Assert.Null(settings.SinglePath);
        Assert.Null(settings.ParentDirectory);
        Assert.Empty(settings.Paths);
        Assert.False(settings.IsMultiProject);
    }

    [Fact]
    public void Create_SelectorWithTracEnv_KeepsBoth()
    {
        Func<HttpContext, string?> selector = _ => null;

        var settings = Create(new EnvironmentOptions { Selector = selector }, ("TRAC_ENV", Elsewhere));

        Assert.Same(selector, settings.Selector);
        Assert.Equal(Elsewhere, settings.SinglePath);
    }

    private static EnvironmentSettings Create(EnvironmentOptions options, params (string Name, string? Value)[] variables)
    {
        var map = variables.ToDictionary(variable => variable.Name, variable => variable.Value, StringComparer.Ordinal);
        return EnvironmentSettings.Create(options, name => map.GetValueOrDefault(name), ContentRoot);
    }
}
