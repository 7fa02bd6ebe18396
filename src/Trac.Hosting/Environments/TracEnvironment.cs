using Microsoft.Extensions.Configuration;

namespace Trac.Hosting.Environments;

/// <summary>
/// An opened Trac environment (project): its directory, its parsed <c>conf/trac.ini</c> and its standard
/// sub-directories. Instances are immutable snapshots; when <c>conf/trac.ini</c> changes, a new instance replaces
/// the old one for later requests.
/// </summary>
public sealed class TracEnvironment
{
    /// <summary>The first line a valid environment's <c>VERSION</c> file starts with.</summary>
    public const string VersionString = "Trac Environment Version 1";

    /// <summary>The project name Trac uses when <c>[project] name</c> is not set.</summary>
    public const string DefaultProjectName = "My Project";

    internal TracEnvironment(string name, string path, IConfiguration configuration, DateTimeOffset loadedAt, Uri? baseUrl)
    {
        Name = name;
        Path = path;
        Configuration = configuration;
        LoadedAt = loadedAt;
        BaseUrl = baseUrl;
        var projectName = configuration["project:name"];
        ProjectName = string.IsNullOrEmpty(projectName) ? DefaultProjectName : projectName;
        Description = configuration["project:descr"] ?? string.Empty;
    }

    /// <summary>Gets the environment's name: the URL segment that selects it, which is its directory name.</summary>
    public string Name { get; }

    /// <summary>Gets the full, normalized path of the environment directory (no trailing separator).</summary>
    public string Path { get; }

    /// <summary>Gets the project name, <c>[project] name</c> in <c>conf/trac.ini</c>, or <see cref="DefaultProjectName"/>.</summary>
    public string ProjectName { get; }

    /// <summary>Gets the project description, <c>[project] descr</c> in <c>conf/trac.ini</c>, or an empty string.</summary>
    public string Description { get; }

    /// <summary>
    /// Gets the parsed <c>conf/trac.ini</c>. Keys are <c>section:option</c>, for example <c>project:name</c> or
    /// <c>trac:base_url</c>, compared case-insensitively.
    /// </summary>
    public IConfiguration Configuration { get; }

    /// <summary>Gets when this snapshot of the environment was loaded.</summary>
    public DateTimeOffset LoadedAt { get; }

    /// <summary>
    /// Gets the public URL of the environment when <see cref="EnvironmentOptions.BaseUrl"/> is configured (in the
    /// multi-project modes the base URL followed by the environment name), otherwise <see langword="null"/>.
    /// </summary>
    public Uri? BaseUrl { get; }

    /// <summary>Gets the path of the <c>conf</c> directory.</summary>
    public string ConfDirectory => System.IO.Path.Combine(Path, "conf");

    /// <summary>Gets the path of the <c>conf/trac.ini</c> file.</summary>
    public string ConfigurationFile => System.IO.Path.Combine(Path, "conf", "trac.ini");

    /// <summary>Gets the path of the <c>htdocs</c> directory (the environment's static files).</summary>
    public string HtdocsDirectory => System.IO.Path.Combine(Path, "htdocs");

    /// <summary>Gets the path of the <c>log</c> directory.</summary>
    public string LogDirectory => System.IO.Path.Combine(Path, "log");

    /// <summary>Gets the path of the <c>plugins</c> directory (the environment's plugin archives).</summary>
    public string PluginsDirectory => System.IO.Path.Combine(Path, "plugins");

    /// <summary>Gets the path of the <c>templates</c> directory.</summary>
    public string TemplatesDirectory => System.IO.Path.Combine(Path, "templates");

    /// <summary>Gets the path of the <c>files</c> directory (attachments and other stored files).</summary>
    public string FilesDirectory => System.IO.Path.Combine(Path, "files");

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Path})";
}
