using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Common;

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
    private readonly TracMetrics _metrics;
    private readonly bool _showServerPaths;
    private int _routingWarned;
    private int _selectionMissingWarned;

    public EnvironmentResolutionMiddleware(
        RequestDelegate next, EnvironmentCatalog catalog, ProjectIndex index, ILogger logger, TracMetrics metrics, IHostEnvironment? hostEnvironment = null)
    {
        _metrics = metrics;
        _next = next;
        _catalog = catalog;
        _index = index;
        _settings = catalog.Settings;
        _logger = logger;
        _showServerPaths = _settings.ShowServerPaths ?? hostEnvironment?.IsDevelopment() == true;
    }

    /// <summary>
    /// Returns <c>/name</c> for an environment's segment of <c>PathBase</c> and of the index's links, such that
    /// <see cref="PathString.ToUriComponent"/> links to that environment. <see cref="PathString"/> takes a <c>%</c> that
    /// starts a valid escape as already escaped (<c>/x%41</c> would link to <c>xA</c>), so a name's <c>%</c> is kept as
    /// <c>%25</c>, as in Trac's <c>SCRIPT_NAME</c>.
    /// </summary>
    internal static PathString SegmentOf(EnvironmentSlot slot) =>
        slot.Name.Contains('%', StringComparison.Ordinal)
            ? new PathString("/" + slot.Name.Replace("%", "%25", StringComparison.Ordinal))
            : slot.Segment;

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var originalPathBase = request.PathBase;
        var originalPath = request.Path;
        var value = originalPath.Value ?? string.Empty;
        // Positions in value, so that nothing is cut out of it unless the rewritten path is new: where the path after
        // BasePath starts, and (in the multi-project modes) where the path inside the environment starts.
        var baseEnd = 0;
        var nameEnd = -1;

        if (_settings.BasePath.HasValue && !originalPathBase.Value!.EndsWith(_settings.BasePath.Value!, StringComparison.OrdinalIgnoreCase))
        {
            if (!originalPath.StartsWithSegments(_settings.BasePath, StringComparison.OrdinalIgnoreCase))
            {
                return NotFoundAsync(context, value);
            }

            baseEnd = _settings.BasePath.Value!.Length;
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
                EnvironmentLog.EnvironmentSelectionMissing(_logger, value);
            }

            _metrics.Resolutions.Add(1, TracMetrics.ResolutionOutcomes.NotConfigured);
            return TracResponses.WriteTracErrorAsync(context, TracErrors.EnvironmentNotConfigured, EnvironmentSettings.MissingOptionsMessage);
        }
        else
        {
            var start = baseEnd;
            while (start < value.Length && value[start] == '/')
            {
                start++;
            }

            nameEnd = value.IndexOf('/', start);
            if (nameEnd < 0)
            {
                nameEnd = value.Length;
            }

            var name = value.AsSpan(start, nameEnd - start);
            if (name.IsEmpty)
            {
                _metrics.Resolutions.Add(1, TracMetrics.ResolutionOutcomes.Index);
                return _index.WriteAsync(context, AfterBasePath(originalPathBase, originalPath, baseEnd, out _), _catalog.Environments, _showServerPaths);
            }

            if (!EnvironmentNames.IsValid(name, _settings.NamePattern) || !_catalog.TryFind(name, out slot))
            {
                return NotFoundAsync(context, value);
            }
        }

        var state = slot.State;
        if (state.Environment is not { } environment)
        {
            EnvironmentLog.EnvironmentUnavailable(_logger, slot.Name, state.Error!);
            _metrics.Resolutions.Add(1, _metrics.Tags(slot.Name, TracMetrics.ResolutionOutcomes.Broken));
            return TracResponses.WriteTracErrorAsync(context, TracErrors.EnvironmentUnavailable, state.ErrorFor(_showServerPaths)!);
        }

        // The same request as the slot's previous one (a client polling, a health probe) reuses its feature and its
        // rewritten path, and allocates nothing. A feature is immutable, so sharing one is safe.
        var feature = slot.LastRequest;
        if (feature is null || !feature.IsFor(environment, originalPathBase, originalPath, movedName: nameEnd >= 0))
        {
            var pathBase = AfterBasePath(originalPathBase, originalPath, baseEnd, out var path);
            if (nameEnd >= 0)
            {
                pathBase = pathBase.Add(SegmentOf(slot));
                path = nameEnd < value.Length ? new PathString(value[nameEnd..]) : s_root;
            }

            feature = new TracEnvironmentFeature(environment, originalPathBase, originalPath, pathBase, path, movedName: nameEnd >= 0);
            slot.LastRequest = feature;
        }

        if (feature.PathBase != originalPathBase && context.GetEndpoint() is not null && Interlocked.Exchange(ref _routingWarned, 1) == 0)
        {
            EnvironmentLog.RoutingBeforeTrac(_logger);
        }

        _metrics.Resolutions.Add(1, _metrics.Tags(slot.Name, TracMetrics.ResolutionOutcomes.Served));
        return InvokeNextAsync(context, feature);
    }

    private Task NotFoundAsync(HttpContext context, string path)
    {
        EnvironmentLog.EnvironmentNotFound(_logger, path);
        _metrics.Resolutions.Add(1, TracMetrics.ResolutionOutcomes.NotFound);
        return TracResponses.WriteEnvironmentNotFoundAsync(context);
    }

    /// <summary>Returns the <c>PathBase</c> and <c>Path</c> once a matched BasePath prefix moved from one to the other.</summary>
    private static PathString AfterBasePath(PathString pathBase, PathString path, int baseEnd, out PathString remaining)
    {
        if (baseEnd == 0)
        {
            remaining = path;
            return pathBase;
        }

        var value = path.Value!;
        remaining = baseEnd < value.Length ? new PathString(value[baseEnd..]) : s_root;
        return pathBase.Add(new PathString(value[..baseEnd]));
    }

    private async Task InvokeNextAsync(HttpContext context, TracEnvironmentFeature feature)
    {
        var request = context.Request;
        var previous = RequestFeatures.Get<ITracEnvironmentFeature>(context);
        RequestFeatures.Set<ITracEnvironmentFeature>(context, feature);
        request.PathBase = feature.PathBase;
        request.Path = feature.Path;
        try
        {
            await _next(context);
        }
        finally
        {
            // Outer middleware (logging, exception handlers) sees the request as it came in, as with UsePathBase.
            request.PathBase = feature.OriginalPathBase;
            request.Path = feature.OriginalPath;
            RequestFeatures.Set(context, previous);
        }
    }

    private string? SelectPath(HttpContext context)
    {
        var value = RequestFeatures.ServerVariable(context, EnvPathServerVariable);
        if (string.IsNullOrEmpty(value) && _settings.Selector is { } selector)
        {
            value = selector(context);
        }

        return string.IsNullOrEmpty(value) ? null : value;
    }
}
