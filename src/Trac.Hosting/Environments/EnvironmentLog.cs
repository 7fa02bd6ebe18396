using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Environments;

/// <summary>
/// The log messages of environment resolution; their ids are kept with every other stage's in <see cref="EventIds"/>.
/// Per-request messages are at Debug level; Information and above are kept for events that happen once or on a change.
/// </summary>
internal static partial class EnvironmentLog
{
    [LoggerMessage(EventIds.UnreachableEndpoints, LogLevel.Warning,
        "These endpoints can never be reached: the Trac pipeline ends with Dispatch, which answers every request outside " +
        "Trac:Environment:HostPaths ({HostPaths}). Add their paths to Trac:Environment:HostPaths for the host to serve them, " +
        "or map them for projects without Dispatch: {Endpoints}",
        EventName = nameof(EventIds.UnreachableEndpoints))]
    public static partial void UnreachableEndpoints(ILogger logger, string hostPaths, string endpoints);

    [LoggerMessage(EventIds.RoutingBeforeTrac, LogLevel.Warning,
        "An endpoint was selected before UseTrac moved the environment name into PathBase, so routing saw the path with the environment name in it. Call UseTrac() before UseRouting().",
        EventName = nameof(EventIds.RoutingBeforeTrac))]
    public static partial void RoutingBeforeTrac(ILogger logger);

    [LoggerMessage(EventIds.EnvironmentNotFound, LogLevel.Debug, "No environment for the request path '{Path}'.",
        EventName = nameof(EventIds.EnvironmentNotFound))]
    public static partial void EnvironmentNotFound(ILogger logger, string path);

    [LoggerMessage(EventIds.EnvironmentOpenFailed, LogLevel.Error, "The Trac environment '{Name}' at '{EnvironmentPath}' cannot be opened: {Error} ({Detail})",
        EventName = nameof(EventIds.EnvironmentOpenFailed))]
    public static partial void EnvironmentOpenFailed(ILogger logger, string name, string environmentPath, string error, string? detail);

    [LoggerMessage(EventIds.EnvironmentReloaded, LogLevel.Information, "Reloading environment due to configuration change: '{Name}' at '{EnvironmentPath}'.",
        EventName = nameof(EventIds.EnvironmentReloaded))]
    public static partial void EnvironmentReloaded(ILogger logger, string name, string environmentPath);

    [LoggerMessage(EventIds.ReloadFailedKeepingLastGood, LogLevel.Warning,
        "The changed Trac environment '{Name}' at '{EnvironmentPath}' cannot be opened, so the last good configuration stays in use: {Error} ({Detail})",
        EventName = nameof(EventIds.ReloadFailedKeepingLastGood))]
    public static partial void ReloadFailedKeepingLastGood(ILogger logger, string name, string environmentPath, string error, string? detail);

    [LoggerMessage(EventIds.EnvironmentRemoved, LogLevel.Information,
        "The Trac environment '{Name}' at '{EnvironmentPath}' was removed: its directory is gone.",
        EventName = nameof(EventIds.EnvironmentRemoved))]
    public static partial void EnvironmentRemoved(ILogger logger, string name, string environmentPath);

    [LoggerMessage(EventIds.EnvironmentUnavailable, LogLevel.Debug, "The request for environment '{Name}' fails because the environment cannot be opened: {Error}",
        EventName = nameof(EventIds.EnvironmentUnavailable))]
    public static partial void EnvironmentUnavailable(ILogger logger, string name, string error);

    [LoggerMessage(EventIds.ListingRefreshed, LogLevel.Information, "The list of Trac environments changed; {Count} environments are now listed.",
        EventName = nameof(EventIds.ListingRefreshed))]
    public static partial void ListingRefreshed(ILogger logger, int count);

    [LoggerMessage(EventIds.ListingFailedKeepingLastGood, LogLevel.Warning,
        "The environment parent directory '{ParentDirectory}' cannot be listed, so the last good list stays in use: {Error}",
        EventName = nameof(EventIds.ListingFailedKeepingLastGood))]
    public static partial void ListingFailedKeepingLastGood(ILogger logger, string parentDirectory, string error);

    [LoggerMessage(EventIds.EnvironmentConflict, LogLevel.Warning, "Ignoring project '{EnvironmentPath}' since it conflicts with project '{ExistingPath}'.",
        EventName = nameof(EventIds.EnvironmentConflict))]
    public static partial void EnvironmentConflict(ILogger logger, string environmentPath, string existingPath);

    [LoggerMessage(EventIds.EnvironmentPathMissing, LogLevel.Warning,
        "The environment directory '{EnvironmentPath}' in Trac:Environment:Paths does not exist and is skipped.",
        EventName = nameof(EventIds.EnvironmentPathMissing))]
    public static partial void EnvironmentPathMissing(ILogger logger, string environmentPath);

    [LoggerMessage(EventIds.EnvironmentNameSkipped, LogLevel.Debug,
        "The directory '{EnvironmentPath}' is not listed: its name is not a valid environment name or does not match Trac:Environment:NamePattern.",
        EventName = nameof(EventIds.EnvironmentNameSkipped))]
    public static partial void EnvironmentNameSkipped(ILogger logger, string environmentPath);

    [LoggerMessage(EventIds.TracIgnoreUnreadable, LogLevel.Warning, "'{File}' cannot be read; hidden directories are ignored instead: {Error}",
        EventName = nameof(EventIds.TracIgnoreUnreadable))]
    public static partial void TracIgnoreUnreadable(ILogger logger, string file, string error);

    [LoggerMessage(EventIds.WatchFailed, LogLevel.Warning, "Changes under '{Directory}' cannot be watched: {Error}",
        EventName = nameof(EventIds.WatchFailed))]
    public static partial void WatchFailed(ILogger logger, string directory, string error);

    [LoggerMessage(EventIds.FallingBackToPolling, LogLevel.Warning,
        "The operating system refused a file watcher for '{Directory}' ({Error}); changes there are detected by polling instead.",
        EventName = nameof(EventIds.FallingBackToPolling))]
    public static partial void FallingBackToPolling(ILogger logger, string directory, string error);

    [LoggerMessage(EventIds.IndexTemplateReloaded, LogLevel.Information, "The project index template '{File}' was reloaded.",
        EventName = nameof(EventIds.IndexTemplateReloaded))]
    public static partial void IndexTemplateReloaded(ILogger logger, string file);

    [LoggerMessage(EventIds.IndexTemplateUnreadable, LogLevel.Warning,
        "The project index template '{File}' cannot be read, so the last good template stays in use: {Error}",
        EventName = nameof(EventIds.IndexTemplateUnreadable))]
    public static partial void IndexTemplateUnreadable(ILogger logger, string file, string error);

    [LoggerMessage(EventIds.EnvironmentSelectionMissing, LogLevel.Warning,
        "The environment selector chose no environment for '{Path}' and no other environment is configured, so such requests get a 500 error. This is logged once.",
        EventName = nameof(EventIds.EnvironmentSelectionMissing))]
    public static partial void EnvironmentSelectionMissing(ILogger logger, string path);
}
