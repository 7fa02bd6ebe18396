namespace Trac.Hosting.Environments;

/// <summary>
/// The outcome of opening an environment: the environment, or the error that prevented it.
/// </summary>
internal sealed class EnvironmentState
{
    private EnvironmentState(TracEnvironment? environment, string? error, string? detail)
    {
        Environment = environment;
        Error = error;
        ErrorDetail = detail;
    }

    /// <summary>Gets the opened environment, or <see langword="null"/> when it failed to open.</summary>
    public TracEnvironment? Environment { get; }

    /// <summary>Gets Trac's error message, safe to show to clients (it names paths but holds no OS details).</summary>
    public string? Error { get; }

    /// <summary>Gets the underlying cause, for the log only.</summary>
    public string? ErrorDetail { get; }

    public static EnvironmentState Opened(TracEnvironment environment) => new(environment, null, null);

    public static EnvironmentState Failed(string error, string? detail = null) => new(null, error, detail);
}
