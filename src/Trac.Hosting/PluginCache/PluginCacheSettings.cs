using Polly;
using Trac.Hosting.Environments;

namespace Trac.Hosting.PluginCache;

/// <summary>The effective, validated settings of one plugin cache stage. Immutable.</summary>
internal sealed class PluginCacheSettings
{
    public const string DefaultDirectoryName = ".egg-cache";
    public const string ServerVariable = "PYTHON_EGG_CACHE";

    private PluginCacheSettings()
    {
    }

    /// <summary>Gets the directory from options or <c>PYTHON_EGG_CACHE</c>, full path; <see langword="null"/> for the defaults.</summary>
    public string? ConfiguredDirectory { get; private init; }

    public string? ParentDirectory { get; private init; }

    public bool AllowInsecureDirectory { get; private init; }

    public PluginArchiveLimits Limits { get; private init; }

    public bool CleanupStale { get; private init; }

    public TimeSpan LockTimeout { get; private init; }

    public Action<ResiliencePipelineBuilder>? ConfigureExtractionPipeline { get; private init; }

    public EnvironmentSettings Environment { get; private init; } = null!;

    /// <exception cref="InvalidOperationException">The options are invalid; the message says how to fix them.</exception>
    public static PluginCacheSettings Create(PluginCacheOptions options, EnvironmentSettings environment, Func<string, string?> processVariable)
    {
        var errors = Validate(options);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", errors));
        }

        var configured = NullIfEmpty(options.Directory) ?? NullIfEmpty(processVariable(ServerVariable));
        return new PluginCacheSettings
        {
            ConfiguredDirectory = configured is null ? null : environment.ResolvePath(configured),
            ParentDirectory = environment.ParentDirectory,
            AllowInsecureDirectory = options.AllowInsecureDirectory,
            Limits = new PluginArchiveLimits(options.MaxEntries, options.MaxTotalSize, options.MaxCompressionRatio) { MaxArchiveSize = options.MaxArchiveSize },
            CleanupStale = options.CleanupStale,
            LockTimeout = options.LockTimeout,
            ConfigureExtractionPipeline = options.ConfigureExtractionPipeline,
            Environment = environment,
        };
    }

    /// <summary>Returns the problems of <paramref name="options"/>, each naming the key to fix.</summary>
    public static List<string> Validate(PluginCacheOptions options)
    {
        var errors = new List<string>();
        if (options.MaxEntries < 1)
        {
            errors.Add($"Trac:PluginCache:MaxEntries {options.MaxEntries} must be at least 1.");
        }

        if (options.MaxTotalSize < 1)
        {
            errors.Add($"Trac:PluginCache:MaxTotalSize {options.MaxTotalSize} must be at least 1 byte.");
        }

        if (options.MaxArchiveSize < 1)
        {
            errors.Add($"Trac:PluginCache:MaxArchiveSize {options.MaxArchiveSize} must be at least 1 byte.");
        }

        if (!(options.MaxCompressionRatio >= 1))
        {
            errors.Add($"Trac:PluginCache:MaxCompressionRatio {options.MaxCompressionRatio} must be at least 1.");
        }

        if (options.LockTimeout <= TimeSpan.Zero)
        {
            errors.Add($"Trac:PluginCache:LockTimeout '{options.LockTimeout}' must be positive, such as '00:02:00'.");
        }

        if (options.Directory is { } directory && directory.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            errors.Add($"Trac:PluginCache:Directory '{directory}' contains characters that are not valid in a path.");
        }

        return errors;
    }

    /// <summary>
    /// Returns the cache directory of an environment when no server variable names one: the configured directory,
    /// else the parent's shared <c>.egg-cache</c> for an environment of the parent directory, else its own.
    /// </summary>
    public string DefaultFor(string environmentPath) =>
        ConfiguredDirectory ??
        (Environment.IsDirectlyUnderParent(environmentPath)
            ? Path.Combine(ParentDirectory!, DefaultDirectoryName)
            : Path.Combine(environmentPath, DefaultDirectoryName));

    /// <summary>Returns the cache directories known before any request: checked at start-up.</summary>
    public IEnumerable<string> KnownAtStartUp()
    {
        if (ConfiguredDirectory is { } configured)
        {
            return [configured];
        }

        var known = new List<string>();
        if (ParentDirectory is { } parent)
        {
            known.Add(Path.Combine(parent, DefaultDirectoryName));
        }

        if (Environment.SinglePath is { } single)
        {
            known.Add(Path.Combine(single, DefaultDirectoryName));
        }

        known.AddRange(Environment.Paths.Where(Directory.Exists).Select(path => Path.Combine(path, DefaultDirectoryName)));
        return known.Distinct(StringComparer.Ordinal);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
