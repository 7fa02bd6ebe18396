using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Common;

namespace Trac.Hosting.Testing;

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
    private TimeProvider _time = TracTestTime.StartingNow();

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
    /// Uses the given clock instead of a new <c>FakeTimeProvider</c>: the test's own <c>FakeTimeProvider</c> (it is then
    /// <see cref="TracTestHost.Time"/>, and timers made before the host keep their place), or any other
    /// <see cref="TimeProvider"/>, such as <see cref="TimeProvider.System"/>.
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
