using Microsoft.AspNetCore.Http;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// The result of the plugin cache stage for one request, in <see cref="HttpContext.Features"/>.
/// </summary>
public interface ITracPluginCacheFeature
{
    /// <summary>Gets the cache directory used for the request's environment.</summary>
    string CacheDirectory { get; }

    /// <summary>Gets the environment's current plugins.</summary>
    TracPluginSet PluginSet { get; }
}
