using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// Concurrent requests to many environments over real Kestrel sockets: each dispatch sees only its own
/// environment (the seeds' warning about os.environ['TRAC_ENV'] leaking one project into another).
/// </summary>
public sealed class EnvironmentIsolationTests : IDisposable
{
    private const int EnvironmentCount = 24;
    private readonly TracTestDirectory _projects = new();

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task ConcurrentRequestsToManyEnvironments_EachDispatchSeesOnlyItsOwn()
    {
        for (var i = 0; i < EnvironmentCount; i++)
        {
            _projects.CreateEnvironment($"p{i:D2}", e => e.WithProject($"Project {i:D2}"));
        }

        var mismatches = new ConcurrentBag<string>();
        var dispatches = 0;
        await using var app = await StartKestrelAsync(async context =>
        {
            var expected = context.Request.Headers["X-Expect"].ToString();
            // Yield in the middle of the request so that requests interleave on the thread pool.
            await Task.Yield();
            var environment = context.GetTracEnvironment()!;
            if (environment.Name != expected || environment.ProjectName != $"Project {expected[1..]}" ||
                context.Request.PathBase.Value != "/" + expected)
            {
                mismatches.Add($"{expected} saw {environment.Name} {environment.ProjectName} {context.Request.PathBase}");
            }

            Interlocked.Increment(ref dispatches);
            await context.Response.WriteAsync(environment.Name);
        });

        using var client = app.CreateClient();
        var requests = Enumerable.Range(0, 480).Select(async i =>
        {
            var name = $"p{i % EnvironmentCount:D2}";
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/{name}/ticket/{i}");
            request.Headers.Add("X-Expect", name);
            using var response = await client.SendAsync(request);
            return (name, (int)response.StatusCode, await response.Content.ReadAsStringAsync());
        });

        var results = await Task.WhenAll(requests);

        Assert.All(results, r =>
        {
            Assert.Equal(200, r.Item2);
            Assert.Equal(r.name, r.Item3);
        });
        Assert.Empty(mismatches);
        Assert.Equal(480, dispatches);
    }

    [Theory]
    [InlineData("/..%2f")]
    [InlineData("/..%2F..%2Fetc%2Fpasswd")]
    [InlineData("/%2e%2e%2f")]
    [InlineData("/a%5cb/")]
    [InlineData("/%5c..%5c/")]
    [InlineData("/.hidden/")]
    [InlineData("/%2ehidden/")]
    [InlineData("/%C3%28/")]
    [InlineData("/%FF/")]
    public async Task RawAttackPathsOverKestrel_Get404AndNeverReachTheDispatch(string rawPath)
    {
        _projects.CreateEnvironment("alpha");
        _projects.CreateEnvironment(".hidden");
        var dispatched = 0;
        await using var app = await StartKestrelAsync(context =>
        {
            Interlocked.Increment(ref dispatched);
            return Task.CompletedTask;
        });

        var (status, body) = await SendRawAsync(app, rawPath);

        Assert.Equal(404, status);
        Assert.EndsWith("Environment not found", body, StringComparison.Ordinal);
        Assert.Equal(0, dispatched);
    }

    [Theory]
    [InlineData("/%2e%2e/")]
    [InlineData("/alpha/../")]
    public async Task DotSegmentsOverKestrel_AreRemovedBeforeResolution_AndNeverEscape(string rawPath)
    {
        // Kestrel removes dot segments (also percent-encoded ones), so these land on the project index.
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        var dispatched = 0;
        await using var app = await StartKestrelAsync(context =>
        {
            Interlocked.Increment(ref dispatched);
            return Task.CompletedTask;
        });

        var (status, body) = await SendRawAsync(app, rawPath);

        Assert.Equal(200, status);
        Assert.Contains("Available Projects", body, StringComparison.Ordinal);
        Assert.Equal(0, dispatched);
    }

    private Task<TracTestHost> StartKestrelAsync(RequestDelegate dispatch) =>
        TracTestHost.CreateBuilder(_projects).UseKestrel().UseTrac(t => t.ResolveEnvironment().Dispatch(dispatch)).StartAsync();

    private static async Task<(int Status, string Body)> SendRawAsync(TracTestHost app, string rawPath)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, app.BaseAddress!.Port);
        var stream = socket.GetStream();
        var request = Encoding.ASCII.GetBytes($"GET {rawPath} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(request);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();
        var status = int.Parse(response.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        return (status, body);
    }
}
