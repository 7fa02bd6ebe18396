namespace Trac.Hosting.Workers;

/// <summary>No worker can serve the request now: its start failed or its circuit breaker is open. Answered with 503.</summary>
internal sealed class WorkerUnavailableException(string message, TimeSpan retryAfter, Exception? inner = null) : Exception(message, inner)
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
