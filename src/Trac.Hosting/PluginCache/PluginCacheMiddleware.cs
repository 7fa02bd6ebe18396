using Microsoft.AspNetCore.Http;
using Trac.Hosting.Environments;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// The plugin cache stage: finds the request's cache directory (server variable <c>PYTHON_EGG_CACHE</c> &gt;
/// options &gt; process variable &gt; default), makes sure the environment's plugin archives are extracted there, and
/// exposes the plugin set as <see cref="ITracPluginCacheFeature"/>. A known environment costs no file-system work.
/// </summary>
internal sealed class PluginCacheMiddleware
{
    private readonly RequestDelegate _next;
    private readonly PluginSetProvider _provider;

    public PluginCacheMiddleware(RequestDelegate next, PluginSetProvider provider)
    {
        _next = next;
        _provider = provider;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var environment = RequestFeatures.Get<ITracEnvironmentFeature>(context)?.Environment
            ?? throw new InvalidOperationException("The plugin cache stage ran without an environment: add .ResolveEnvironment() before .UsePluginCache().");

        var requested = RequestFeatures.ServerVariable(context, PluginCacheSettings.ServerVariable);
        var cacheDirectory = string.IsNullOrWhiteSpace(requested)
            ? _provider.DefaultFor(environment.Path)
            : _provider.Settings.Environment.ResolvePath(requested);
        if (_provider.Prepare(cacheDirectory) is { } error)
        {
            await TracResponses.WriteTracErrorAsync(context, error);
            return;
        }

        var set = await _provider.AcquireAsync(environment.Path, cacheDirectory, context.RequestAborted);
        var previous = RequestFeatures.Get<ITracPluginCacheFeature>(context);
        RequestFeatures.Set<ITracPluginCacheFeature>(context, set);
        try
        {
            await _next(context);
        }
        finally
        {
            set.Release();
            RequestFeatures.Set(context, previous);
        }
    }
}
