namespace Trac.Hosting.Common;

/// <summary>
/// The errors the pipeline answers itself, by the name that ends their problem-details <c>type</c>
/// (<c>urn:trac-hosting:error:environment-not-found</c>); docs/configuration.md lists them.
/// </summary>
internal static class TracErrors
{
    public const string EnvironmentNotFound = "environment-not-found";
    public const string EnvironmentUnavailable = "environment-unavailable";
    public const string EnvironmentNotConfigured = "environment-not-configured";
    public const string PluginCacheUnavailable = "plugin-cache-unavailable";
    public const string RemoteUserMalformed = "remote-user-malformed";
    public const string RemoteUserRefused = "remote-user-refused";
    public const string LoginUnavailable = "login-unavailable";
    public const string LoginRequired = "login-required";
    public const string CredentialsMalformed = "credentials-malformed";
    public const string TooManyFailedLogins = "too-many-failed-logins";
    public const string Forbidden = "forbidden";
    public const string WorkerUnavailable = "worker-unavailable";
    public const string BadGateway = "bad-gateway";
}
