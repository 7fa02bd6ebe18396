using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.Workers;

/// <summary>
/// The host's application, the equivalent of Trac's <c>dispatch_request</c>: one instance per worker, created from
/// the worker's services by <c>.Dispatch&lt;TApplication&gt;()</c>. Dispose it through <see cref="IDisposable"/> or
/// <see cref="IAsyncDisposable"/>; the worker does so when it is retired.
/// </summary>
public interface ITracApplication
{
    /// <summary>Handles one request of the worker's environment.</summary>
    /// <param name="context">The request.</param>
    /// <returns>A task that completes when the response is done.</returns>
    Task DispatchAsync(HttpContext context);

    /// <summary>
    /// Prepares the instance before it gets requests (fills caches, opens connections). A replacement worker is
    /// warmed while the old one keeps serving.
    /// </summary>
    /// <param name="cancellationToken">Fires when <see cref="WorkerOptions.StartTimeout"/> passes.</param>
    /// <returns>A task that completes when the instance is ready.</returns>
    Task WarmUpAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
