using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.Environments;

/// <summary>
/// The environment resolution stage: finds the environment a request is for, as Trac's <c>dispatch_request</c>
/// does, and exposes it as <see cref="ITracEnvironmentFeature"/>. In the multi-project modes the first path
/// segment names the environment and moves from <c>Path</c> to <c>PathBase</c> for the rest of the pipeline.
/// </summary>
internal sealed class EnvironmentResolutionMiddleware
{
    internal const string EnvPathServerVariable = "trac.env_path";

    private static readonly PathString s_root = new("/");

    private readonly RequestDelegate _next;
    private readonly EnvironmentCatalog _catalog;
    private readonly ProjectIndex _index;
    private readonly EnvironmentSettings _settings;
    private readonly ILogger _logger;
    private int _routingWarned;
    private int _selectionMissingWarned;

    public EnvironmentResolutionMiddleware(RequestDelegate next, EnvironmentCatalog catalog, ProjectIndex index, ILogger logger)
    {
        _next = next;
        _catalog = catalog;
        _index = index;
        _settings = catalog.Settings;
        _logger = logger;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var originalPathBase = request.PathBase;
        var originalPath = request.Path;
        var pathBase = originalPathBase;
        var path = originalPath;

        if (_settings.BasePath.HasValue && !pathBase.Value!.EndsWith(_settings.BasePath.Value!, StringComparison.OrdinalIgnoreCase))
        {
            if (!path.StartsWithSegments(_settings.BasePath, StringComparison.OrdinalIgnoreCase, out var matched, out var remaining))
            {
                Log.EnvironmentNotFound(_logger, originalPath.Value ?? string.Empty);
                return TracResponses.WriteEnvironmentNotFoundAsync(context);
            }

            pathBase = pathBase.Add(matched);
            path = remaining.HasValue ? remaining : s_root;
        }

        EnvironmentSlot? slot;
        if (SelectPath(context) is { } selected)
        {
            slot = _catalog.GetByPath(_settings.ResolvePath(selected));
        }
        else if (_catalog.Single is { } single)
        {
            slot = single;
        }
        else if (!_settings.IsMultiProject)
        {
            // Only a selector is configured, and it chose nothing for this request.
            if (Interlocked.Exchange(ref _selectionMissingWarned, 1) == 0)
            {
                Log.EnvironmentSelectionMissing(_logger, originalPath.Value ?? string.Empty);
            }

            return TracResponses.WriteTracErrorAsync(context, EnvironmentSettings.MissingOptionsMessage);
        }
        else
        {
            var value = path.Value ?? string.Empty;
            var start = 0;
            while (start < value.Length && value[start] == '/')
            {
                start++;
            }

            var end = value.IndexOf('/', start);
            if (end < 0)
            {
                end = value.Length;
            }

            var name = value.AsSpan(start, end - start);
            if (name.IsEmpty)
            {
                return _index.WriteAsync(context, pathBase, _catalog.Environments);
            }

            if (!EnvironmentNames.IsValid(name, _settings.NamePattern) || !_catalog.TryFind(name, out slot))
            {
                Log.EnvironmentNotFound(_logger, originalPath.Value ?? string.Empty);
                return TracResponses.WriteEnvironmentNotFoundAsync(context);
            }

            pathBase = pathBase.Add(slot.Segment);
            path = end < value.Length ? new PathString(value[end..]) : s_root;
        }

        var state = slot.State;
        if (state.Environment is not { } environment)
        {
            Log.EnvironmentUnavailable(_logger, slot.Name, state.Error!);
            return TracResponses.WriteTracErrorAsync(context, state.Error!);
        }

        if (pathBase != originalPathBase && context.GetEndpoint() is not null && Interlocked.Exchange(ref _routingWarned, 1) == 0)
        {
            Log.RoutingBeforeTrac(_logger);
        }

        return InvokeNextAsync(context, new TracEnvironmentFeature(environment, originalPathBase, originalPath), pathBase, path);
    }

    private async Task InvokeNextAsync(HttpContext context, TracEnvironmentFeature feature, PathString pathBase, PathString path)
    {
        var request = context.Request;
        var previous = context.Features.Get<ITracEnvironmentFeature>();
        context.Features.Set<ITracEnvironmentFeature>(feature);
        request.PathBase = pathBase;
        request.Path = path;
        try
        {
            await _next(context);
        }
        finally
        {
            // Outer middleware (logging, exception handlers) sees the request as it came in, as with UsePathBase.
            request.PathBase = feature.OriginalPathBase;
            request.Path = feature.OriginalPath;
            context.Features.Set(previous);
        }
    }

    private string? SelectPath(HttpContext context)
    {
        var value = context.GetServerVariable(EnvPathServerVariable);
        if (string.IsNullOrEmpty(value) && _settings.Selector is { } selector)
        {
            value = selector(context);
        }

        return string.IsNullOrEmpty(value) ? null : value;
    }
}
