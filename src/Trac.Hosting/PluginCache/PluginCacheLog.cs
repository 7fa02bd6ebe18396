using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// The log messages of the plugin cache; their ids are kept with every other stage's in <see cref="EventIds"/>.
/// Per-request messages are at Debug level; Information and above are kept for events that happen once or on a change.
/// </summary>
internal static partial class PluginCacheLog
{
    [LoggerMessage(EventIds.InsecurePluginCacheAccepted, LogLevel.Warning,
        "SECURITY: the plugin cache directory '{Directory}' is writable by group or others (mode {Mode}) and is used anyway because " +
        "Trac:PluginCache:AllowInsecureDirectory is set. Another user could replace the plugins this application loads.",
        EventName = nameof(EventIds.InsecurePluginCacheAccepted))]
    public static partial void InsecurePluginCacheAccepted(ILogger logger, string directory, string mode);

    [LoggerMessage(EventIds.PluginExtracted, LogLevel.Information, "Extracted the plugin archive '{Archive}' to '{Folder}'.",
        EventName = nameof(EventIds.PluginExtracted))]
    public static partial void PluginExtracted(ILogger logger, string archive, string folder);

    [LoggerMessage(EventIds.PluginArchiveRefused, LogLevel.Error, "The plugin archive '{Archive}' is not used: {Error}",
        EventName = nameof(EventIds.PluginArchiveRefused))]
    public static partial void PluginArchiveRefused(ILogger logger, string archive, string error);

    [LoggerMessage(EventIds.PluginSetChanged, LogLevel.Information,
        "The plugins of the Trac environment at '{EnvironmentPath}' changed; {Count} plugins are now in use.",
        EventName = nameof(EventIds.PluginSetChanged))]
    public static partial void PluginSetChanged(ILogger logger, string environmentPath, int count);

    [LoggerMessage(EventIds.PluginCacheUnavailable, LogLevel.Error, "{Error}",
        EventName = nameof(EventIds.PluginCacheUnavailable))]
    public static partial void PluginCacheUnavailable(ILogger logger, string error);

    [LoggerMessage(EventIds.PluginSetRefreshFailed, LogLevel.Warning,
        "The changed plugins of the Trac environment at '{EnvironmentPath}' could not be read, so the last good set stays in use: {Error}",
        EventName = nameof(EventIds.PluginSetRefreshFailed))]
    public static partial void PluginSetRefreshFailed(ILogger logger, string environmentPath, string error);

    [LoggerMessage(EventIds.StalePluginRemoved, LogLevel.Information, "Removed the plugin folder '{Folder}', which no environment uses any more.",
        EventName = nameof(EventIds.StalePluginRemoved))]
    public static partial void StalePluginRemoved(ILogger logger, string folder);

    [LoggerMessage(EventIds.PluginLeftoverRemoved, LogLevel.Information,
        "Removed '{Path}', left in the plugin cache by an extraction that did not finish.",
        EventName = nameof(EventIds.PluginLeftoverRemoved))]
    public static partial void PluginLeftoverRemoved(ILogger logger, string path);
}
