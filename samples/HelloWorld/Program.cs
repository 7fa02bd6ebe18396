// The smallest Trac host: one environment, and the "Hello World" test application of Trac's mod_wsgi guide as
// the dispatch delegate.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddTrac(builder.Configuration.GetSection("Trac"));

var app = builder.Build();
app.UseTrac(trac => trac
    .ResolveEnvironment()
    .Dispatch(context =>
    {
        var environment = context.GetTracEnvironment()!;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync($"Hello World!\n\nProject: {environment.ProjectName}\nEnvironment: {environment.Path}\n");
    }));

app.Run();
