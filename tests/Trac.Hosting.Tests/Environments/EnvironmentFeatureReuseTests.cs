using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging.Abstractions;
using Trac.Hosting.Environments;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.Environments;

/// <summary>
/// A request that repeats the previous one of its environment reuses that request's feature and rewritten path; any
/// difference (path, case, PathBase, how the environment was chosen, a reload) gets a feature of its own.
/// </summary>
public sealed class EnvironmentFeatureReuseTests : IDisposable
{
    // A meter of no host: the middleware is built here without one.
    private static readonly Trac.Hosting.Diagnostics.TracMetrics s_metrics = new(meterFactory: null);

    private readonly TracTestDirectory _projects = new();

    public EnvironmentFeatureReuseTests() => _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));

    public void Dispose() => _projects.Dispose();

    [Fact]
    public async Task RepeatedRequest_SharesTheFeatureAndSeesTheSamePaths()
    {
        using var catalog = Catalog();
        var seen = new List<(ITracEnvironmentFeature Feature, string Paths)>();
        var middleware = Middleware(catalog, seen);

        await middleware.InvokeAsync(Context("/alpha/wiki/Start"));
        await middleware.InvokeAsync(Context("/alpha/wiki/Start"));

        Assert.Same(seen[0].Feature, seen[1].Feature);
        Assert.All(seen, s => Assert.Equal("|/alpha|/wiki/Start", s.Paths));
        Assert.Equal("/alpha/wiki/Start", seen[1].Feature.OriginalPath.Value);
    }

    [Theory]
    [InlineData("/alpha/wiki/Other", "", "|/alpha|/wiki/Other")]
    [InlineData("/alpha/Wiki/Start", "", "|/alpha|/Wiki/Start")]
    [InlineData("/alpha//wiki/Start", "", "|/alpha|//wiki/Start")]
    [InlineData("/alpha/wiki/Start", "/trac", "/trac|/trac/alpha|/wiki/Start")]
    public async Task AnyDifference_GetsAFeatureOfItsOwn(string path, string pathBase, string expected)
    {
        using var catalog = Catalog();
        var seen = new List<(ITracEnvironmentFeature Feature, string Paths)>();
        var middleware = Middleware(catalog, seen);

        await middleware.InvokeAsync(Context("/alpha/wiki/Start"));
        await middleware.InvokeAsync(Context(path, pathBase));

        Assert.NotSame(seen[0].Feature, seen[1].Feature);
        Assert.Equal(expected, seen[1].Paths);
        Assert.Equal(path, seen[1].Feature.OriginalPath.Value);
        Assert.Equal(pathBase, seen[1].Feature.OriginalPathBase.Value);
    }

    [Fact]
    public async Task SamePath_SelectedByServerVariable_IsNotRewrittenLikeOneFoundByName()
    {
        using var catalog = Catalog();
        var seen = new List<(ITracEnvironmentFeature Feature, string Paths)>();
        var middleware = Middleware(catalog, seen);
        var selected = Context("/alpha/wiki");
        selected.Features.Set<IServerVariablesFeature>(new TracServerVariables { ["trac.env_path"] = Path.Combine(_projects.Path, "alpha") });

        await middleware.InvokeAsync(Context("/alpha/wiki"));
        await middleware.InvokeAsync(selected);
        await middleware.InvokeAsync(Context("/alpha/wiki"));

        Assert.Equal(["|/alpha|/wiki", "||/alpha/wiki", "|/alpha|/wiki"], seen.Select(s => s.Paths));
        Assert.Same(seen[0].Feature.Environment, seen[1].Feature.Environment);
    }

    [Fact]
    public async Task ReloadedEnvironment_IsNotServedFromTheEarlierFeature()
    {
        using var catalog = Catalog();
        var seen = new List<(ITracEnvironmentFeature Feature, string Paths)>();
        var middleware = Middleware(catalog, seen);
        await middleware.InvokeAsync(Context("/alpha/wiki"));
        Assert.True(catalog.TryFind("alpha", out var slot));

        var changed = slot.GetChangeToken();
        _projects.WriteTracIni("alpha", "[project]\nname = Reloaded\n");
        await changed.WaitAsync("the trac.ini reload");
        await middleware.InvokeAsync(Context("/alpha/wiki"));

        Assert.Equal(["Alpha", "Reloaded"], seen.Select(s => s.Feature.Environment.ProjectName));
    }

    private EnvironmentCatalog Catalog() =>
        new(EnvironmentSettings.Create(new EnvironmentOptions { ParentDirectory = _projects.Path }, _ => null, _projects.Path),
            TimeProvider.System, NullLogger.Instance);

    /// <summary>A middleware whose next delegate records the feature and the PathBase and Path it was called with.</summary>
    private static EnvironmentResolutionMiddleware Middleware(EnvironmentCatalog catalog, List<(ITracEnvironmentFeature Feature, string Paths)> seen) =>
        new(context =>
            {
                var feature = context.Features.Get<ITracEnvironmentFeature>()!;
                seen.Add((feature, $"{feature.OriginalPathBase.Value}|{context.Request.PathBase.Value}|{context.Request.Path.Value}"));
                return Task.CompletedTask;
            },
            catalog,
            new ProjectIndex(null, catalog.Watchers, TimeProvider.System, TimeSpan.Zero, NullLogger.Instance),
            NullLogger.Instance,
            s_metrics);

    private static DefaultHttpContext Context(string path, string pathBase = "")
    {
        var context = new DefaultHttpContext();
        context.Request.PathBase = pathBase;
        context.Request.Path = path;
        return context;
    }
}
