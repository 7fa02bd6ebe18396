using Trac.Hosting;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Common;

namespace Microsoft.AspNetCore.Http;

/// <summary>
/// Reads the result of the Trac plugin cache stage from an <see cref="HttpContext"/>.
/// </summary>
public static class TracPluginCacheHttpContextExtensions
{
    /// <summary>
    /// Gets the plugin cache of the request's environment (the cache directory and the extracted plugins), or
    /// <see langword="null"/> when the plugin cache stage has not run for this request.
    /// </summary>
    /// <param name="context">The request's context.</param>
    /// <returns>The plugin cache feature, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is <see langword="null"/>.</exception>
    public static ITracPluginCacheFeature? GetTracPluginCache(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return RequestFeatures.Get<ITracPluginCacheFeature>(context);
    }
}
