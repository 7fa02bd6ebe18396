using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.Common;

namespace Trac.Hosting.Environments;

/// <summary>
/// The project index shown for <c>/</c> in the multi-project modes: Trac's <c>Available Projects</c> page, the
/// same list as JSON for <c>Accept: application/json</c>, or a custom template. Every value is encoded; an
/// environment's error names no absolute server path unless <see cref="EnvironmentOptions.ShowServerPaths"/> says so.
/// </summary>
/// <remarks>
/// A custom template is a UTF-8 file in which these placeholders are replaced: <c>{{title}}</c> (the page title),
/// <c>{{projects}}</c> (the <c>&lt;ul&gt;</c> list of projects), <c>{{count}}</c> (how many) and
/// <c>{{base}}</c> (the request's path base); all values are HTML-encoded. It is reloaded when it changes.
/// </remarks>
internal sealed class ProjectIndex : IDisposable
{
    public const string Title = "Available Projects";

    private readonly string? _templatePath;
    private readonly ILogger _logger;
    private readonly IDisposable? _templateWatch;
    private readonly Debouncer? _templateReload;
    private volatile string? _template;

    public ProjectIndex(string? templatePath, FileWatchers watchers, TimeProvider timeProvider, TimeSpan reloadDelay, ILogger logger)
    {
        _templatePath = templatePath;
        _logger = logger;
        if (templatePath is null)
        {
            return;
        }

        try
        {
            _template = File.ReadAllText(templatePath, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"The project index template '{templatePath}' (Trac:Environment:IndexTemplate or TRAC_ENV_INDEX_TEMPLATE) cannot be read: " +
                $"{e.Message} Create the file or correct the setting.", e);
        }

        var directory = Path.GetDirectoryName(templatePath)!;
        var fileName = Path.GetFileName(templatePath);
        _templateReload = new Debouncer(timeProvider, reloadDelay, ReloadTemplate);
        _templateWatch = ChangeToken.OnChange(() => watchers.Watch(directory, fileName), _templateReload.Trigger);
    }

    public void Dispose()
    {
        _templateWatch?.Dispose();
        _templateReload?.Dispose();
    }

    public Task WriteAsync(HttpContext context, PathString pathBase, IReadOnlyList<EnvironmentSlot> environments, bool showServerPaths)
    {
        var entries = environments
            .Select(slot =>
            {
                var state = slot.State;
                var href = pathBase.Add(EnvironmentResolutionMiddleware.SegmentOf(slot)).ToUriComponent();
                return new Entry(slot, state, href, state.ErrorFor(showServerPaths));
            })
            .OrderBy(entry => entry.DisplayName.ToLowerInvariant(), StringComparer.Ordinal)
            .ThenBy(entry => entry.Slot.Name, StringComparer.Ordinal)
            .ToList();

        context.Response.Headers.Vary = "Accept";
        if (PrefersJson(context.Request))
        {
            return TracResponses.WriteAsync(context, StatusCodes.Status200OK, "application/json; charset=utf-8", RenderJson(entries));
        }

        var list = RenderList(entries);
        var template = _template;
        var html = template is null
            ? RenderPage(list)
            : template
                .Replace("{{title}}", Title, StringComparison.Ordinal)
                .Replace("{{count}}", entries.Count.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{{base}}", HtmlEncoder.Default.Encode(pathBase.Value ?? string.Empty), StringComparison.Ordinal)
                .Replace("{{projects}}", list, StringComparison.Ordinal);
        return TracResponses.WriteAsync(context, StatusCodes.Status200OK, "text/html; charset=utf-8", Encoding.UTF8.GetBytes(html));
    }

    internal static bool PrefersJson(HttpRequest request)
    {
        var accept = new RequestHeaders(request.Headers).Accept;
        double json = 0, html = 0;
        foreach (var type in accept)
        {
            var quality = type.Quality ?? 1.0;
            if (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            {
                json = Math.Max(json, quality);
            }
            else if (type.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase))
            {
                html = Math.Max(html, quality);
            }
        }

        return json > 0 && json >= html;
    }

    private static string RenderPage(string list) =>
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + Title + "</title>\n</head>\n<body>\n" +
        "<h1>" + Title + "</h1>\n" + list + "</body>\n</html>\n";

    private static string RenderList(List<Entry> entries)
    {
        var html = new StringBuilder("<ul>\n");
        foreach (var entry in entries)
        {
            if (entry.State.Environment is { } environment)
            {
                html.Append("<li><a href=\"").Append(WebUtility.HtmlEncode(entry.Href))
                    .Append("\" title=\"").Append(WebUtility.HtmlEncode(environment.Description))
                    .Append("\">").Append(WebUtility.HtmlEncode(environment.ProjectName)).Append("</a></li>\n");
            }
            else
            {
                html.Append("<li><small>").Append(WebUtility.HtmlEncode(entry.Slot.Name)).Append(": <em>Error</em> <br>(")
                    .Append(WebUtility.HtmlEncode(entry.Error)).Append(")</small></li>\n");
            }
        }

        return html.Append("</ul>\n").ToString();
    }

    private static byte[] RenderJson(List<Entry> entries)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("title", Title);
            json.WriteStartArray("projects");
            foreach (var entry in entries)
            {
                json.WriteStartObject();
                json.WriteString("name", entry.Slot.Name);
                if (entry.State.Environment is { } environment)
                {
                    json.WriteString("href", entry.Href);
                    json.WriteString("projectName", environment.ProjectName);
                    json.WriteString("description", environment.Description);
                    json.WriteNull("error");
                }
                else
                {
                    json.WriteNull("href");
                    json.WriteNull("projectName");
                    json.WriteNull("description");
                    json.WriteString("error", entry.Error);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private void ReloadTemplate()
    {
        try
        {
            _template = File.ReadAllText(_templatePath!, Encoding.UTF8);
            EnvironmentLog.IndexTemplateReloaded(_logger, _templatePath!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            EnvironmentLog.IndexTemplateUnreadable(_logger, _templatePath!, e.Message);
        }
    }

    private sealed record Entry(EnvironmentSlot Slot, EnvironmentState State, string Href, string? Error)
    {
        public string DisplayName => State.Environment?.ProjectName ?? Slot.Name;
    }
}
