using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.Environments;

/// <summary>
/// The effective, validated settings of one environment resolution stage: options with the process-variable
/// fallbacks applied and relative paths made absolute. Immutable.
/// </summary>
internal sealed class EnvironmentSettings
{
    internal const string MissingOptionsMessage =
        "The environment options \"TRAC_ENV\" or \"TRAC_ENV_PARENT_DIR\" or the mod_python options \"TracEnv\" or " +
        "\"TracEnvParentDir\" are missing. Trac requires one of these options to locate the Trac environment(s).";

    private EnvironmentSettings()
    {
    }

    public string? SinglePath { get; private init; }

    public string? ParentDirectory { get; private init; }

    public IReadOnlyList<string> Paths { get; private init; } = [];

    public string? IndexTemplate { get; private init; }

    public Uri? BaseUrl { get; private init; }

    /// <summary>Gets the required path prefix, without a trailing slash; empty when none.</summary>
    public PathString BasePath { get; private init; }

    /// <summary>Gets the host's own paths, which the Trac pipeline leaves alone.</summary>
    public PathString[] HostPaths { get; private init; } = [];

    /// <summary>Gets the interval of the listing re-scan and of retries of failed environments; zero when off.</summary>
    public TimeSpan RescanInterval { get; private init; }

    /// <summary>
    /// Gets how long a changed file must stay quiet before it is read: editors and <c>File.WriteAllText</c> truncate
    /// first and write after, and reading in between would load an empty configuration.
    /// </summary>
    public TimeSpan ReloadDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public Regex? NamePattern { get; private init; }

    public Func<HttpContext, string?>? Selector { get; private init; }

    public bool UsePollingFileWatcher { get; private init; }

    /// <summary>Gets whether responses show absolute server paths; <see langword="null"/>: in <c>Development</c> only.</summary>
    public bool? ShowServerPaths { get; private init; }

    public string ContentRoot { get; private init; } = string.Empty;

    public bool IsMultiProject => ParentDirectory is not null || Paths.Count > 0;

    /// <summary>Returns whether the environment at a full path is a directory directly under <see cref="ParentDirectory"/>.</summary>
    public bool IsDirectlyUnderParent(string environmentPath) =>
        ParentDirectory is { } parent && string.Equals(System.IO.Path.GetDirectoryName(environmentPath), parent, StringComparison.Ordinal);

    /// <summary>
    /// Applies the fallbacks and checks the options that can be checked without touching the file system.
    /// </summary>
    /// <exception cref="InvalidOperationException">The options are incomplete or invalid; the message says how to fix them.</exception>
    public static EnvironmentSettings Create(EnvironmentOptions options, Func<string, string?> processVariable, string contentRoot)
    {
        var errors = Validate(options);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", errors));
        }

        string? single = NullIfEmpty(options.Path);
        string? parent = NullIfEmpty(options.ParentDirectory);
        var paths = options.Paths.Where(p => !string.IsNullOrWhiteSpace(p)).ToList();
        if (single is null && parent is null && paths.Count == 0)
        {
            // Configuration wins as a whole; only when it names no environment do the process variables apply.
            single = NullIfEmpty(processVariable("TRAC_ENV"));
            parent = NullIfEmpty(processVariable("TRAC_ENV_PARENT_DIR"));
        }

        if (single is not null)
        {
            // A single environment wins over the multi-project settings, as in Trac.
            parent = null;
            paths.Clear();
        }

        if (single is null && parent is null && paths.Count == 0 && options.Selector is null)
        {
            throw new InvalidOperationException(
                MissingOptionsMessage + " Set Trac:Environment:Path (a single environment), Trac:Environment:ParentDirectory " +
                "(a directory of environments) or Trac:Environment:Paths, or the process variable TRAC_ENV or TRAC_ENV_PARENT_DIR.");
        }

        var baseUrlText = NullIfEmpty(options.BaseUrl) ?? NullIfEmpty(processVariable("TRAC_BASE_URL"));
        Uri? baseUrl = null;
        if (baseUrlText is not null)
        {
            baseUrl = ParseBaseUrl(baseUrlText) ?? throw new InvalidOperationException(
                $"The base URL '{baseUrlText}' (Trac:Environment:BaseUrl or TRAC_BASE_URL) is not an absolute http or https URL " +
                "without query or fragment. Use a value such as 'https://example.org/projects'.");
        }

        var template = NullIfEmpty(options.IndexTemplate) ?? NullIfEmpty(processVariable("TRAC_ENV_INDEX_TEMPLATE"));
        var polling = options.UsePollingFileWatcher ||
            processVariable("DOTNET_USE_POLLING_FILE_WATCHER") is { } p && (p == "1" || p.Equals("true", StringComparison.OrdinalIgnoreCase));

