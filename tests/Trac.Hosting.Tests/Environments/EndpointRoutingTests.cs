using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;
using Trac.Hosting.Common;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// Host endpoints mapped after UseTrac see the environment-relative path: WebApplication would put routing in
/// front of the PathBase rewrite, so UseTrac adds UseRouting after itself, and refuses UseRouting before it.
/// </summary>
public sealed class EndpointRoutingTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public EndpointRoutingTests() => _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task EndpointsMappedAfterUseTrac_MatchTheEnvironmentRelativePath()
    {
        await using var app = Build();
        app.UseTrac();
        app.MapGet("/wiki/{page}", (HttpContext context, string page) =>
            $"{context.GetTracEnvironment()!.Name}:{page}:{context.Request.PathBase.Value}");
        await app.StartAsync();
        var client = app.GetTestClient();

        Assert.Equal("alpha:WikiStart:/alpha", await client.GetStringAsync("/alpha/wiki/WikiStart"));
        var unmatched = await client.GetAsync("/wiki/WikiStart");
        Assert.Equal(404, (int)unmatched.StatusCode);
        Assert.Equal("Environment not found", await unmatched.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task EndpointsSeeTheRouteValuesOfTheRelativePath()
    {
        await using var app = Build();
        app.UseTrac(t => t.ResolveEnvironment());
        app.MapGet("/ticket/{id:int}", (int id) => $"ticket {id}");
        await app.StartAsync();

        Assert.Equal("ticket 42", await app.GetTestClient().GetStringAsync("/alpha/ticket/42"));
    }

    [Fact]
    public async Task UseRoutingBeforeUseTrac_IsRefusedWithTheFix()
    {
        await using var app = Build();
        app.UseRouting();

        var error = Assert.Throws<InvalidOperationException>(() => app.UseTrac());

        Assert.Contains("Call app.UseTrac(...) before app.UseRouting()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseRoutingAfterUseTrac_IsAllowed()
    {
        await using var app = Build();
        app.UseTrac();
        app.UseRouting();
        app.MapGet("/wiki", (HttpContext context) => context.GetTracEnvironment()!.Name);
        await app.StartAsync();

        Assert.Equal("alpha", await app.GetTestClient().GetStringAsync("/alpha/wiki"));
    }

    [Fact]
    public async Task EndpointSelectedBeforeTheRewrite_IsLoggedOnce()
    {
        var logs = new TracTestLogs();
        await using var app = Build(logs);
        app.Use((context, next) =>
        {
            // What routing placed before UseTrac by other means would leave behind.
            context.SetEndpoint(new Endpoint(_ => Task.CompletedTask, EndpointMetadataCollection.Empty, "early"));
            return next(context);
        });
        app.UseTrac(t => t.ResolveEnvironment().Dispatch(c => c.Response.WriteAsync("ok")));
        await app.StartAsync();
        var client = app.GetTestClient();

        await client.GetStringAsync("/alpha/wiki");
        await client.GetStringAsync("/alpha/wiki");

        Assert.Single(logs.Entries, e => e.Id.Id == Diagnostics.EventIds.RoutingBeforeTrac);
    }

    private WebApplication Build(TracTestLogs? logs = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton<TracProcessEnvironment>(new TestProcessVariables());
        builder.Services.AddTrac(o => o.Environment.ParentDirectory = _projects.Path);
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        return builder.Build();
    }
}
