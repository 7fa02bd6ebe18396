using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Trac.Hosting.Common;

namespace Trac.Hosting.Testing;

/// <summary>
/// A running host defined inline around a Trac pipeline, for tests: on <c>TestServer</c> by default or on real
/// Kestrel (loopback), with the Trac options pointed at a <see cref="TracTestDirectory"/>, a
/// <see cref="FakeTimeProvider"/>, captured logs and metrics, a <see cref="TracRecorder"/>, request helpers and
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

    /// <summary>
    /// Gets the host's fake clock (its own, or the one given to <see cref="TracTestHostBuilder.UseTime"/>); time moves
    /// only when the test advances it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The host was given another kind of <see cref="System.TimeProvider"/> (see <see cref="TimeProvider"/>).</exception>
    public FakeTimeProvider Time => _time as FakeTimeProvider
        ?? throw new InvalidOperationException($"This host uses a {_time.GetType().Name}, not a FakeTimeProvider: advance that one.");

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
