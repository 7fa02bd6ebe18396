// Several Trac projects served from one parent directory, with all four stages: the README's "run it" sample.
using MultiProject;

var builder = WebApplication.CreateBuilder(args);
// The bundled demo environments, which the build copies next to the app; configuration may name others
// (--Trac:Environment:ParentDirectory=/srv/trac).
builder.Configuration["Trac:Environment:ParentDirectory"] ??= Path.Combine(AppContext.BaseDirectory, "projects");
builder.Services.AddTrac(builder.Configuration.GetSection("Trac"));

var app = builder.Build();
app.UseTrac(trac => trac
    .ResolveEnvironment()                // /acme/... is the acme project; / is the project index
    .NormalizeRemoteUser()               // CORP\Alice is alice
    .UsePluginCache()                    // plugins/*.zip extracted once into <parent>/.egg-cache
    .RecycleWorkers(workers => workers.ConfigureServices = ProjectPage.AddPluginContent)  // a new worker every MaxRequests
    .Dispatch<ProjectPage>());           // one ProjectPage per worker
app.Lifetime.ApplicationStarted.Register(() => StartupMessage.Write(app));

app.Run();
