namespace Trac.Hosting.Testing;

/// <summary>
/// A temporary directory of Trac environments for tests: it plays the part of <c>TRAC_ENV_PARENT_DIR</c>, and
/// each environment created in it has Trac's layout. Deleted, with everything in it, on <see cref="Dispose"/>.
/// </summary>
/// <example>
/// <code>
/// using var projects = new TracTestDirectory();
/// projects.CreateEnvironment("alpha", env =&gt; env.WithProject("Alpha", "The first project"));
/// projects.CreateEnvironment("broken", env =&gt; env.WithoutVersion());
/// // options.Environment.ParentDirectory = projects.Path;
/// </code>
/// </example>
public sealed class TracTestDirectory : IDisposable
{
    /// <summary>
    /// Creates a new, empty temporary directory.
    /// </summary>
    /// <param name="prefix">The start of the directory's name, to tell test directories apart.</param>
    public TracTestDirectory(string prefix = "trac-test-")
    {
        ArgumentNullException.ThrowIfNull(prefix);
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
    }

    /// <summary>Gets the full path of the directory.</summary>
    public string Path { get; }

    /// <summary>
    /// Creates an environment directory named <paramref name="name"/> with Trac's layout (<c>VERSION</c>,
    /// <c>README</c>, <c>conf/trac.ini</c>, <c>db</c>, <c>htdocs</c>, <c>log</c>, <c>plugins</c>,
    /// <c>templates</c>, <c>files/attachments</c>).
    /// </summary>
    /// <param name="name">The directory name, which is also the environment's name.</param>
    /// <param name="configure">Adjusts the environment: project name, settings, broken variants.</param>
    /// <returns>The full path of the environment.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or not a single directory name.</exception>
    public string CreateEnvironment(string name, Action<TracEnvironmentBuilder>? configure = null)
    {
        var builder = new TracEnvironmentBuilder();
        configure?.Invoke(builder);
        var path = ChildPath(name);
        builder.WriteTo(path);
        return path;
    }

    /// <summary>Creates a plain sub-directory (not an environment).</summary>
    /// <param name="name">The directory name.</param>
    /// <returns>The full path of the directory.</returns>
    public string CreateDirectory(string name) => Directory.CreateDirectory(ChildPath(name)).FullName;

    /// <summary>Creates or replaces a file in the directory.</summary>
    /// <param name="name">The file name.</param>
    /// <param name="content">The file's text.</param>
    /// <returns>The full path of the file.</returns>
    public string CreateFile(string name, string content = "")
    {
        ArgumentNullException.ThrowIfNull(content);
        var path = ChildPath(name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>
    /// Writes the directory's <c>.tracignore</c> file (one shell pattern per line), or deletes it when
    /// <paramref name="content"/> is <see langword="null"/>.
    /// </summary>
    /// <param name="content">The file's text, or <see langword="null"/> for no file.</param>
    public void WriteTracIgnore(string? content)
    {
        var path = System.IO.Path.Combine(Path, ".tracignore");
        if (content is null)
        {
            File.Delete(path);
        }
        else
        {
            File.WriteAllText(path, content);
        }
    }

    /// <summary>
    /// Replaces the <c>conf/trac.ini</c> of an environment, for tests of configuration reload.
    /// </summary>
    /// <param name="name">The environment's name.</param>
    /// <param name="content">The new INI text.</param>
    /// <returns>The full path of the file.</returns>
    public string WriteTracIni(string name, string content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var path = System.IO.Path.Combine(ChildPath(name), "conf", "trac.ini");
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>
    /// Writes (or replaces) the plugin archive <c>plugins/&lt;plugin&gt;.zip</c> of an environment, for tests of plugin
    /// changes while a host runs. The archive appears at once, complete.
    /// </summary>
    /// <param name="name">The environment's name.</param>
    /// <param name="plugin">The plugin's name.</param>
    /// <param name="files">Entry names (with <c>/</c>) and their text.</param>
    /// <returns>The full path of the archive.</returns>
    public string WritePlugin(string name, string plugin, params (string Name, string Content)[] files)
    {
        ArgumentException.ThrowIfNullOrEmpty(plugin);
        return TracPluginArchive.Write(System.IO.Path.Combine(ChildPath(name), "plugins", plugin + ".zip"), files);
    }

    /// <summary>Marks an environment's <c>conf/trac.ini</c> as changed (its time stamp moves; the content stays).</summary>
    /// <param name="name">The environment's name.</param>
    public void TouchTracIni(string name)
    {
        var path = System.IO.Path.Combine(ChildPath(name), "conf", "trac.ini");
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(1));
        File.AppendAllText(path, string.Empty);
    }

    /// <summary>Deletes an environment's plugin archive, for tests of a removed plugin.</summary>
    /// <param name="name">The environment's name.</param>
    /// <param name="plugin">The plugin's name.</param>
    public void RemovePlugin(string name, string plugin)
    {
        ArgumentException.ThrowIfNullOrEmpty(plugin);
        File.Delete(System.IO.Path.Combine(ChildPath(name), "plugins", plugin + ".zip"));
    }

    /// <summary>Deletes the directory and everything in it. Failures (a file still open) are ignored.</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A test that still holds a file open must not fail because of clean-up.
        }
    }

    private string ChildPath(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.IndexOfAny(['/', '\\']) >= 0 || name is "." or "..")
        {
            throw new ArgumentException($"'{name}' is not a single directory name.", nameof(name));
        }

        return System.IO.Path.Combine(Path, name);
    }
}
