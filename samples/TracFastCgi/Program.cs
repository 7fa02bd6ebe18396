// Real Trac behind the Trac pipeline: Trac's own FastCGI server as worker processes, one per project, recycled every
// MaxRequests without dropping a request. The projects (real Trac environments) are created on the first run.
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using TracFastCgi;

// Its settings (appsettings.json) and demo projects are next to the app, wherever it is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// A parent directory of Trac environments: the demo one next to the app unless configuration names another
// (--Trac:Environment:ParentDirectory=/srv/trac).
builder.Configuration["Trac:Environment:ParentDirectory"] ??= Path.Combine(AppContext.BaseDirectory, "projects");
TracSetup.FindTrac(builder.Configuration);
if (!await TracSetup.EnsureProjectsAsync(builder.Configuration, Console.Error))
{
    return 1;
}

builder.Services.AddTrac(builder.Configuration.GetSection("Trac"));
// Logins at /<project>/login from the htpasswd file next to the app (Trac:Login), as tracd's --basic-auth.
builder.Services.AddAuthentication().AddTracLogin();
// /healthz (Trac:Environment:HostPaths keeps it out of the projects): Degraded while the projects' Trac processes
// start at start-up (Trac:Workers:Preload), Healthy once they are warm. /healthz/ready answers 503 until then, for a
// load balancer or readiness probe; /healthz stays 200 (Degraded is not down), for a liveness probe.
builder.Services.AddHealthChecks().AddTracHealthChecks();

var app = builder.Build();
app.UseTrac(trac => trac
    .ResolveEnvironment()    // /demo/... is the demo project; / is the project index
    .NormalizeRemoteUser()   // the htpasswd login, or X-Remote-User from a proxy on loopback: CORP\Alice is alice
    .UsePluginCache()        // PYTHON_EGG_CACHE: <parent>/.egg-cache, created 0700 and checked
    .RecycleWorkers()        // a fresh Trac process every MaxRequests (appsettings.json), overlapped
    .DispatchToTrac());      // Trac's FastCGI server per project; chrome/common and chrome/site served here
app.MapHealthChecks("/healthz");
app.MapHealthChecks("/healthz/ready", new HealthCheckOptions
{
    ResultStatusCodes = { [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable },
});
app.Lifetime.ApplicationStarted.Register(() => TracSetup.WriteWhereToBrowse(app));

await app.RunAsync();
return 0;
