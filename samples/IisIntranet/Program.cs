// Trac projects on a Windows intranet: IIS authenticates every request with Windows authentication (web.config),
// and Trac.Hosting turns CORP\Alice into alice, as the seeds' SSPIOmitDomain and REMOTE_USER fixes did.
using Microsoft.AspNetCore.Server.IIS;

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseIIS();                                                    // in-process, in the IIS worker process
builder.Services.AddAuthentication(IISServerDefaults.AuthenticationScheme);  // a challenge goes back to IIS (Windows)
builder.Services.AddTrac(builder.Configuration.GetSection("Trac"));          // TRAC_ENV_PARENT_DIR is set in web.config

var app = builder.Build();
app.UseTrac(trac => trac
    .ResolveEnvironment()
    .NormalizeRemoteUser(user => user.StripDomain = true)                    // and appsettings.json: LocalDomains, Case
    .Dispatch(context =>
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(
            $"Project: {context.GetTracEnvironment()!.ProjectName}\nUser: {context.GetRemoteUser() ?? "anonymous"}\n");
    }));

app.Run();
