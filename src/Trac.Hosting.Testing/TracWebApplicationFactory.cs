using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Trac.Hosting.Common;

namespace Trac.Hosting.Testing;

/// <summary>
/// A <see cref="WebApplicationFactory{TEntryPoint}"/> for a host app with a <c>Program</c>: the app runs as it is,
/// with a <see cref="FakeTimeProvider"/> (starting at the real current time, or the test's own), captured logs, this app's
/// Trac.Hosting metrics, process variables only as the test sets them, request helpers and worker controls, and,
/// when <see cref="Projects"/> is used, the Trac options pointed at its environments (parent-directory mode) and its
/// plugin cache (<c>.egg-cache</c> in <see cref="Projects"/>) instead of the app's own: such a test writes nothing
/// outside its temporary directory unless it asks to.
/// </summary>
/// <remarks>
/// The app keeps its own dispatch: to test a pipeline against a <see cref="TracRecorder"/>, define the host inline
/// with <see cref="TracTestHost.CreateBuilder"/>. Real Kestrel (<c>UseKestrel()</c>) needs .NET 10; on .NET 8
/// use <see cref="TracTestHostBuilder.UseKestrel"/>.
/// </remarks>
/// <typeparam name="TEntryPoint">The app's entry point, usually <c>Program</c>.</typeparam>
public class TracWebApplicationFactory<TEntryPoint> : WebApplicationFactory<TEntryPoint>, ITracTestTarget
    where TEntryPoint : class
{
    private readonly TestMeterFactory _meterFactory = new();
    private readonly TestProcessVariables _processVariables = new();
    private readonly List<Action<TracOptions>> _options = [];
    private TracTestDirectory? _projects;
    private volatile bool _built;
    private FakeTimeProvider _time = TracTestTime.StartingNow();

    /// <summary>Creates the factory.</summary>
    public TracWebApplicationFactory()
    {
        Metrics = new TracTestMetrics(_meterFactory);
        Workers = new TracWorkerControls(this);
    }

    /// <summary>
    /// Gets the app's clock; time moves only when the test advances it. It starts at the real current time, unless
    /// the test gave its own (<see cref="UseTime"/>).
    /// </summary>
    public FakeTimeProvider Time => _time;

    /// <summary>Gets everything the app logged at <c>Debug</c> level or above, whatever the app's own log filters say.</summary>
    public TracTestLogs Logs { get; } = new();

    /// <summary>Gets the measurements of this app's <c>Trac.Hosting</c> meter (not those of other apps of the test run).</summary>
    public TracTestMetrics Metrics { get; }

    /// <summary>Gets controls of the app's worker pool (waiting for recycles, forcing one, reading its state, moving the clock past its limits).</summary>
    public TracWorkerControls Workers { get; }

    /// <summary>
    /// Gets a temporary directory of environments. Using it (before the first request or <c>CreateClient</c>) makes
    /// the app serve these environments in parent-directory mode; otherwise the app keeps its own configuration.
    /// </summary>
    /// <exception cref="InvalidOperationException">First used after the app was built: it would have no effect.</exception>
    public TracTestDirectory Projects => _projects ?? (_built
        ? throw new InvalidOperationException("Use Projects before the first request or CreateClient(): the app is already built with its own environments.")
        : _projects = new TracTestDirectory());

    /// <summary>
    /// Adjusts the app's Trac options after its own configuration (shorter timeouts, another <c>MaxRequests</c>, a
    /// trusted proxy), without a derived factory: the helpers of this one stay at hand.
    /// </summary>
    /// <param name="configure">The adjustment.</param>
    /// <returns>This factory.</returns>
    /// <exception cref="InvalidOperationException">The app is already built.</exception>
    public TracWebApplicationFactory<TEntryPoint> ConfigureTrac(Action<TracOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        ThrowIfBuilt("Configure Trac");
        _options.Add(configure);
        return this;
    }

    /// <summary>
    /// Gives the app the test's own clock in place of the factory's: a <see cref="FakeTimeProvider"/> the test already
    /// advances (or shares with other fakes), which <see cref="Time"/> then returns.
    /// </summary>
    /// <param name="time">The clock.</param>
    /// <returns>This factory.</returns>
    /// <exception cref="InvalidOperationException">The app is already built.</exception>
    public TracWebApplicationFactory<TEntryPoint> UseTime(FakeTimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        ThrowIfBuilt("Set the clock");
        _time = time;
        return this;
    }

    /// <summary>
    /// Gives the app a process variable (<c>TRAC_ENV</c>, <c>PYTHON_EGG_CACHE</c>, ...) without touching the test
    /// process's own; the app sees no other. Process variables are fallbacks: the app's own configuration wins.
    /// </summary>
    /// <param name="name">The variable.</param>
    /// <param name="value">Its value; <see langword="null"/> for unset.</param>
    /// <returns>This factory.</returns>
    /// <exception cref="InvalidOperationException">The app is already built.</exception>
    public TracWebApplicationFactory<TEntryPoint> WithProcessVariable(string name, string? value)
    {
        ThrowIfBuilt("Set process variables");
        _processVariables.Set(name, value);
        return this;
    }

    /// <summary>Starts describing a request to an environment: any method and body, as a user, from a peer, with server variables.</summary>
    /// <param name="environment">The environment's name (the first path segment).</param>
    /// <param name="path">The path inside the environment.</param>
    /// <returns>The request builder.</returns>
    public TracTestRequest Request(string environment, string path = "/") => new(this, TracTestTargets.PathOf(environment, path));

    /// <summary>
    /// Starts describing a request to any path of the app (the project index, a single environment served at the
    /// root, a path outside <c>BasePath</c>).
    /// </summary>
    /// <param name="pathAndQuery">The path and query, such as <c>/</c> or <c>/wiki/WikiStart</c>.</param>
    /// <returns>The request builder.</returns>
    public TracTestRequest RequestPath(string pathAndQuery) => new(this, TracTestTargets.CheckPath(pathAndQuery));

    /// <inheritdoc />
    HttpClient ITracTestTarget.CreateRequestClient()
    {
        // On Kestrel (TestServer requests never get here): aimed at the address the server listens on.
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var address = addresses?.FirstOrDefault()
            ?? throw new InvalidOperationException("The app's server reports no address: start it (StartServer()) before sending requests.");
        return new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(address) };
    }

    /// <inheritdoc />
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        _built = true;
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Time);
            services.AddSingleton<TracProcessEnvironment>(_processVariables);
            services.AddSingleton<IMeterFactory>(_meterFactory);
            // A rule for the capturing provider itself: the app's own configuration (Logging:LogLevel:Default
            // "Information") would otherwise hide the Debug entries tests wait for.
            services.AddLogging(l => l.AddProvider(Logs).AddFilter<TracTestLogs>(null, LogLevel.Debug));
            var projects = _projects;
            services.PostConfigure<TracOptions>(o =>
            {
                if (projects is not null)
                {
                    o.Environment.Path = null;
                    o.Environment.Paths.Clear();
                    o.Environment.ParentDirectory = projects.Path;
                    // The app's own plugin cache is not the test's: the default, <projects>/.egg-cache, stays in the
                    // test's directory (or PYTHON_EGG_CACHE, when the test sets it; ConfigureTrac may name another).
                    o.PluginCache.Directory = null;
                }

                foreach (var configure in _options)
                {
                    configure(o);
                }
            });
        });
    }

    private void ThrowIfBuilt(string what)
    {
        if (_built)
        {
            throw new InvalidOperationException($"{what} before the first request or CreateClient(): the app is already built.");
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Metrics.Dispose();
            _meterFactory.Dispose();
            _projects?.Dispose();
        }
    }
}
