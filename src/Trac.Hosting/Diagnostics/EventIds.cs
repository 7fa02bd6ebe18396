namespace Trac.Hosting.Diagnostics;

/// <summary>
/// The event ids of every log message Trac.Hosting writes, in one place so they stay stable and unique.
/// Ranges: 1xx pipeline, 2xx environment resolution, 3xx remote user, 4xx plugin cache, 5xx workers, 6xx logins.
/// </summary>
internal static class EventIds
{
    public const int RoutingBeforeTrac = 100;
    public const int UnreachableEndpoints = 101;

    public const int EnvironmentNotFound = 200;
    public const int EnvironmentOpenFailed = 201;
    public const int EnvironmentReloaded = 202;
    public const int ReloadFailedKeepingLastGood = 203;
    public const int EnvironmentUnavailable = 204;
    public const int ListingRefreshed = 205;
    public const int ListingFailedKeepingLastGood = 206;
    public const int EnvironmentConflict = 207;
    public const int EnvironmentPathMissing = 208;
    public const int EnvironmentNameSkipped = 209;
    public const int TracIgnoreUnreadable = 210;
    public const int WatchFailed = 211;
    public const int FallingBackToPolling = 212;
    public const int IndexTemplateReloaded = 213;
    public const int IndexTemplateUnreadable = 214;
    public const int EnvironmentSelectionMissing = 215;
    public const int EnvironmentRemoved = 216;

    public const int RemoteUserMalformed = 300;
    public const int RemoteUserRefused = 301;
    public const int UntrustedUserHeaderRemoved = 302;
    public const int LoginWithoutAuthentication = 303;
    public const int HeaderSourceTrustsNoProxy = 304;
    public const int LookAlikeHeaderRemoved = 305;
    public const int RemoteUserRefusalsSummarized = 306;

    public const int InsecurePluginCacheAccepted = 400;
    public const int PluginExtracted = 401;
    public const int PluginArchiveRefused = 402;
    public const int PluginSetChanged = 403;
    public const int PluginCacheUnavailable = 404;
    public const int PluginSetRefreshFailed = 405;
    public const int StalePluginRemoved = 406;
    public const int PluginLeftoverRemoved = 407;

    public const int WorkerStarted = 500;
    public const int WorkerSwitched = 501;
    public const int WorkerDraining = 502;
    public const int WorkerRequestsAborted = 503;
    public const int WorkerStopped = 504;
    public const int WorkerUnloadFailed = 505;
    public const int WorkerStartFailed = 506;
    public const int ProcessRecycling = 507;
    public const int WorkerUnloaded = 508;
    public const int WorkerStopFailed = 509;
    public const int WorkerStoppedWithRequestsRunning = 510;
    public const int WorkerAbortedRequestsReturned = 511;
    public const int WorkerProcessOutput = 512;
    public const int WorkerErrorOutput = 513;
    public const int WorkerBadGateway = 514;
    public const int WorkerPreloadSkipped = 515;
    public const int WorkersPreloaded = 516;

    public const int PasswordFileLoaded = 600;
    public const int PasswordFileLineSkipped = 601;
    public const int PasswordFileUserRefused = 602;
    public const int PasswordFileReloadFailed = 603;
    public const int PasswordFileNoUsersInRealm = 604;
    public const int LoginFailed = 605;
    public const int LoginsThrottled = 606;
    public const int BasicLoginOverPlainHttp = 607;
    public const int LoginWithoutPasswordFile = 608;
}
