using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Trac.Hosting.Testing;

/// <summary>
/// A running host defined inline around a Trac pipeline, for tests: on <c>TestServer</c> by default or on real
/// Kestrel (loopback), with the Trac options pointed at a <see cref="TracTestDirectory"/>, a
/// <see cref="ManualTimeProvider"/>, captured logs and metrics, a <see cref="TracRecorder"/>, request helpers and
/// worker controls. Start one with <see cref="CreateBuilder"/>.
/// </summary>
public sealed class TracTestHost : IAsyncDisposable, ITracTestTarget
{
    private readonly IHost _host;

    private readonly TimeProvider _time;

    private readonly TestMeterFactory _meterFactory;

    internal TracTestHost(IHost host, TracTestDirectory projects, TimeProvider time, TracTestLogs logs, TestMeterFactory meterFactory, TracTestMetrics metrics, TracRecorder recorder, Uri? address)
    {
        _meterFactory = meterFactory;
        _host = host;
        Projects = projects;
        _time = time;
        Logs = logs;
        Metrics = metrics;
        Recorder = recorder;
        BaseAddress = address;
        Workers = new TracWorkerControls(this);
    }

    /// <summary>Gets the host's services.</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>Gets the environments the host serves (its <c>Trac:Environment:ParentDirectory</c>).</summary>
    public TracTestDirectory Projects { get; }

    /// <summary>Gets the host's manual clock; time moves only when the test advances it.</summary>
    /// <exception cref="InvalidOperationException">The host was given another <see cref="System.TimeProvider"/> (see <see cref="TimeProvider"/>).</exception>
    public ManualTimeProvider Time => _time as ManualTimeProvider
        ?? throw new InvalidOperationException($"This host uses a {_time.GetType().Name}, not a ManualTimeProvider: advance that one.");

    /// <summary>Gets the host's clock, whatever its type.</summary>
    public TimeProvider TimeProvider => _time;

    /// <summary>Gets everything the host logged.</summary>
    public TracTestLogs Logs { get; }

    /// <summary>Gets the measurements of the <c>Trac.Hosting</c> meter.</summary>
    public TracTestMetrics Metrics { get; }

    /// <summary>Gets the recorder shared with <see cref="TracRecordingApplication"/> and <see cref="TracRecorder.Dispatch"/>.</summary>
    public TracRecorder Recorder { get; }

    /// <summary>Gets the loopback address with Kestrel, or <see langword="null"/> on <c>TestServer</c>.</summary>
    public Uri? BaseAddress { get; }

    /// <summary>Gets controls of the worker pool (waiting for recycles, forcing one, reading its state).</summary>
    public TracWorkerControls Workers { get; }

    /// <summary>Starts describing a test host serving the environments of <paramref name="projects"/>.</summary>
    /// <param name="projects">The environments; the caller keeps ownership.</param>
    /// <returns>The builder.</returns>
    public static TracTestHostBuilder CreateBuilder(TracTestDirectory projects)
    {
        ArgumentNullException.ThrowIfNull(projects);
        return new TracTestHostBuilder(projects);
    }

    /// <summary>Creates a client for the host (TestServer's, or one aimed at Kestrel's loopback address).</summary>
    /// <returns>The client.</returns>
    public HttpClient CreateClient() => BaseAddress is null ? _host.GetTestServer().CreateClient() : new HttpClient { BaseAddress = BaseAddress };

    /// <summary>Starts describing a request to an environment: as a user, from a peer, with server variables.</summary>
    /// <param name="environment">The environment's name (the first path segment).</param>
    /// <param name="path">The path inside the environment.</param>
    /// <returns>The request builder.</returns>
    public TracTestRequest Request(string environment, string path = "/") => new(this, TracTestTargets.PathOf(environment, path));

    /// <summary>
    /// Starts describing a request to any path of the host (the project index, a single environment served at the
    /// root, a path outside <c>BasePath</c>).
    /// </summary>
    /// <param name="pathAndQuery">The path and query, such as <c>/</c> or <c>/?format=json</c>.</param>
    /// <returns>The request builder.</returns>
    public TracTestRequest RequestPath(string pathAndQuery) => new(this, TracTestTargets.CheckPath(pathAndQuery));

    /// <inheritdoc />
    HttpClient ITracTestTarget.CreateRequestClient() => BaseAddress is null
        ? _host.GetTestServer().CreateClient()
        : new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = BaseAddress };

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // Blocked dispatches would otherwise keep their workers draining.
        Recorder.Release();
        try
        {
            await _host.StopAsync();
        }
        finally
        {
            try
            {
                if (_host is IAsyncDisposable asyncDisposable)
                {
                    await asyncDisposable.DisposeAsync();
                }
                else
                {
                    _host.Dispose();
                }
            }
            finally
            {
                Metrics.Dispose();
                _meterFactory.Dispose();
            }
        }
    }
}

/// <summary>Describes a <see cref="TracTestHost"/> before it starts.</summary>
public sealed class TracTestHostBuilder
{
    private readonly TracTestDirectory _projects;
    private readonly List<Action<TracOptions>> _options = [];
    private readonly List<Action<IServiceCollection>> _services = [];
    private readonly List<Action<IApplicationBuilder>> _before = [];
    private Action<TracPipelineBuilder, TracRecorder>? _pipeline;
    private readonly TestProcessVariables _processVariables = new();
    private bool _kestrel;
    private TimeProvider _time = ManualTimeProvider.StartingNow();

    internal TracTestHostBuilder(TracTestDirectory projects) => _projects = projects;

