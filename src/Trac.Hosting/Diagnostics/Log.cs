using Microsoft.Extensions.Logging;

namespace Trac.Hosting.Diagnostics;

/// <summary>
/// Every log message of Trac.Hosting. Per-request messages are at Debug level; Information and above are kept for
/// events that happen once or on a change.
/// </summary>
internal static partial class Log
{
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

    [LoggerMessage(EventIds.RemoteUserMalformed, LogLevel.Debug,
        "Refused a malformed remote user from {Source} with 400 ({Reason}): \"{Value}\"",
        EventName = nameof(EventIds.RemoteUserMalformed))]
    public static partial void RemoteUserMalformed(ILogger logger, RemoteUser.RemoteUserSource source, string reason, string value);

    [LoggerMessage(EventIds.RemoteUserRefused, LogLevel.Debug,
        "Refused the remote user from {Source} with 403 ({Reason}): \"{Value}\"",
        EventName = nameof(EventIds.RemoteUserRefused))]
    public static partial void RemoteUserRefused(ILogger logger, RemoteUser.RemoteUserSource source, string reason, string value);

    [LoggerMessage(EventIds.UntrustedUserHeaderRemoved, LogLevel.Debug,
        "Removed the {Header} header sent by '{Peer}', which is not a trusted proxy.",
        EventName = nameof(EventIds.UntrustedUserHeaderRemoved))]
    public static partial void UntrustedUserHeaderRemoved(ILogger logger, string header, string peer);

    [LoggerMessage(EventIds.LoginWithoutAuthentication, LogLevel.Error,
        "The login path '{Path}' was requested without a user, and no authentication scheme is registered to challenge it. " +
        "Call builder.Services.AddAuthentication(...) with a default challenge scheme (Negotiate, a cookie scheme, ...), or authenticate " +
        "the login path in a reverse proxy and trust its user header with Trac:RemoteUser:KnownProxies.",
        EventName = nameof(EventIds.LoginWithoutAuthentication))]
    public static partial void LoginWithoutAuthentication(ILogger logger, string path);

    [LoggerMessage(EventIds.HeaderSourceTrustsNoProxy, LogLevel.Warning,
        "The remote user may come from the {Header} header, but no proxy is trusted (Trac:RemoteUser:KnownProxies, KnownNetworks), " +
        "so the header is ignored and removed from every request.",
        EventName = nameof(EventIds.HeaderSourceTrustsNoProxy))]
    public static partial void HeaderSourceTrustsNoProxy(ILogger logger, string header);

    [LoggerMessage(EventIds.LookAlikeHeaderRemoved, LogLevel.Debug,
        "Removed the header '{Header}', a look-alike of the user header that CGI-style gateways would confuse with it.",
        EventName = nameof(EventIds.LookAlikeHeaderRemoved))]
    public static partial void LookAlikeHeaderRemoved(ILogger logger, string header);

    [LoggerMessage(EventIds.RemoteUserRefusalsSummarized, LogLevel.Warning,
        "Remote user values refused with {StatusCode} for {Reason} ({Description}) since the last such warning: {Count}. Each refusal is " +
        "logged at Debug level only (events RemoteUserMalformed, RemoteUserRefused) and counted in trac.remote_user.refusals; this " +
        "warning is written at most once every {Interval} for each reason.",
        EventName = nameof(EventIds.RemoteUserRefusalsSummarized))]
    public static partial void RemoteUserRefusalsSummarized(ILogger logger, long count, int statusCode, string reason, string description, TimeSpan interval);

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

    [LoggerMessage(EventIds.WorkerStarted, LogLevel.Information, "Started worker {Key} #{Generation} ({Reason}) in {Milliseconds} ms.",
        EventName = nameof(EventIds.WorkerStarted))]
    public static partial void WorkerStarted(ILogger logger, string key, long generation, string reason, long milliseconds);

