using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Common;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// The host keeps its own paths (health, metrics, admin) with <c>Trac:Environment:HostPaths</c>: they go around every
/// Trac stage, with or without a dispatch, and an endpoint a terminal dispatch hides is warned about at start-up.
/// </summary>
public sealed class HostPathsTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();
    private readonly TracTestLogs _logs = new();

    public HostPathsTests() => _projects.CreateEnvironment("alpha");

    public void Dispose()
    {
        _logs.Dispose();
        _projects.Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MapHealthChecks_AtAHostPath_AnswersInParentDirectoryMode_WithOrWithoutDispatch(bool dispatch)
    {
        await using var app = await StartAsync(o => o.Environment.HostPaths.Add("/healthz"), dispatch);
        var client = app.GetTestClient();

        var health = await client.GetAsync("/healthz");
        var healthLower = await client.GetAsync("/HEALTHZ");
        var project = await client.GetStringAsync("/alpha/wiki");
        var unknown = await client.GetAsync("/status");

        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", await healthLower.Content.ReadAsStringAsync());
        Assert.Equal(dispatch ? "dispatched alpha /wiki" : "endpoint alpha /wiki", project);
        Assert.Equal(404, (int)unknown.StatusCode);
        Assert.Equal(TracResponses.EnvironmentNotFound, await unknown.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task WithoutHostPaths_TheHealthEndpointIsAProjectsPath()
    {
        await using var app = await StartAsync(_ => { }, dispatch: false);
        var client = app.GetTestClient();

        Assert.Equal(404, (int)(await client.GetAsync("/healthz")).StatusCode);
        Assert.Equal("Healthy", await client.GetStringAsync("/alpha/healthz"));
    }

    [Fact]
    public async Task EndpointsATerminalDispatchHides_AreWarnedAboutAtStartUp()
    {
        await using var app = await StartAsync(o => o.Environment.HostPaths.Add("/healthz"), dispatch: true);

        var warning = Assert.Single(_logs.Entries, e => e.Id.Name == "UnreachableEndpoints");

        Assert.Contains("/wiki", warning.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Environment:HostPaths (/healthz)", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("/healthz,", warning.Message, StringComparison.Ordinal);
        Assert.False(warning.Message.EndsWith("/healthz", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutDispatch_NoEndpointIsWarnedAbout()
    {
        await using var app = await StartAsync(o => o.Environment.HostPaths.Add("/healthz"), dispatch: false);

        Assert.DoesNotContain(_logs.Entries, e => e.Id.Name == "UnreachableEndpoints");
    }

    [Theory]
    [InlineData("/")]
    [InlineData("healthz")]
    [InlineData("/healthz?x=1")]
    public async Task AHostPathThatIsNoPath_StopsStartUp(string hostPath)
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            StartAsync(o => o.Environment.HostPaths.Add(hostPath), dispatch: false));

        Assert.Contains($"Trac:Environment:HostPaths '{hostPath}' is not a host path", error.Message, StringComparison.Ordinal);
    }

    private async Task<WebApplication> StartAsync(Action<TracOptions> configure, bool dispatch)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.AddProvider(_logs);
        builder.Services.AddSingleton<TracProcessEnvironment>(new TestProcessVariables());
        builder.Services.AddHealthChecks();
        builder.Services.AddTrac(o =>
        {
            o.Environment.ParentDirectory = _projects.Path;
            configure(o);
        });
        var app = builder.Build();
        try
        {
            if (dispatch)
            {
                app.UseTrac(t => t.ResolveEnvironment().Dispatch(c => c.Response.WriteAsync($"dispatched {c.GetTracEnvironment()!.Name} {c.Request.Path}")));
            }
            else
            {
                app.UseTrac(t => t.ResolveEnvironment());
            }

            app.MapHealthChecks("/healthz");
            app.MapGet("/wiki", (HttpContext c) => $"endpoint {c.GetTracEnvironment()!.Name} {c.Request.Path}");
            await app.StartAsync();
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }
}
