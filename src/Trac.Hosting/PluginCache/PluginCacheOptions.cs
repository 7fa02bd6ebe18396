using Polly;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// Options of the plugin (egg) cache stage: where environments' plugin archives are extracted, how the cache
/// directory is protected, and the limits that keep a hostile archive out. Bound from the <c>Trac:PluginCache</c>
/// configuration section.
/// </summary>
public sealed class PluginCacheOptions
{
    /// <summary>
    /// Gets or sets the cache directory. A per-request server variable <c>PYTHON_EGG_CACHE</c> (IIS) wins over it.
    /// </summary>
    /// <value>Unset by default; falls back to the process variable <c>PYTHON_EGG_CACHE</c>, then to
    /// <c>&lt;parent&gt;/.egg-cache</c> for the environments of <c>Trac:Environment:ParentDirectory</c> (one cache
    /// shared by all of them) or <c>&lt;env&gt;/.egg-cache</c> for any other environment.</value>
    public string? Directory { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether an existing cache directory that group or others can write is
    /// accepted (with a warning) instead of refused. Anyone who can write there can replace the code the application
    /// loads.
    /// </summary>
    /// <value><see langword="false"/>.</value>
    public bool AllowInsecureDirectory { get; set; }

    /// <summary>Gets or sets the most entries (files and directories) a plugin archive may hold.</summary>
    /// <value>10,000.</value>
    public int MaxEntries { get; set; } = 10_000;

    /// <summary>Gets or sets the largest plugin archive file that is read at all.</summary>
    /// <value>64 MiB.</value>
    public long MaxArchiveSize { get; set; } = 64L * 1024 * 1024;

    /// <summary>Gets or sets the most bytes a plugin archive may expand to, all entries together.</summary>
    /// <value>256 MiB.</value>
    public long MaxTotalSize { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Gets or sets the highest compression ratio (expanded / compressed size) an entry may have; the whole archive's
    /// expanded size may not pass this ratio times the archive's file size either (entries sharing one compressed block).
    /// </summary>
    /// <value>100.</value>
    public double MaxCompressionRatio { get; set; } = 100;

    /// <summary>
    /// Gets or sets a value indicating whether extracted plugin folders that no environment references any more are
    /// deleted after a plugin change, with the leftovers of extractions that never finished (temporary copies and
    /// folders, and lock files of no folder, once an hour old and held by nobody). A folder in use by a request in
    /// flight is never deleted.
    /// </summary>
    /// <value><see langword="false"/>.</value>
    public bool CleanupStale { get; set; }

    /// <summary>
    /// Gets or sets how long to wait for another process that is extracting the same archive into the same cache.
    /// </summary>
    /// <value>2 minutes.</value>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Gets or sets a delegate that builds the resilience pipeline extraction runs in, replacing the default one.
    /// The builder it receives already uses the host's <see cref="TimeProvider"/>. Code only (not bound from
    /// configuration). An unsafe or corrupt archive fails the same way whatever the pipeline does.
    /// </summary>
    /// <value>Unset: 3 retries with exponential back-off (from 100 ms, with jitter) on <see cref="IOException"/>.</value>
    public Action<ResiliencePipelineBuilder>? ConfigureExtractionPipeline { get; set; }

    internal PluginCacheOptions Clone() => (PluginCacheOptions)MemberwiseClone();

    /// <summary>Returns whether every option still has its default value (nothing was configured).</summary>
    internal bool IsDefault()
    {
        var defaults = new PluginCacheOptions();
        return Directory == defaults.Directory && AllowInsecureDirectory == defaults.AllowInsecureDirectory &&
            MaxEntries == defaults.MaxEntries && MaxTotalSize == defaults.MaxTotalSize && MaxArchiveSize == defaults.MaxArchiveSize &&
            MaxCompressionRatio.Equals(defaults.MaxCompressionRatio) && CleanupStale == defaults.CleanupStale &&
            LockTimeout == defaults.LockTimeout && ConfigureExtractionPipeline is null;
    }
}
