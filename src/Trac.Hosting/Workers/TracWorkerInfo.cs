namespace Trac.Hosting.Workers;

/// <summary>A snapshot of one worker of the pool.</summary>
/// <param name="Key">The pool key.</param>
/// <param name="Generation">The worker's generation: 1 for a project's first worker, one more for each replacement;
/// from 1 again for a project that left the listing and came back.</param>
/// <param name="State">Whether it serves new requests or is draining.</param>
/// <param name="RequestsServed">How many requests it finished.</param>
/// <param name="ActiveRequests">How many requests it is running.</param>
/// <param name="RequestLimit">After how many requests it is recycled (<see cref="WorkerOptions.MaxRequests"/> plus its draw of jitter), or 0.</param>
/// <param name="StartedAt">When it started.</param>
public sealed record TracWorkerInfo(
    string Key, long Generation, TracWorkerState State, long RequestsServed, int ActiveRequests, long RequestLimit, DateTimeOffset StartedAt);

/// <summary>The life stages of a worker.</summary>
public enum TracWorkerState
{
    /// <summary>It receives new requests.</summary>
    Serving,

    /// <summary>It was replaced or retired: no new requests; in-flight ones finish or are aborted.</summary>
    Draining,

    /// <summary>Its services were disposed and its plugins unloaded.</summary>
    Stopped,

    /// <summary>
    /// Its drain deadline passed and its requests were aborted, but some still run (code that ignores the abort
    /// signal): it stays listed, with their count, until the last of them returns.
    /// </summary>
    Aborted,
}
