using Trac.Hosting.Environments;

namespace Trac.Hosting.Testing.Tests;

public sealed class TracTestDirectoryTests
{
    [Fact]
    public void CreateEnvironment_WritesTracLayout()
    {
        using var projects = new TracTestDirectory();

        var path = projects.CreateEnvironment("alpha", e => e.WithProject("Alpha", "First").WithSetting("trac", "base_url", "https://x/alpha"));

        Assert.Equal(Path.Combine(projects.Path, "alpha"), path);
        Assert.Equal("Trac Environment Version 1", File.ReadAllLines(Path.Combine(path, "VERSION"))[0]);
        Assert.True(File.Exists(Path.Combine(path, "README")));
        foreach (var directory in new[] { "db", "htdocs", "log", "plugins", "templates", Path.Combine("files", "attachments") })
        {
            Assert.True(Directory.Exists(Path.Combine(path, directory)), directory);
        }

        var ini = File.ReadAllText(Path.Combine(path, "conf", "trac.ini"));
        Assert.Contains("[project]\nname = Alpha\ndescr = First\n", ini, StringComparison.Ordinal);
        Assert.Contains("[trac]\nbase_url = https://x/alpha\n", ini, StringComparison.Ordinal);
    }

    [Fact]
    public void CreatedEnvironment_OpensWithTheLibrary()
    {
        using var projects = new TracTestDirectory();
        var path = projects.CreateEnvironment("alpha", e => e.WithProject("Alpha", "First").WithHtdocsFile("css/site.css", "body{}"));

        var state = EnvironmentLoader.Load("alpha", path, null, TimeProvider.System);

        Assert.NotNull(state.Environment);
        Assert.Equal("Alpha", state.Environment.ProjectName);
        Assert.Equal("First", state.Environment.Description);
        Assert.Equal("body{}", File.ReadAllText(Path.Combine(state.Environment.HtdocsDirectory, "css", "site.css")));
    }

    [Fact]
    public void BrokenVariants_FailWithTracsMessages()
    {
        using var projects = new TracTestDirectory();
        var noVersion = projects.CreateEnvironment("a", e => e.WithoutVersion());
        var wrongVersion = projects.CreateEnvironment("b", e => e.WithVersion("Trac Environment Version 99"));
        var noIni = projects.CreateEnvironment("c", e => e.WithoutTracIni());
        var unreadable = projects.CreateEnvironment("d", e => e.WithUnreadableTracIni());

        Assert.Equal($"No Trac environment found at {noVersion}", EnvironmentLoader.Load("a", noVersion, null, TimeProvider.System).Error);
        Assert.Equal("Unknown Trac environment type 'Trac Environment Version 99'", EnvironmentLoader.Load("b", wrongVersion, null, TimeProvider.System).Error);
        Assert.StartsWith("The configuration file is not found at ", EnvironmentLoader.Load("c", noIni, null, TimeProvider.System).Error, StringComparison.Ordinal);
        Assert.Equal($"The configuration file {Path.Combine(unreadable, "conf", "trac.ini")} cannot be read", EnvironmentLoader.Load("d", unreadable, null, TimeProvider.System).Error);
    }

    [Fact]
    public void WithTracIni_WritesTheTextVerbatim()
    {
        using var projects = new TracTestDirectory();

        var path = projects.CreateEnvironment("raw", e => e.WithTracIni("[project]\nname = Raw\n"));

        Assert.Equal("[project]\nname = Raw\n", File.ReadAllText(Path.Combine(path, "conf", "trac.ini")));
    }

    [Fact]
    public void FilesTracIgnoreAndTracIni_AreWrittenAndReplaced()
    {
        using var projects = new TracTestDirectory();
        projects.CreateEnvironment("alpha");

        var file = projects.CreateFile("notes", "text");
        projects.WriteTracIgnore("tmp*\n");
        var ini = projects.WriteTracIni("alpha", "[project]\nname = New\n");

        Assert.Equal("text", File.ReadAllText(file));
        Assert.Equal("tmp*\n", File.ReadAllText(Path.Combine(projects.Path, ".tracignore")));
        Assert.Equal("[project]\nname = New\n", File.ReadAllText(ini));
        projects.WriteTracIgnore(null);
        Assert.False(File.Exists(Path.Combine(projects.Path, ".tracignore")));
        Assert.True(Directory.Exists(projects.CreateDirectory("plain")));
    }

    [Fact]
    public void Dispose_DeletesEverything()
    {
        var projects = new TracTestDirectory();
        projects.CreateEnvironment("alpha");

        projects.Dispose();

        Assert.False(Directory.Exists(projects.Path));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("..")]
    [InlineData(".")]
    public void NamesThatAreNotOneDirectory_AreRefused(string name)
    {
        using var projects = new TracTestDirectory();

        Assert.ThrowsAny<ArgumentException>(() => projects.CreateEnvironment(name));
    }

    [Fact]
    public void MultiLineSetting_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => new TracEnvironmentBuilder().WithSetting("project", "descr", "a\nb"));
    }

    [Fact]
    public void SameFiles_MakeTheSameArchiveBytes()
    {
        using var projects = new TracTestDirectory();

        var first = TracPluginArchive.Write(Path.Combine(projects.Path, "a.zip"), ("lib/x.dll", "x"), ("readme", "r"));
        var second = TracPluginArchive.Write(Path.Combine(projects.Path, "b.zip"), ("lib/x.dll", "x"), ("readme", "r"));

        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    [Fact]
    public void WithPluginAssembly_PutsTheAssemblyUnderLib()
    {
        using var projects = new TracTestDirectory();
        var assembly = typeof(TracTestDirectory).Assembly.Location;

        var path = projects.CreateEnvironment("alpha", e => e.WithPluginAssembly("Kit", assembly));

        using var zip = System.IO.Compression.ZipFile.OpenRead(Path.Combine(path, "plugins", "Kit.zip"));
        var entry = Assert.Single(zip.Entries);
        Assert.Equal("lib/" + Path.GetFileName(assembly), entry.FullName);
        Assert.Equal(new FileInfo(assembly).Length, entry.Length);
        Assert.Throws<FileNotFoundException>(() => new TracEnvironmentBuilder().WithPluginAssembly("x", Path.Combine(projects.Path, "none.dll")));
    }

    [Fact]
    public void TouchAndRemove_ChangeTheEnvironmentInPlace()
    {
        using var projects = new TracTestDirectory();
        var path = projects.CreateEnvironment("alpha", e => e.WithProject("Alpha").WithPlugin("P", ("a", "a")));
        var ini = Path.Combine(path, "conf", "trac.ini");
        var before = (File.GetLastWriteTimeUtc(ini), File.ReadAllText(ini));

        projects.TouchTracIni("alpha");
        projects.RemovePlugin("alpha", "P");

        Assert.NotEqual(before.Item1, File.GetLastWriteTimeUtc(ini));
        Assert.Equal(before.Item2, File.ReadAllText(ini));
        Assert.False(File.Exists(Path.Combine(path, "plugins", "P.zip")));
    }

    [Fact]
    public void EmptyArchive_CanBeWritten()
    {
        using var projects = new TracTestDirectory();

        var path = TracPluginArchive.Write(Path.Combine(projects.Path, "empty.zip"));

        using var zip = System.IO.Compression.ZipFile.OpenRead(path);
        Assert.Empty(zip.Entries);
    }
}