        return new EnvironmentSettings
        {
            ContentRoot = contentRoot,
            SinglePath = single is null ? null : FullPath(contentRoot, single),
            ParentDirectory = parent is null ? null : FullPath(contentRoot, parent),
            Paths = paths.Select(path => FullPath(contentRoot, path)).ToArray(),
            IndexTemplate = template is null ? null : FullPath(contentRoot, template),
            BaseUrl = baseUrl,
            BasePath = NullIfEmpty(options.BasePath) is { } basePath ? new PathString(basePath.TrimEnd('/')) : PathString.Empty,
            RescanInterval = options.RescanInterval == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : options.RescanInterval,
            NamePattern = CreateNamePattern(options.NamePattern),
            Selector = options.Selector,
            UsePollingFileWatcher = polling,
            ShowServerPaths = options.ShowServerPaths,
            HostPaths = options.HostPaths.Where(h => !string.IsNullOrWhiteSpace(h)).Select(h => new PathString(h.Trim().TrimEnd('/'))).ToArray(),
        };
    }

    /// <summary>Returns whether <paramref name="path"/> is under one of <see cref="HostPaths"/>.</summary>
    public bool IsHostPath(PathString path)
    {
        foreach (var hostPath in HostPaths)
        {
            if (path.StartsWithSegments(hostPath, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Returns the problems of <paramref name="options"/> that are visible without the file system.</summary>
    public static List<string> Validate(EnvironmentOptions options)
    {
        var errors = new List<string>();
        foreach (var hostPath in options.HostPaths.Where(h => !string.IsNullOrWhiteSpace(h)).Select(h => h.Trim()))
        {
            if (hostPath[0] != '/' || hostPath.TrimEnd('/').Length == 0 || hostPath.IndexOfAny(['?', '#']) >= 0)
            {
                errors.Add($"Trac:Environment:HostPaths '{hostPath}' is not a host path: it must start with '/', name something below '/' " +
                    "and hold no query or fragment, such as '/healthz'.");
            }
        }

        if (NullIfEmpty(options.BaseUrl) is { } url && ParseBaseUrl(url) is null)
        {
            errors.Add($"Trac:Environment:BaseUrl '{url}' is not an absolute http or https URL without query or fragment. " +
                "Use a value such as 'https://example.org/projects'.");
        }

        if (NullIfEmpty(options.BasePath) is { } basePath && (basePath[0] != '/' || basePath.Contains('?', StringComparison.Ordinal) || basePath.Contains('#', StringComparison.Ordinal)))
        {
            errors.Add($"Trac:Environment:BasePath '{basePath}' is not a path: it must start with '/' and hold no query or fragment, such as '/projects'.");
        }

        if (options.RescanInterval < TimeSpan.Zero && options.RescanInterval != Timeout.InfiniteTimeSpan)
        {
            errors.Add($"Trac:Environment:RescanInterval '{options.RescanInterval}' is negative. Use a positive interval such as '00:00:30', or '00:00:00' to turn re-scanning off.");
        }

        var pattern = NullIfEmpty(options.NamePattern);
        if (pattern is not null && pattern.Contains('/', StringComparison.Ordinal))
        {
            errors.Add($"Trac:Environment:NamePattern '{pattern}' contains '/', but it is matched against the environment name alone, which never " +
                "holds a '/'. Write the name part only: '[a-z_]+' instead of '^/([a-z_]+)'.");
        }
        else if (pattern is not null)
        {
            try
            {
                _ = CreateNamePattern(pattern);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException)
            {
                errors.Add($"Trac:Environment:NamePattern '{pattern}' is not a usable regular expression: {e.Message} " +
                    "Back-references and look-arounds are not supported.");
            }
        }

        foreach (var path in options.Paths.Append(options.Path).Append(options.ParentDirectory).Append(options.IndexTemplate))
        {
            if (path is not null && path.IndexOfAny(System.IO.Path.GetInvalidPathChars()) >= 0)
            {
                errors.Add($"The path '{path}' in Trac:Environment contains characters that are not valid in a path.");
            }
        }

        return errors;
    }

    /// <summary>Makes <paramref name="path"/> absolute (relative to the content root) and normalized, without trailing separator.</summary>
    public string ResolvePath(string path) => FullPath(ContentRoot, path);

    private static string FullPath(string contentRoot, string path) =>
        System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path, contentRoot)) is { Length: > 0 } full
            ? full
            : System.IO.Path.GetFullPath(path, contentRoot);

    private static Regex? CreateNamePattern(string? pattern) =>
        NullIfEmpty(pattern) is { } p
            ? new Regex($"^(?:{p})$", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking)
            : null;

    private static Uri? ParseBaseUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) &&
        (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) &&
        string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment)
            ? uri
            : null;

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
