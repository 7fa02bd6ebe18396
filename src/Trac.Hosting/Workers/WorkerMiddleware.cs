using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Trac.Hosting.Environments;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Common;

namespace Trac.Hosting.Workers;

/// <summary>
/// The worker recycling stage: dispatches each request to the current worker of its key, with back-pressure
/// (503 with <c>Retry-After</c> when the worker's queue is full or no worker can start), and counts it.
/// </summary>
internal sealed class WorkerMiddleware
{
    private readonly RequestDelegate _next;
    private readonly WorkerPool _pool;
    private readonly Diagnostics.TracMetrics _metrics;

    public WorkerMiddleware(RequestDelegate next, WorkerPool pool, Diagnostics.TracMetrics metrics)
    {
        _next = next;
        _pool = pool;
        _metrics = metrics;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var environment = RequestFeatures.Get<ITracEnvironmentFeature>(context)?.Environment
            ?? throw new InvalidOperationException("The worker stage ran without an environment: add .ResolveEnvironment() before .RecycleWorkers().");

        // The worker's plugins come from the cache directory the plugin cache stage chose for this request.
        var pluginCacheDirectory = RequestFeatures.Get<ITracPluginCacheFeature>(context)?.CacheDirectory;
        if (!_pool.TryAcquire(environment, pluginCacheDirectory, out var worker))
        {
            try
            {
                worker = await _pool.AcquireAsync(environment, pluginCacheDirectory, context.RequestAborted);
            }
            catch (WorkerUnavailableException e)
            {
                await RejectAsync(context, e.RetryAfter, e.Message);
                return;
            }
        }

        // From here on the worker counts this request: whatever happens (a cancelled wait in the queue, a limiter
        // disposed by the drain), it leaves the worker in the finally.
        var served = false;
        var previous = RequestFeatures.Get<ITracWorker>(context);
        // Past the drain deadline, a request still running, or still queued, is aborted.
        var abort = worker.Aborting.UnsafeRegister(static state => ((HttpContext)state!).Abort(), context);
        System.Threading.RateLimiting.RateLimitLease? lease = null;
        try
        {
            if (worker.Limiter is { } limiter)
            {
                lease = limiter.AttemptAcquire();
                if (!lease.IsAcquired)
                {
                    lease.Dispose();
                    lease = await limiter.AcquireAsync(1, context.RequestAborted);
                }

                if (!lease.IsAcquired)
                {
                    await RejectAsync(context, TimeSpan.FromSeconds(1), "Service Unavailable: this project is busy; try again shortly.");
                    return;
                }
            }

            RequestFeatures.Set<ITracWorker>(context, worker);
            served = true;
            await _next(context);
        }
        finally
        {
            abort.Dispose();
            lease?.Dispose();
            RequestFeatures.Set(context, previous);
            if (served)
            {
                _pool.OnRequestFinished(worker);
            }
            else
            {
                worker.Exit(served: false);
            }
        }
    }

    private Task RejectAsync(HttpContext context, TimeSpan retryAfter, string message)
    {
        _metrics.RejectedRequests.Add(1, _metrics.Tags(context.GetTracEnvironment()?.Name));
        context.Response.Headers[HeaderNames.RetryAfter] = ((long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return TracResponses.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, TracErrors.WorkerUnavailable, System.Text.Encoding.UTF8.GetBytes(message));
    }
}