    /// <summary>Adjusts the Trac options (already pointing <c>Environment.ParentDirectory</c> at the test directory).</summary>
    /// <param name="configure">The adjustment.</param>
    /// <returns>This builder.</returns>
    public TracTestHostBuilder ConfigureTrac(Action<TracOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _options.Add(configure);
        return this;
    }

    /// <summary>Adds registrations to the host's services (authentication schemes, health checks, ...).</summary>
    /// <param name="configure">The registrations.</param>
    /// <returns>This builder.</returns>
    public TracTestHostBuilder ConfigureServices(Action<IServiceCollection> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _services.Add(configure);
        return this;
    }

    /// <summary>Adds middleware in front of the Trac pipeline (authentication, forwarded headers, ...).</summary>
    /// <param name="configure">The middleware.</param>
    /// <returns>This builder.</returns>
    public TracTestHostBuilder UseBefore(Action<IApplicationBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _before.Add(configure);
        return this;
    }

    /// <summary>
    /// Describes the Trac pipeline. By default: <c>ResolveEnvironment().Dispatch(recorder.Dispatch)</c>. Pipelines
    /// that recycle workers can end with <c>.Dispatch&lt;TracRecordingApplication&gt;()</c>: it finds the recorder in
    /// the host's services, whatever the workers' own services are.
    /// </summary>
    /// <param name="pipeline">The pipeline.</param>
    /// <returns>This builder.</returns>
    public TracTestHostBuilder UseTrac(Action<TracPipelineBuilder> pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        _pipeline = (trac, _) => pipeline(trac);
        return this;
    }

    /// <summary>
    /// Describes the Trac pipeline with the host's recorder at hand, for example
    /// <c>(trac, recorder) =&gt; trac.ResolveEnvironment().NormalizeRemoteUser().Dispatch(recorder.Dispatch)</c>.
    /// </summary>
    /// <param name="pipeline">The pipeline.</param>
    /// <returns>This builder.</returns>
    public TracTestHostBuilder UseTrac(Action<TracPipelineBuilder, TracRecorder> pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        _pipeline = pipeline;
        return this;
    }

    /// <summary>
    /// Gives the host a process variable (<c>TRAC_ENV</c>, <c>TRAC_ENV_PARENT_DIR</c>, <c>PYTHON_EGG_CACHE</c>, ...)
    /// without touching the test process's own: a test host sees no other. Process variables are fallbacks:
    /// to test <c>TRAC_ENV</c>, also clear the parent directory the builder sets
    /// (<c>ConfigureTrac(o =&gt; o.Environment.ParentDirectory = null)</c>).
    /// </summary>
    /// <param name="name">The variable.</param>
    /// <param name="value">Its value; <see langword="null"/> for unset.</param>
    /// <returns>This builder.</returns>
    public TracTestHostBuilder WithProcessVariable(string name, string? value)
    {
        _processVariables.Set(name, value);
        return this;
    }

    /// <summary>Runs on real Kestrel on a free loopback port instead of <c>TestServer</c>.</summary>
    /// <returns>This builder.</returns>
    public TracTestHostBuilder UseKestrel()
    {
        _kestrel = true;
        return this;
    }

    /// <summary>
    /// Uses the given clock instead of a new <see cref="ManualTimeProvider"/>: a shared one, or any other
    /// <see cref="TimeProvider"/> (a <c>FakeTimeProvider</c>, or <see cref="TimeProvider.System"/>).
    /// </summary>
    /// <param name="time">The clock.</param>
    /// <returns>This builder.</returns>
    public TracTestHostBuilder UseTime(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        return this;
    }

    /// <summary>Builds and starts the host.</summary>
    /// <returns>The running host.</returns>
    public async Task<TracTestHost> StartAsync()
    {
        var logs = new TracTestLogs();
        var recorder = new TracRecorder();
        var meterFactory = new TestMeterFactory();

        // Only this host's measurements, from its first one: other hosts of the test run have their own meter factory.
        var metrics = new TracTestMetrics(meterFactory);
        var pipeline = _pipeline ?? ((t, r) => t.ResolveEnvironment().Dispatch(r.Dispatch));
        var host = new HostBuilder()
            .ConfigureWebHost(web =>
            {
                if (_kestrel)
                {
                    web.UseKestrel().UseUrls("http://127.0.0.1:0");
                }
                else
                {
                    web.UseTestServer();
                }

                web.ConfigureServices(services =>
                {
                    // The machine's TRAC_ENV and friends never leak into a test.
                    services.AddSingleton<TracProcessEnvironment>(_processVariables);
                    services.AddSingleton<TimeProvider>(_time);
                    services.AddSingleton<System.Diagnostics.Metrics.IMeterFactory>(meterFactory);
                    services.AddSingleton(recorder);
                    services.AddLogging(l => l.AddProvider(logs).AddFilter<TracTestLogs>(null, LogLevel.Debug));
                    services.AddRouting();
                    foreach (var configure in _services)
                    {
                        configure(services);
                    }

                    services.AddTrac(o =>
                    {
                        o.Environment.ParentDirectory = _projects.Path;
                        foreach (var configure in _options)
                        {
                            configure(o);
                        }
                    });
                });
                web.Configure(app =>
                {
                    foreach (var configure in _before)
                    {
                        configure(app);
                    }

                    app.UseTrac(trac => pipeline(trac, recorder));
                });
            })
            .Build();
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            metrics.Dispose();
            meterFactory.Dispose();
            throw;
        }

        Uri? address = null;
        if (_kestrel)
        {
            var addresses = host.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses;
            address = new Uri(addresses.First());
        }

        return new TracTestHost(host, _projects, _time, logs, meterFactory, metrics, recorder, address);
    }
}
