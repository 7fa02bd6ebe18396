using Microsoft.Extensions.Logging;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// Builds the plugin set of an environment in a cache directory from the archives in <c>&lt;env&gt;/plugins</c>:
/// each extracted (or found already extracted), each refused one an error of the set rather than a failure of it.
/// </summary>
internal sealed class PluginSetBuilder
{
    private static readonly EnumerationOptions s_archives = new() { MatchCasing = MatchCasing.CaseInsensitive };

    private readonly PluginExtractor _extractor;
    private readonly PluginFolderPins _pins;
    private readonly ILogger _logger;

    public PluginSetBuilder(PluginExtractor extractor, PluginFolderPins pins, ILogger logger)
    {
        _extractor = extractor;
        _pins = pins;
        _logger = logger;
    }

    /// <summary>Returns the archives of an environment, whatever the case of their <c>.zip</c>; none when it has no plugins folder.</summary>
    public static IEnumerable<string> Archives(string environmentPath)
    {
        var directory = Path.Combine(environmentPath, "plugins");
        return Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "*.zip", s_archives) : [];
    }

    /// <inheritdoc cref="IPluginSetSource.BuildAsync"/>
    public async Task<(TracPluginSet Set, List<string> Pins, bool Transient)> BuildAsync(
        string environmentPath, string cacheDirectory, CancellationToken cancellationToken)
    {
        var plugins = new List<TracPlugin>();
        var errors = new List<TracPluginError>();
        var pins = new List<string>();
        var transient = false;
        foreach (var archive in Archives(environmentPath).Order(StringComparer.Ordinal).ToList())
        {
            try
            {
                plugins.Add((await _extractor.EnsureAsync(archive, cacheDirectory, cancellationToken, folder =>
                {
                    _pins.Pin(folder);
                    pins.Add(folder);
                })).Plugin);
            }
            catch (Exception e) when (e is UnsafePluginArchiveException or InvalidDataException or IOException or UnauthorizedAccessException)
            {
                // Unsafe or corrupt archives stay refused until they change; anything else is tried again later.
                transient |= e is not (UnsafePluginArchiveException or InvalidDataException);
                var message = e is UnsafePluginArchiveException ? e.Message : $"The plugin archive '{archive}' cannot be extracted: {e.Message}";
                PluginCacheLog.PluginArchiveRefused(_logger, archive, message);
                errors.Add(new TracPluginError(archive, message));
            }
        }

        return (new TracPluginSet(cacheDirectory, plugins.OrderBy(p => p.Name, StringComparer.Ordinal).ToArray(), errors), pins, transient);
    }
}