    [LoggerMessage(EventIds.WorkerSwitched, LogLevel.Information,
        "Recycling worker {Key} #{OldGeneration} ({Reason}): new requests go to #{NewGeneration}.",
        EventName = nameof(EventIds.WorkerSwitched))]
    public static partial void WorkerSwitched(ILogger logger, string key, long oldGeneration, long newGeneration, string reason);

    [LoggerMessage(EventIds.WorkerDraining, LogLevel.Information,
        "Draining worker {Key} #{Generation} ({Reason}) with {Active} requests in flight.",
        EventName = nameof(EventIds.WorkerDraining))]
    public static partial void WorkerDraining(ILogger logger, string key, long generation, string reason, int active);

    [LoggerMessage(EventIds.WorkerRequestsAborted, LogLevel.Warning,
        "Worker {Key} #{Generation} ({Reason}) still had {Active} requests after its drain timeout; they were aborted.",
        EventName = nameof(EventIds.WorkerRequestsAborted))]
    public static partial void WorkerRequestsAborted(ILogger logger, string key, long generation, string reason, int active);

    [LoggerMessage(EventIds.WorkerStopped, LogLevel.Information, "Stopped worker {Key} #{Generation} ({Reason}) after {Requests} requests.",
        EventName = nameof(EventIds.WorkerStopped))]
    public static partial void WorkerStopped(ILogger logger, string key, long generation, string reason, long requests);

    [LoggerMessage(EventIds.WorkerUnloadFailed, LogLevel.Warning,
        "The plugins of worker {Key} #{Generation} ({Reason}) did not unload: something still references their load context (a static, an event " +
        "handler, a thread, a cached delegate). Its memory stays in use.",
        EventName = nameof(EventIds.WorkerUnloadFailed))]
    public static partial void WorkerUnloadFailed(ILogger logger, string key, long generation, string reason);

    [LoggerMessage(EventIds.WorkerStartFailed, LogLevel.Error, "Worker {Key} could not be started: {Error}",
        EventName = nameof(EventIds.WorkerStartFailed))]
    public static partial void WorkerStartFailed(ILogger logger, string key, string error, Exception exception);

    [LoggerMessage(EventIds.ProcessRecycling, LogLevel.Warning,
        "Replacing the process ({Reason}): the health check reports unhealthy now, and the application stops in {Delay}.",
        EventName = nameof(EventIds.ProcessRecycling))]
    public static partial void ProcessRecycling(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(EventIds.WorkerUnloaded, LogLevel.Debug, "The plugins of worker {Key} #{Generation} ({Reason}) unloaded.",
        EventName = nameof(EventIds.WorkerUnloaded))]
    public static partial void WorkerUnloaded(ILogger logger, string key, long generation, string reason);

    [LoggerMessage(EventIds.WorkerStopFailed, LogLevel.Error,
        "Disposing worker {Key} #{Generation} ({Reason}) failed; its plugins and load context were released all the same: {Error}",
        EventName = nameof(EventIds.WorkerStopFailed))]
    public static partial void WorkerStopFailed(ILogger logger, string key, long generation, string reason, string error, Exception exception);

    [LoggerMessage(EventIds.WorkerStoppedWithRequestsRunning, LogLevel.Warning,
        "Worker '{Key}' #{Generation} ({Reason}) is stopped with {Count} requests still running after they were aborted: they ignore the abort signal and run against disposed services until they return. The worker stays listed as Aborted until then.",
        EventName = nameof(EventIds.WorkerStoppedWithRequestsRunning))]
    public static partial void WorkerStoppedWithRequestsRunning(ILogger logger, string key, long generation, string reason, int count);

    [LoggerMessage(EventIds.WorkerAbortedRequestsReturned, LogLevel.Information,
        "The last aborted request of worker '{Key}' #{Generation} ({Reason}) returned; the worker is gone.",
        EventName = nameof(EventIds.WorkerAbortedRequestsReturned))]
    public static partial void WorkerAbortedRequestsReturned(ILogger logger, string key, long generation, string reason);
}
