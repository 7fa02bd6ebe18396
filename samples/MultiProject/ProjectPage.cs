using System.Globalization;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Html;
using Trac.Hosting.Environments;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Workers;

namespace MultiProject;

/// <summary>
/// The sample's application, one instance per worker: a page that shows what the four stages found for the
/// request (environment, remote user, plugins, worker), where a real host would run its project's code.
/// </summary>
public sealed class ProjectPage(TracWorkerContext worker, IEnumerable<IHtmlContent> pluginContent) : ITracApplication
{
    private static readonly HtmlEncoder s_encoder = HtmlEncoder.Default;

    /// <summary>
    /// Registers, in a worker's services, every plugin type that contributes to the page: public classes that
    /// implement <see cref="IHtmlContent"/>. They live and die with the worker, so its plugins can unload.
    /// </summary>
    /// <param name="services">The worker's services.</param>
    /// <param name="context">The worker being built, with its plugin assemblies.</param>
    public static void AddPluginContent(IServiceCollection services, TracWorkerContext context)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(context);
        foreach (var type in context.PluginAssemblies.SelectMany(a => a.GetExportedTypes()))
        {
            if (type is { IsClass: true, IsAbstract: false } && typeof(IHtmlContent).IsAssignableFrom(type) && type.GetConstructor(Type.EmptyTypes) is not null)
            {
                services.AddSingleton(typeof(IHtmlContent), type);
            }
        }
    }

    /// <inheritdoc />
    public Task DispatchAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var resolved = context.Features.Get<ITracEnvironmentFeature>()!;
        var environment = resolved.Environment;
        var current = context.GetTracWorker()!;
        var limit = context.RequestServices.GetRequiredService<IWorkerPool>().Workers
            .FirstOrDefault(w => w.Key == current.Key && w.Generation == current.Generation)?.RequestLimit ?? 0;

        using var page = new StringWriter(CultureInfo.InvariantCulture);
        page.Write($"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{Encode(environment.ProjectName)}</title>\n</head>\n<body>\n");
        page.Write($"<p><a href=\"{Encode(resolved.OriginalPathBase.Add("/").ToUriComponent())}\">Available Projects</a></p>\n");
        page.Write($"<h1>{Encode(environment.ProjectName)}</h1>\n<p>{Encode(environment.Description)}</p>\n");

        page.Write("<h2>Environment</h2>\n<dl>\n");
        Item(page, "environment", "Name", environment.Name);
        Item(page, "path", "Directory", environment.Path);
        Item(page, "request-path", "Path inside the project", context.Request.Path.Value is { Length: > 0 } path ? path : "/");
        Item(page, "loaded", "trac.ini loaded at", environment.LoadedAt.ToString("u", CultureInfo.InvariantCulture));
        page.Write("</dl>\n");

        var user = context.Features.Get<ITracRemoteUserFeature>();
        page.Write("<h2>Remote user</h2>\n<dl>\n");
        Item(page, "remote-user", "User", user?.RemoteUser ?? "anonymous");
        if (user?.Source is { } source)
        {
            Item(page, "remote-user-source", "From", $"{user.OriginalValue} ({source})");
        }

        page.Write("</dl>\n");

        var plugins = context.GetTracPluginCache()?.PluginSet;
        page.Write("<h2>Plugins</h2>\n<dl>\n");
        Item(page, "plugin-cache", "Cache directory", plugins?.CacheDirectory ?? "none");
        foreach (var plugin in plugins?.Plugins ?? [])
        {
            Item(page, "plugin-" + plugin.Name, plugin.Name + ".zip", plugin.Directory);
        }

        foreach (var error in plugins?.Errors ?? [])
        {
            Item(page, "plugin-error", "Not loaded", error.Message);
        }

        foreach (var assembly in worker.PluginAssemblies)
        {
            Item(page, "assembly-" + assembly.GetName().Name, "Assembly", assembly.FullName ?? string.Empty);
        }

        page.Write("</dl>\n");
        foreach (var content in pluginContent)
        {
            content.WriteTo(page, s_encoder);
            page.Write('\n');
        }

        page.Write("<h2>Worker</h2>\n<dl>\n");
        Item(page, "generation", "Generation", current.Generation.ToString(CultureInfo.InvariantCulture));
        Item(page, "served", "Requests served before this one", current.RequestsServed.ToString(CultureInfo.InvariantCulture));
        Item(page, "limit", "Replaced after (Trac:Workers:MaxRequests)", limit > 0 ? limit.ToString(CultureInfo.InvariantCulture) : "never");
        Item(page, "started", "Started at", current.StartedAt.ToString("u", CultureInfo.InvariantCulture));
        page.Write("</dl>\n</body>\n</html>\n");

        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(page.ToString(), context.RequestAborted);
    }

    private static void Item(StringWriter page, string id, string label, string value) =>
        page.Write($"<dt>{Encode(label)}</dt><dd id=\"{Encode(id)}\">{Encode(value)}</dd>\n");

    private static string Encode(string value) => s_encoder.Encode(value);
}
