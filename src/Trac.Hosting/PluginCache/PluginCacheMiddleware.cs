using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Trac.Hosting.Environments;
using Trac.Hosting.Common;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// The plugin cache stage: finds the request's cache directory (server variable <c>PYTHON_EGG_CACHE</c> &gt;
/// options &gt; process variable &gt; default), makes sure the environment's plugin archives are extracted there, and
/// exposes the plugin set as <see cref="ITracPluginCacheFeature"/>. A known environment costs no file-system work.
/// A cache directory that cannot be used answers <c>500</c> naming the project; the directory's path is in the body only
/// when <see cref="EnvironmentOptions.ShowServerPaths"/> (or the <c>Development</c> host environment) says so, and
/// always in the log.
/// </summary>
internal sealed class PluginCacheMiddleware
{
    private readonly RequestDelegate _next;
    private readonly PluginSetProvider _provider;
    private readonly bool _showServerPaths;

    public PluginCacheMiddleware(RequestDelegate next, PluginSetProvider provider, IHostEnvironment? hostEnvironment = null)
    {
        _next = next;
        _provider = provider;
        _showServerPaths = provider.Settings.Environment.ShowServerPaths ?? hostEnvironment?.IsDevelopment() == true;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var environment = RequestFeatures.Get<ITracEnvironmentFeature>(context)?.Environment
            ?? throw new InvalidOperationException("The plugin cache stage ran without an environment: add .ResolveEnvironment() before .UsePluginCache().");

        var requested = RequestFeatures.ServerVariable(context, PluginCacheSettings.ServerVariable);
        EnvironmentPlugins? state;
        string? error;
        if (string.IsNullOrWhiteSpace(requested))
        {
            state = _provider.DefaultState(environment, out error);
        }
        else
        {
            var cacheDirectory = _provider.Settings.Environment.ResolvePath(requested);
            error = _provider.Prepare(cacheDirectory);
            state = error is null ? _provider.State(environment.Path, cacheDirectory) : null;
        }

        if (state is null)
        {
            await TracResponses.WriteTracErrorAsync(context, TracErrors.PluginCacheUnavailable, _showServerPaths ? error! : PublicError(environment));
            return;
        }

        if (!PluginSetProvider.TryAcquire(state, out var set))
        {
            set = await PluginSetProvider.AcquireAsync(state, context.RequestAborted);
        }

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

    /// <summary>The error a client sees when paths are not shown: the project, not the directory (the log has both).</summary>
    internal static string PublicError(TracEnvironment environment) =>
        $"The plugin cache directory of '{environment.Name}' cannot be used; the server log has the directory and the reason. " +
        "Check Trac:PluginCache:Directory and PYTHON_EGG_CACHE (process or server variable).";
}
