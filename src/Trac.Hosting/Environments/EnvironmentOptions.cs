using Microsoft.AspNetCore.Http;
using Trac.Hosting.Common;

namespace Trac.Hosting.Environments;

/// <summary>
/// Options of the environment resolution stage: where the Trac environments (projects) are, and how a
/// request is mapped to one of them. Bound from the <c>Trac:Environment</c> configuration section.
/// </summary>
/// <remarks>
/// <para>Exactly one way of locating environments is normally configured:</para>
/// <list type="bullet">
/// <item><description><see cref="Path"/>: a single environment serves every request (Trac's <c>TRAC_ENV</c>).</description></item>
/// <item><description><see cref="ParentDirectory"/>: every sub-directory is an environment named by the first
/// path segment (Trac's <c>TRAC_ENV_PARENT_DIR</c>).</description></item>
/// <item><description><see cref="Paths"/>: an explicit list of environment directories, each named by its last
/// directory name (Trac's <c>trac.env_paths</c>). It may be combined with <see cref="ParentDirectory"/>.</description></item>
/// </list>
/// <para>When none of the three is configured, all three fall back together to the process variables
/// <c>TRAC_ENV</c> and <c>TRAC_ENV_PARENT_DIR</c>; configuration, when present, wins as a whole. An empty value
/// counts as unset. Relative paths are resolved against the host's content root.</para>
/// </remarks>
public sealed class EnvironmentOptions
{
    /// <summary>
    /// Gets or sets the directory of the single environment that serves every request.
    /// </summary>
    /// <value>Unset by default; falls back to the process variable <c>TRAC_ENV</c>. When set, it wins over
    /// <see cref="ParentDirectory"/> and <see cref="Paths"/>, as in Trac.</value>
    public string? Path { get; set; }

    /// <summary>
    /// Gets or sets the directory whose sub-directories are the environments (multi-project hosting).
    /// </summary>
    /// <value>Unset by default; falls back to the process variable <c>TRAC_ENV_PARENT_DIR</c>. Sub-directories
    /// matching a pattern of <c>&lt;parent&gt;/.tracignore</c> (by default: hidden directories) are not environments.</value>
    public string? ParentDirectory { get; set; }

    /// <summary>
    /// Gets the explicit list of environment directories. Each is named by its last directory name; when two
    /// share a name, the first one wins. Directories that do not exist are skipped with a warning.
    /// </summary>
    /// <value>Empty by default. Trac has no process variable for it.</value>
    public IList<string> Paths { get; } = new List<string>();

    /// <summary>
    /// Gets or sets the file of a custom project index page, shown for requests to <c>/</c> in multi-project
    /// modes. See <c>docs/configuration.md</c> for its placeholders.
    /// </summary>
    /// <value>Unset by default (the built-in <c>Available Projects</c> page); falls back to the process variable
    /// <c>TRAC_ENV_INDEX_TEMPLATE</c>.</value>
    public string? IndexTemplate { get; set; }

    /// <summary>
    /// Gets or sets the absolute public URL under which the environments are served, for example
    /// <c>https://example.org/projects</c>, for building absolute links: <see cref="TracEnvironment.BaseUrl"/> is this
    /// URL (followed by the environment name in the multi-project modes). It does not change how requests are matched;
    /// see <see cref="BasePath"/> for that.
    /// </summary>
    /// <value>Unset by default; falls back to the process variable <c>TRAC_BASE_URL</c>.</value>
    public string? BaseUrl { get; set; }

    /// <summary>
    /// Gets or sets a path prefix every request must start with, like tracd's <c>--base-path</c>, for example
    /// <c>/projects</c>. Requests outside it get <c>404 Environment not found</c>; the prefix moves to
    /// <c>PathBase</c>. Requests whose <c>PathBase</c> already ends with it (an IIS virtual application,
    /// <c>UsePathBase</c>) pass as they are.
    /// </summary>
    /// <value>Unset by default: no prefix is required.</value>
    public string? BasePath { get; set; }

