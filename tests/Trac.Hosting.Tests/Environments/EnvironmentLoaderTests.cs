using System.Text;
using Trac.Hosting.Environments;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// Opening environment directories created on disk: the good case and Trac's error messages.
/// </summary>
public class EnvironmentLoaderTests
{
    private static readonly DateTimeOffset Now = new(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);

    private static readonly TimeProvider Clock = new FixedTimeProvider(Now);

    [Fact]
    public void Load_GoodEnvironment_ExposesProjectAndConfiguration()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("alpha", env => env
            .WithProject("Alpha", "The first project")
            .WithSetting("trac", "base_url", "https://example.org/projects/alpha"));

        var state = EnvironmentLoader.Load("alpha", path, null, Clock);

        Assert.Null(state.Error);
        Assert.Null(state.ErrorDetail);
        var environment = Assert.IsType<TracEnvironment>(state.Environment);
        Assert.Equal("alpha", environment.Name);
        Assert.Equal(path, environment.Path);
        Assert.Equal("Alpha", environment.ProjectName);
        Assert.Equal("The first project", environment.Description);
        Assert.Equal("Alpha", environment.Configuration["project:name"]);
        Assert.Equal("The first project", environment.Configuration["project:descr"]);
        Assert.Equal("https://example.org/projects/alpha", environment.Configuration["trac:base_url"]);
        Assert.Equal(Now, environment.LoadedAt);
        Assert.Null(environment.BaseUrl);
    }

    [Fact]
    public void Load_GoodEnvironment_ConfigurationKeysAreCaseInsensitive()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("alpha", env => env.WithSetting("trac", "base_url", "https://example.org/"));

        var environment = Loaded(EnvironmentLoader.Load("alpha", path, null, Clock));

        Assert.Equal("https://example.org/", environment.Configuration["TRAC:Base_Url"]);
    }

    [Fact]
    public void Load_GoodEnvironment_ExposesStandardSubDirectories()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("alpha");

        var environment = Loaded(EnvironmentLoader.Load("alpha", path, null, Clock));

        Assert.Equal(Path.Combine(path, "conf"), environment.ConfDirectory);
        Assert.Equal(Path.Combine(path, "conf", "trac.ini"), environment.ConfigurationFile);
        Assert.Equal(Path.Combine(path, "htdocs"), environment.HtdocsDirectory);
        Assert.Equal(Path.Combine(path, "log"), environment.LogDirectory);
        Assert.Equal(Path.Combine(path, "plugins"), environment.PluginsDirectory);
        Assert.Equal(Path.Combine(path, "templates"), environment.TemplatesDirectory);
        Assert.Equal(Path.Combine(path, "files"), environment.FilesDirectory);
        Assert.True(File.Exists(environment.ConfigurationFile));
        Assert.True(Directory.Exists(environment.HtdocsDirectory));
        Assert.True(Directory.Exists(environment.FilesDirectory));
    }

    [Fact]
    public void Load_GoodEnvironment_ToStringNamesNameAndPath()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("alpha");

        var environment = Loaded(EnvironmentLoader.Load("alpha", path, null, Clock));

        Assert.Equal($"alpha ({path})", environment.ToString());
    }

    [Fact]
    public void Load_WithBaseUrl_KeepsIt()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("alpha");
        var baseUrl = new Uri("https://example.org/projects/alpha");

        var environment = Loaded(EnvironmentLoader.Load("alpha", path, baseUrl, Clock));

        Assert.Equal(baseUrl, environment.BaseUrl);
    }

    [Fact]
    public void Load_WithSystemClock_StampsLoadTime()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("alpha");
        var before = DateTimeOffset.UtcNow;

        var environment = Loaded(EnvironmentLoader.Load("alpha", path, null, TimeProvider.System));

        Assert.InRange(environment.LoadedAt, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact]
    public void Load_ConfigurationIsASnapshot()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("alpha", env => env.WithProject("Before"));
        var first = Loaded(EnvironmentLoader.Load("alpha", path, null, Clock));

        directory.WriteTracIni("alpha", "[project]\nname = After\n");
        var second = Loaded(EnvironmentLoader.Load("alpha", path, null, Clock));

        Assert.Equal("Before", first.ProjectName);
        Assert.Equal("Before", first.Configuration["project:name"]);
        Assert.Equal("After", second.ProjectName);
    }

    [Fact]
    public void Load_NoVersionFile_ReportsNoEnvironment()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("broken", env => env.WithoutVersion());

        var state = EnvironmentLoader.Load("broken", path, null, Clock);

        Assert.Null(state.Environment);
        Assert.Equal($"No Trac environment found at {path}", state.Error);
        Assert.False(string.IsNullOrEmpty(state.ErrorDetail));
    }

    [Fact]
    public void Load_MissingDirectory_ReportsNoEnvironment()
    {
        using var directory = new TracTestDirectory();
        var path = Path.Combine(directory.Path, "missing");

        var state = EnvironmentLoader.Load("missing", path, null, Clock);

        Assert.Null(state.Environment);
        Assert.Equal($"No Trac environment found at {path}", state.Error);
        Assert.NotNull(state.ErrorDetail);
    }

    [Fact]
    public void Load_PlainDirectory_ReportsNoEnvironment()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateDirectory("plain");

        var state = EnvironmentLoader.Load("plain", path, null, Clock);

        Assert.Null(state.Environment);
        Assert.Equal($"No Trac environment found at {path}", state.Error);
    }

    [Fact]
    public void Load_UnknownVersion_ReportsTheVersionText()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("old", env => env.WithVersion("Trac Environment Version 2"));

        var state = EnvironmentLoader.Load("old", path, null, Clock);

        Assert.Null(state.Environment);
        Assert.Equal("Unknown Trac environment type 'Trac Environment Version 2'", state.Error);
    }

    [Fact]
    public void Load_EmptyVersionLine_ReportsEmptyType()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("empty", env => env.WithVersion(string.Empty));

        var state = EnvironmentLoader.Load("empty", path, null, Clock);

        Assert.Null(state.Environment);
        Assert.Equal("Unknown Trac environment type ''", state.Error);
    }

    [Fact]
    public void Load_ZeroByteVersionFile_ReportsEmptyType()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("empty");
        File.WriteAllBytes(Path.Combine(path, "VERSION"), []);

        var state = EnvironmentLoader.Load("empty", path, null, Clock);

        Assert.Null(state.Environment);
        Assert.Equal("Unknown Trac environment type ''", state.Error);
    }

    [Fact]
    public void Load_VersionComparison_IsCaseSensitive()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("lower", env => env.WithVersion("trac environment version 1"));

        var state = EnvironmentLoader.Load("lower", path, null, Clock);

        Assert.Equal("Unknown Trac environment type 'trac environment version 1'", state.Error);
    }

    [Theory]
    [InlineData("Trac Environment Version 1   ")]
    [InlineData("Trac Environment Version 1\t")]
    [InlineData("Trac Environment Version 1\r")]
    [InlineData("Trac Environment Version 1 \r\nanything on the second line")]
    [InlineData("Trac Environment Version 1\nTrac Environment Version 2")]
    public void Load_VersionFirstLineWithTrailingWhitespace_IsAccepted(string version)
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("alpha", env => env.WithVersion(version).WithProject("Alpha"));

        var state = EnvironmentLoader.Load("alpha", path, null, Clock);

        Assert.Null(state.Error);
        Assert.Equal("Alpha", Loaded(state).ProjectName);
    }

    [Fact]
    public void Load_VersionWithByteOrderMark_IsAccepted()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("alpha");
        File.WriteAllText(Path.Combine(path, "VERSION"), "Trac Environment Version 1\r\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var state = EnvironmentLoader.Load("alpha", path, null, Clock);

        Assert.Null(state.Error);
        Assert.NotNull(state.Environment);
    }

    [Fact]
    public void Load_NoTracIni_ReportsConfigurationFileNotFound()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("noini", env => env.WithoutTracIni());

        var state = EnvironmentLoader.Load("noini", path, null, Clock);

        Assert.Null(state.Environment);
        Assert.Equal($"The configuration file is not found at {Path.Combine(path, "conf", "trac.ini")}", state.Error);
        Assert.False(string.IsNullOrEmpty(state.ErrorDetail));
    }

    [Fact]
    public void Load_NoConfDirectory_ReportsConfigurationFileNotFound()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("noconf");
        Directory.Delete(Path.Combine(path, "conf"), recursive: true);

        var state = EnvironmentLoader.Load("noconf", path, null, Clock);

        Assert.Null(state.Environment);
        Assert.Equal($"The configuration file is not found at {Path.Combine(path, "conf", "trac.ini")}", state.Error);
    }

    [Fact]
    public void Load_TracIniIsADirectory_ReportsUnreadableConfigurationFile()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("dirini", env => env.WithoutTracIni());
        var iniPath = Path.Combine(path, "conf", "trac.ini");
        Directory.CreateDirectory(iniPath);

        var state = EnvironmentLoader.Load("dirini", path, null, Clock);

        Assert.Null(state.Environment);
        Assert.Equal($"The configuration file {iniPath} cannot be read", state.Error);
        Assert.NotNull(state.ErrorDetail);
    }

    [Fact]
    public void Load_TracIniWithoutProjectSection_UsesTracDefaults()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("anon", env => env.WithSetting("trac", "base_url", "https://example.org/anon"));

        var environment = Loaded(EnvironmentLoader.Load("anon", path, null, Clock));

        Assert.Equal("My Project", environment.ProjectName);
        Assert.Equal(TracEnvironment.DefaultProjectName, environment.ProjectName);
        Assert.Equal(string.Empty, environment.Description);
        Assert.Null(environment.Configuration["project:name"]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n")]
    [InlineData("[project]\n")]
    [InlineData("[project]\nname =\ndescr =\n")]
    public void Load_TracIniWithoutProjectName_UsesTracDefaults(string ini)
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("anon", env => env.WithTracIni(ini));

        var environment = Loaded(EnvironmentLoader.Load("anon", path, null, Clock));

        Assert.Equal("My Project", environment.ProjectName);
        Assert.Equal(string.Empty, environment.Description);
    }

    [Theory]
    [InlineData("this is not ini\n")]
    [InlineData("[project]\nname = Alpha\nthis is not ini\n")]
    public void Load_InvalidIni_ReportsAnErrorNamingTheFile(string ini)
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("badini", env => env.WithTracIni(ini));

        var state = EnvironmentLoader.Load("badini", path, null, Clock);

        Assert.Null(state.Environment);
        Assert.NotNull(state.Error);
        Assert.Contains(Path.Combine(path, "conf", "trac.ini"), state.Error, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(state.ErrorDetail));
    }

    [Fact]
    public void Load_MarkupInValues_IsKeptVerbatim()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("xss", env => env
            .WithProject("<script>alert(1)</script>", "a & b <b>bold</b> \"quoted\" 'single'"));

        var environment = Loaded(EnvironmentLoader.Load("xss", path, null, Clock));

        Assert.Equal("<script>alert(1)</script>", environment.ProjectName);
        Assert.Equal("a & b <b>bold</b> \"quoted\" 'single'", environment.Description);
        Assert.Equal("<script>alert(1)</script>", environment.Configuration["project:name"]);
    }

    [Fact]
    public void Load_NonAsciiValues_AreReadAsUtf8()
    {
        using var directory = new TracTestDirectory();
        var path = directory.CreateEnvironment("projekt-ä", env => env.WithProject("Projekt ä 日本 \U0001F600", "Überblick"));

        var environment = Loaded(EnvironmentLoader.Load("projekt-ä", path, null, Clock));

        Assert.Equal("projekt-ä", environment.Name);
        Assert.Equal("Projekt ä 日本 \U0001F600", environment.ProjectName);
        Assert.Equal("Überblick", environment.Description);
    }

    private static TracEnvironment Loaded(EnvironmentState state)
    {
        Assert.Null(state.Error);
        return Assert.IsType<TracEnvironment>(state.Environment);
    }

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
