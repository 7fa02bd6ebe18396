using Trac.Hosting.Testing.TestApp;

// A host app for the test kit's own tests of TracWebApplicationFactory: every stage on, configured from
// appsettings.json, and an application that answers with what it saw.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddTrac(builder.Configuration.GetSection("Trac"));

var app = builder.Build();
app.UseTrac(trac => trac
    .ResolveEnvironment()
    .NormalizeRemoteUser()
    .UsePluginCache()
    .RecycleWorkers()
    .Dispatch<EchoApplication>());

app.Run();
