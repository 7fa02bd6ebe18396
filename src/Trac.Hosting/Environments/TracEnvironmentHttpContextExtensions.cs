using Trac.Hosting;
using Trac.Hosting.Environments;
using Trac.Hosting.Common;

namespace Microsoft.AspNetCore.Http;

/// <summary>
/// Reads the result of Trac environment resolution from an <see cref="HttpContext"/>.
/// </summary>
public static class TracEnvironmentHttpContextExtensions
{
    /// <summary>
    /// Gets the Trac environment the request is for, or <see langword="null"/> when the environment resolution
    /// stage has not run for this request.
    /// </summary>
    /// <param name="context">The request's context.</param>
    /// <returns>The resolved environment, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is <see langword="null"/>.</exception>
    public static TracEnvironment? GetTracEnvironment(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RequestFeatures.Get<ITracEnvironmentFeature>(context)?.Environment;
    }
}
