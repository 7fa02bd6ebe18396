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
