using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Trac.Hosting.Testing;

/// <summary>
/// A <see cref="WebApplicationFactory{TEntryPoint}"/> for a host app with a <c>Program</c>: the app runs as it is,
/// with a <see cref="ManualTimeProvider"/>, captured logs and Trac.Hosting metrics, the machine's Trac process
/// variables kept out, and, when <see cref="Projects"/> is used, the Trac options pointed at its environments
/// (parent-directory mode) instead of the app's own.
/// </summary>
/// <typeparam name="TEntryPoint">The app's entry point, usually <c>Program</c>.</typeparam>
public class TracWebApplicationFactory<TEntryPoint> : WebApplicationFactory<TEntryPoint>
    where TEntryPoint : class
{
    private TracTestDirectory? _projects;
    private volatile bool _built;

    /// <summary>Gets the app's clock; time moves only when the test advances it.</summary>
    public ManualTimeProvider Time { get; } = new();

    /// <summary>Gets everything the app logged.</summary>
    public TracTestLogs Logs { get; } = new();

    /// <summary>Gets the measurements of the <c>Trac.Hosting</c> meter.</summary>
    public TracTestMetrics Metrics { get; } = new();

    /// <summary>
    /// Gets a temporary directory of environments. Using it (before the first request or <c>CreateClient</c>) makes
    /// the app serve these environments in parent-directory mode; otherwise the app keeps its own configuration.
    /// </summary>
    /// <exception cref="InvalidOperationException">First used after the app was built: it would have no effect.</exception>
    public TracTestDirectory Projects => _projects ?? (_built
        ? throw new InvalidOperationException("Use Projects before the first request or CreateClient(): the app is already built with its own environments.")
        : _projects = new TracTestDirectory());

    /// <inheritdoc />
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        _built = true;
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Time);
            services.AddSingleton<TracProcessEnvironment>(new NoProcessVariables());
            services.AddLogging(l => l.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
            if (_projects is { } projects)
            {
                services.PostConfigure<TracOptions>(o =>
                {
                    o.Environment.Path = null;
                    o.Environment.Paths.Clear();
                    o.Environment.ParentDirectory = projects.Path;
                });
            }
        });
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Metrics.Dispose();
            _projects?.Dispose();
        }
    }
}