    /// <summary>
    /// Gets or sets a regular expression that every environment name must match as a whole, for example
    /// <c>[a-z_]+</c> for the <c>^/([a-z_]+)</c> of an Apache <c>WSGIScriptAliasMatch</c>. It is matched against
    /// the name alone (no <c>/</c>); names that do not match are neither listed nor served. The expression runs
    /// with <c>RegexOptions.NonBacktracking</c>, so it cannot use back-references or look-arounds.
    /// </summary>
    /// <value>Unset by default: every valid directory name is accepted.</value>
    public string? NamePattern { get; set; }

    /// <summary>
    /// Gets or sets a per-request selector that returns the directory of the environment for a request, the way
    /// a WSGI script sets <c>environ['trac.env_path']</c>. Returning <see langword="null"/> or an empty string
    /// falls back to the configured mode. A per-request server variable <c>trac.env_path</c> (IIS, HTTP.sys) wins
    /// over the selector.
    /// </summary>
    /// <value>Unset by default.</value>
    public Func<HttpContext, string?>? Selector { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether environment changes (<c>conf/trac.ini</c>, added or removed
    /// directories, <c>.tracignore</c>) are detected by polling instead of file-system notifications, for network
    /// shares and containers where notifications are not delivered.
    /// </summary>
    /// <value><see langword="false"/> by default, or <see langword="true"/> when the process variable
    /// <c>DOTNET_USE_POLLING_FILE_WATCHER</c> is <c>true</c> or <c>1</c>. Polling is also used automatically when
    /// the operating system refuses a file watcher.</value>
    public bool UsePollingFileWatcher { get; set; }

    /// <summary>
    /// Gets or sets how often the multi-project listing is re-read from disk and environments that failed to open
    /// are retried, as a safety net for changes file watching cannot see (a directory in <see cref="Paths"/>
    /// created after start-up, network shares). <see cref="TimeSpan.Zero"/> or
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns it off.
    /// </summary>
    /// <value>30 seconds.</value>
    public TimeSpan RescanInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets a value indicating whether responses show environments' absolute server paths, as Trac does: the
    /// <c>500 Trac Error</c> of an environment that does not open and the errors in the project index (HTML and JSON)
    /// then carry Trac's exact message (<c>No Trac environment found at /srv/trac/broken</c>). Otherwise they name the
    /// environment, or the file inside it (<c>No Trac environment found at 'broken'</c>, <c>The configuration file is
    /// not found at conf/trac.ini</c>). The <c>500</c> of a plugin cache directory that cannot be used names the project
    /// instead of the directory in the same way. The log has the full message either way; the operating-system detail
    /// of the error goes to the log only.
    /// </summary>
    /// <value>Unset by default: paths are shown only when the host environment is <c>Development</c>
    /// (<c>IHostEnvironment.IsDevelopment()</c>).</value>
    public bool? ShowServerPaths { get; set; }

    /// <summary>
    /// Gets the host's own paths (health checks, metrics, an admin page), which the Trac pipeline leaves alone:
    /// requests under them (<c>/healthz</c>, <c>/healthz/ready</c>) skip every Trac stage and the dispatch, and go on
    /// to the rest of the host pipeline with their path unchanged, so <c>app.MapHealthChecks("/healthz")</c> answers
    /// there whatever the mode. Compared case-insensitively.
    /// </summary>
    /// <value>Empty: every request is Trac's.</value>
    public IList<string> HostPaths { get; } = new List<string>();

    internal EnvironmentOptions Clone()
    {
        var clone = new EnvironmentOptions
        {
            Path = Path,
            ParentDirectory = ParentDirectory,
            IndexTemplate = IndexTemplate,
            BaseUrl = BaseUrl,
            BasePath = BasePath,
            RescanInterval = RescanInterval,
            NamePattern = NamePattern,
            Selector = Selector,
            UsePollingFileWatcher = UsePollingFileWatcher,
            ShowServerPaths = ShowServerPaths,
        };
        Lists.CopyTo(Paths, clone.Paths);
        Lists.CopyTo(HostPaths, clone.HostPaths);
        return clone;
    }
}
