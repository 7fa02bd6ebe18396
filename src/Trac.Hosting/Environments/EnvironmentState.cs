namespace Trac.Hosting.Environments;

/// <summary>
/// The outcome of opening an environment: the environment, or the error that prevented it.
/// </summary>
internal sealed class EnvironmentState
{
    private EnvironmentState(TracEnvironment? environment, string? error, string? publicError, string? detail)
    {
        Environment = environment;
        Error = error;
        PublicError = publicError;
        ErrorDetail = detail;
    }

    /// <summary>Gets the opened environment, or <see langword="null"/> when it failed to open.</summary>
    public TracEnvironment? Environment { get; }

    /// <summary>
    /// Gets Trac's error message, with the environment's absolute path: for the log, and for clients only where server
    /// paths are shown (<see cref="EnvironmentOptions.ShowServerPaths"/>). It holds no OS details.
    /// </summary>
    public string? Error { get; }

    /// <summary>
    /// Gets the error message for clients: Trac's, with the environment's name or the file's path inside the
    /// environment (<c>conf/trac.ini</c>) in place of an absolute path.
    /// </summary>
    public string? PublicError { get; }

    /// <summary>Gets the underlying cause, for the log only.</summary>
    public string? ErrorDetail { get; }

    public static EnvironmentState Opened(TracEnvironment environment) => new(environment, null, null, null);

    public static EnvironmentState Failed(string error, string publicError, string? detail = null) => new(null, error, publicError, detail);

    /// <summary>Returns the error message to send to a client: <see cref="Error"/> or <see cref="PublicError"/>.</summary>
    public string? ErrorFor(bool showServerPaths) => showServerPaths ? Error : PublicError;
}
