using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Trac.Hosting.Environments;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Environments;

/// <summary>The middleware on its own, with a <see cref="DefaultHttpContext"/> and a lambda as the next delegate.</summary>
public sealed class EnvironmentResolutionMiddlewareTests : IDisposable
{
    // A meter of no host: the middleware is built here without one.
    private static readonly Trac.Hosting.Diagnostics.TracMetrics s_metrics = new(meterFactory: null);

    private static readonly string[] DirectoryNames = ["mydir1", "mydir2", ".hidden_dir"];
    private static readonly string[] FileNames = ["myfile1", "myfile2", ".dot_file"];
    private readonly TracTestDirectory _projects = new();

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task KnownEnvironment_CallsNextWithFeatureAndRewrittenPath()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        using var catalog = Catalog();
        string? seen = null;
        var middleware = Middleware(catalog, context =>
        {
            var feature = context.Features.Get<ITracEnvironmentFeature>()!;
            seen = $"{feature.Environment.ProjectName}|{context.Request.PathBase.Value}|{context.Request.Path.Value}|{feature.OriginalPath.Value}";
            return Task.CompletedTask;
        });
        var context = Context("/alpha/wiki/Start");

        await middleware.InvokeAsync(context);

        Assert.Equal("Alpha|/alpha|/wiki/Start|/alpha/wiki/Start", seen);
        Assert.Equal("/alpha/wiki/Start", context.Request.Path.Value);
        Assert.Null(context.Features.Get<ITracEnvironmentFeature>());
    }

    [Fact]
    public async Task UnknownEnvironment_DoesNotCallNext()
    {
        using var catalog = Catalog();
        var called = false;
        var middleware = Middleware(catalog, _ =>
        {
            called = true;
            return Task.CompletedTask;
        });
        var context = Context("/nosuch/");

        await middleware.InvokeAsync(context);

        Assert.False(called);
        Assert.Equal(404, context.Response.StatusCode);
        Assert.Equal(21, context.Response.ContentLength);
        Assert.Equal("Environment not found", Body(context));
    }

    [Fact]
    public async Task NextThrowing_StillRestoresThePath()
    {
        _projects.CreateEnvironment("alpha");
        using var catalog = Catalog();
        var middleware = Middleware(catalog, _ => throw new InvalidOperationException("boom"));
        var context = Context("/alpha/wiki");

        await Assert.ThrowsAsync<InvalidOperationException>(() => middleware.InvokeAsync(context));

        Assert.Equal(string.Empty, context.Request.PathBase.Value);
        Assert.Equal("/alpha/wiki", context.Request.Path.Value);
        Assert.Null(context.Features.Get<ITracEnvironmentFeature>());
    }

    public static TheoryData<string?, string[]> TracIgnoreTable => new()
    {
        { null, ["mydir1", "mydir2"] },
        { string.Empty, [".hidden_dir", "mydir1", "mydir2"] },
        { "mydir?", [".hidden_dir"] },
        { "my*\n.hidden_dir", [] },
        { "my*i?1\n\n#mydir2", [".hidden_dir", "mydir2"] },
    };

    [Theory]
    [MemberData(nameof(TracIgnoreTable))]
    public async Task TracIgnoreTable_OnRealDirectoriesAndFiles(string? tracIgnore, string[] expected)
    {
        foreach (var name in DirectoryNames)
        {
            _projects.CreateEnvironment(name);
        }

        foreach (var name in FileNames)
        {
            _projects.CreateFile(name);
        }

        _projects.WriteTracIgnore(tracIgnore);
        using var catalog = Catalog();
        var middleware = Middleware(catalog, _ => Task.CompletedTask);
        var context = Context("/");
        context.Request.Headers.Accept = "application/json";

        await middleware.InvokeAsync(context);

        using var json = JsonDocument.Parse(Body(context));
        var listed = json.RootElement.GetProperty("projects").EnumerateArray().Select(p => p.GetProperty("name").GetString()).Order(StringComparer.Ordinal);
        Assert.Equal(expected, listed);
        foreach (var name in DirectoryNames.Concat(FileNames))
        {
            var direct = Context($"/{name}/");
            await middleware.InvokeAsync(direct);
            Assert.Equal(expected.Contains(name) ? 200 : 404, direct.Response.StatusCode);
        }
    }

    private EnvironmentCatalog Catalog() =>
        new(EnvironmentSettings.Create(new EnvironmentOptions { ParentDirectory = _projects.Path }, _ => null, _projects.Path),
            TimeProvider.System, NullLogger.Instance);

    private static EnvironmentResolutionMiddleware Middleware(EnvironmentCatalog catalog, RequestDelegate next) =>
        new(next, catalog, new ProjectIndex(null, catalog.Watchers, TimeProvider.System, TimeSpan.Zero, NullLogger.Instance), NullLogger.Instance, s_metrics);

    private static DefaultHttpContext Context(string path)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = path;
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static string Body(HttpContext context) =>
        System.Text.Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());
}
