using Microsoft.Net.Http.Headers;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Testing.TestApp;

/// <summary>Answers with the environment, user, worker generation, method and body; <c>/session</c> issues a cookie valid for an hour of the app's clock.</summary>
public sealed class EchoApplication(TimeProvider time) : ITracApplication
{
    public async Task DispatchAsync(HttpContext context)
    {
        if (context.Request.Path == "/session")
        {
            context.Response.Cookies.Append("trac_session", "s1", new CookieOptions { Expires = time.GetUtcNow().AddHours(1) });
            return;
        }

        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var plugins = context.GetTracPluginCache()?.PluginSet.Plugins.Count ?? 0;
        context.Response.Headers[HeaderNames.ContentType] = "text/plain";
        await context.Response.WriteAsync(
            $"env={context.GetTracEnvironment()!.Name};user={context.GetRemoteUser() ?? "-"};gen={context.GetTracWorker()!.Generation};" +
            $"method={context.Request.Method};body={body};plugins={plugins};session={context.Request.Cookies["trac_session"] ?? "-"}");
    }
}
