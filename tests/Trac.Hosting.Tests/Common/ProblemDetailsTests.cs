using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Common;

/// <summary>
/// Errors for API clients: with the host's <c>AddProblemDetails()</c>, a client that accepts JSON gets problem details
/// (same status, the same fixed text as <c>detail</c>, a <c>type</c> per error); everyone else keeps the plain text.
/// </summary>
public sealed class ProblemDetailsTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public ProblemDetailsTests()
    {
        _projects.CreateEnvironment("alpha");
        _projects.CreateEnvironment("broken", e => e.WithoutVersion());
    }

    public void Dispose() => _projects.Dispose();

    [Theory]
    [InlineData("/nosuch/wiki", 404, "environment-not-found", "Environment not found")]
    [InlineData("/broken/wiki", 500, "environment-unavailable", "No Trac environment found at 'broken'")]
    public async Task ErrorsForAJsonClient_AreProblemDetails(string path, int status, string type, string detail)
    {
        await using var host = await StartAsync(problemDetails: true);

        var response = await host.RequestPath(path).WithHeader("Accept", "application/json").SendAsync();

        Assert.Equal(status, response.StatusCode);
        Assert.StartsWith("application/problem+json", response.Headers["Content-Type"], StringComparison.Ordinal);
        using var json = JsonDocument.Parse(response.Body);
        Assert.Equal(status, json.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("urn:trac-hosting:error:" + type, json.RootElement.GetProperty("type").GetString());
        Assert.StartsWith(detail, json.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefusedUsers_AndWorkersThatCannotStart_HaveTheirOwnTypes_AndKeepTheirHeaders()
    {
        await using var host = await StartAsync(problemDetails: true);
        host.Recorder.FailStart = _ => new InvalidOperationException("cannot start");

        var refused = await host.Request("alpha").AsUser("(null)").WithHeader("Accept", "application/problem+json").SendAsync();
        // The start is retried with back-off on the host's clock: moved until the request gives up.
        var pending = host.Request("alpha").WithHeader("Accept", "application/json").SendAsync();
        await host.Time.AdvanceUntilAsync(pending, TimeSpan.FromSeconds(1));
        var unavailable = await pending;

        Assert.Equal(400, refused.StatusCode);
        Assert.Contains("urn:trac-hosting:error:remote-user-malformed", refused.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("(null)", refused.Body, StringComparison.Ordinal);
        Assert.Equal(503, unavailable.StatusCode);
        Assert.Contains("urn:trac-hosting:error:worker-unavailable", unavailable.Body, StringComparison.Ordinal);
        Assert.Matches("^[0-9]+$", unavailable.Headers["Retry-After"]);
    }

    [Theory]
    [InlineData(true, "text/html,application/xhtml+xml,*/*;q=0.8")]
    [InlineData(true, null)]
    [InlineData(false, "application/json")]
    public async Task Browsers_AndHostsWithoutProblemDetails_GetThePlainText(bool problemDetails, string? accept)
    {
        await using var host = await StartAsync(problemDetails);
        var request = host.RequestPath("/nosuch/wiki");

        var response = await (accept is null ? request : request.WithHeader("Accept", accept)).SendAsync();

        Assert.Equal(404, response.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", response.Headers["Content-Type"]);
        Assert.Equal("Environment not found", response.Body);
    }

    private Task<TracTestHost> StartAsync(bool problemDetails)
    {
        var builder = TracTestHost.CreateBuilder(_projects)
            .UseTrac((t, recorder) => t.ResolveEnvironment().NormalizeRemoteUser().RecycleWorkers().Dispatch<TracRecordingApplication>());
        return (problemDetails ? builder.ConfigureServices(s => s.AddProblemDetails()) : builder).StartAsync();
    }
}
