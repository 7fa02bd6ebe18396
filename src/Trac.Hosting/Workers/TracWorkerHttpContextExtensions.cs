using Trac.Hosting;
using Trac.Hosting.Workers;
using Trac.Hosting.Common;

namespace Microsoft.AspNetCore.Http;

/// <summary>
/// Reads the worker serving a request from an <see cref="HttpContext"/>.
/// </summary>
public static class TracWorkerHttpContextExtensions
{
    /// <summary>
    /// Gets the worker serving the request, or <see langword="null"/> when the worker recycling stage has not run.
    /// </summary>
    /// <param name="context">The request's context.</param>
    /// <returns>The worker, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is <see langword="null"/>.</exception>
    public static ITracWorker? GetTracWorker(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RequestFeatures.Get<ITracWorker>(context);
    }
}
