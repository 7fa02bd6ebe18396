using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Trac.Hosting.Workers;

/// <summary>
/// The start pipeline of each key: the host's own (<see cref="WorkerOptions.ConfigureStartPipeline"/>), or the default,
/// two retries with jittered exponential back-off around attempts that each get their own
/// <see cref="WorkerOptions.StartTimeout"/>, and a <see cref="StartBreaker"/> that opens after three failed attempts in a row.
/// </summary>
internal static class WorkerStartPipeline
{
    /// <summary>Makes the slot of a key, with its own start pipeline (so a breaker trips for one project only).</summary>
    public static WorkerSlot CreateSlot(WorkerSettings settings, TimeProvider timeProvider, string key)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        if (settings.ConfigureStartPipeline is { } configure)
        {
            configure(builder, key);
            return new WorkerSlot(key, builder.Build(), breaker: null);
        }

        // The retries wrap attempts that each take their own StartTimeout (see WorkerStarter); a timed-out attempt
        // counts for the breaker, an open breaker is not retried.
        var pipeline = builder
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not (OperationCanceledException or BrokenCircuitException)),
                MaxRetryAttempts = 2,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
            })
            .Build();
        return new WorkerSlot(key, pipeline, new StartBreaker(threshold: 3, TimeSpan.FromSeconds(30), timeProvider));
    }
}
