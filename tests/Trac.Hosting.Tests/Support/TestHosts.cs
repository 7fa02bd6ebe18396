using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Environments;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Support;

/// <summary>Builds TestServer hosts around a Trac pipeline, with process variables under the test's control.</summary>
internal static class TestHosts
{
    /// <summary>A dispatch delegate that answers with what it saw: environment, PathBase and Path.</summary>
    public static readonly RequestDelegate Echo = context =>
    {
        var environment = context.GetTracEnvironment();
        return context.Response.WriteAsync(
            $"env={environment?.Name};project={environment?.ProjectName};base={context.Request.PathBase.Value};path={context.Request.Path.Value}");
    };

    public static async Task<IHost> StartAsync(
        Action<TracOptions>? options,
        Action<TracPipelineBuilder> pipeline,
        Action<IServiceCollection>? services = null,
        IDictionary<string, string?>? processVariables = null,
        TracTestLogs? logs = null,
        Action<IApplicationBuilder>? before = null,
        Action<IApplicationBuilder>? after = null)
    {
        var host = new HostBuilder()
            .ConfigureWebHost(web => web
                .UseTestServer()
                .ConfigureServices(s =>
                {
                    s.AddSingleton<TracProcessEnvironment>(new FakeProcessEnvironment(processVariables));
                    if (logs is not null)
                    {
                        s.AddLogging(l => l.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
                    }

                    services?.Invoke(s);
                    if (options is null)
                    {
                        s.AddTrac();
                    }
                    else
                    {
                        s.AddTrac(options);
                    }
                })
                .Configure(app =>
                {
                    before?.Invoke(app);
                    app.UseTrac(pipeline);
                    after?.Invoke(app);
                }))
            .Build();
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return host;
    }

    /// <summary>
    /// Starts a TestServer host whose services (<c>AddTrac</c> included) and application pipeline the test writes
    /// whole: <c>UseTrac()</c> without arguments, Trac options bound from configuration, middleware after
    /// <c>UseTrac</c>, what a <see cref="TracTestHost"/> deliberately leaves out. It sees no process variables.
    /// </summary>
    public static async Task<IHost> StartAppAsync(Action<IServiceCollection> services, Action<IApplicationBuilder> app)
    {
        var host = new HostBuilder()
            .ConfigureWebHost(web => web
                .UseTestServer()
                .ConfigureServices(s => services(s.AddSingleton<TracProcessEnvironment>(new FakeProcessEnvironment())))
                .Configure(app))
            .Build();
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return host;
    }

    public static EnvironmentCatalog Catalog(this TracTestHost host) =>
        host.Services.GetRequiredService<TracMarkerService>().Owned<EnvironmentCatalog>().Single();

    public static Task<IHost> StartParentAsync(
        string parent, Action<EnvironmentOptions>? configure = null, TracTestLogs? logs = null, TimeProvider? time = null) =>
        StartAsync(
            o => o.Environment.ParentDirectory = parent,
            t => t.ResolveEnvironment(configure).Dispatch(Echo),
            services: time is null ? null : s => s.AddSingleton(time),
            logs: logs);

    public static EnvironmentCatalog Catalog(this IHost host) =>
        host.Services.GetRequiredService<TracMarkerService>().Owned<EnvironmentCatalog>().Single();

    public static async Task<(int Status, string Body, HttpResponseMessage Response)> GetAsync(this IHost host, string url, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        var response = await host.GetTestClient().SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    /// <summary>Sends a request whose decoded Path is set exactly, as a server that does not normalize might pass it.</summary>
    public static Task<HttpContext> SendPathAsync(this IHost host, string path, Action<HttpContext>? configure = null) =>
        host.GetTestServer().SendAsync(context =>
        {
            context.Request.Method = "GET";
            context.Request.Path = new PathString(path);
            configure?.Invoke(context);
        });

    public static async Task<string> ReadBodyAsync(this HttpContext context)
    {
        using var reader = new StreamReader(context.Response.Body);
        return await reader.ReadToEndAsync();
    }

    /// <summary>Waits for a change token, failing the test after a generous bound instead of hanging.</summary>
    public static async Task WaitAsync(this Microsoft.Extensions.Primitives.IChangeToken token, string what)
    {
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = token.RegisterChangeCallback(_ => fired.TrySetResult(), null);
        if (token.HasChanged)
        {
            return;
        }

        var finished = await Task.WhenAny(fired.Task, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(finished == fired.Task, $"Timed out waiting for {what}.");
    }

    /// <summary>Process variables from a dictionary (none by default), so tests never depend on the machine's.</summary>
    internal sealed class FakeProcessEnvironment(IDictionary<string, string?>? variables = null) : TracProcessEnvironment
    {
        public override string? GetVariable(string name) =>
            variables is not null && variables.TryGetValue(name, out var value) ? value : null;
    }
}
