namespace Trac.Hosting.Tests.Support;

/// <summary>
/// One real Trac environment made with <c>trac-admin initenv</c> once for the tests that share it, copied for each
/// project a test needs (copying is much faster than <c>initenv</c>), and removed with the fixture.
/// </summary>
public sealed class TracTemplate : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "trac-template-" + Guid.NewGuid().ToString("N")[..12]);

    private string Environment => Path.Combine(_root, "template");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        return RealTrac.CreateEnvironmentAsync(Environment, "Template Project");
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Copies the environment to <paramref name="path"/>, names its project <paramref name="title"/>, and lets
    /// <paramref name="editIni"/> change its <c>trac.ini</c> (which lists every option with its default).
    /// </summary>
    public string CopyTo(string path, string title, Func<string, string>? editIni = null)
    {
        Copy(new DirectoryInfo(Environment), path);
        var ini = Path.Combine(path, "conf", "trac.ini");
        var text = File.ReadAllText(ini).Replace("name = Template Project", "name = " + title, StringComparison.Ordinal);
        File.WriteAllText(ini, editIni is null ? text : editIni(text));
        return path;
    }

    private static void Copy(DirectoryInfo source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in source.EnumerateFiles())
        {
            file.CopyTo(Path.Combine(target, file.Name));
        }

        foreach (var directory in source.EnumerateDirectories())
        {
            Copy(directory, Path.Combine(target, directory.Name));
        }
    }
}

/// <summary>The tests that run real Trac processes: one template environment, and one test at a time (each starts Python processes).</summary>
[CollectionDefinition(Name)]
public sealed class RealTracTests : ICollectionFixture<TracTemplate>
{
    public const string Name = "Real Trac";
}
