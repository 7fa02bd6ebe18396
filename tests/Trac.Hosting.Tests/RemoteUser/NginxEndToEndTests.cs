using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;
using static Trac.Hosting.TestSupport.LoopbackHttp;
using Trac.Hosting.Common;

namespace Trac.Hosting.Tests.RemoteUser;

/// <summary>
/// A real nginx doing <c>auth_basic</c> with an htpasswd file in front of a Kestrel host, passing
/// <c>$remote_user</c> in the trusted header only where it authenticates: the configuration and htpasswd of
/// <c>samples/BehindNginx</c>, copied next to the tests by the build. nginx connects to the app from
/// 127.0.0.2 (<c>proxy_bind</c>, Linux loopback), the only trusted proxy, so a client that goes straight to Kestrel
/// from 127.0.0.1 is not trusted. <c>.ci/run</c> installs nginx when it is missing.
/// </summary>
public sealed class NginxEndToEndTests(NginxEndToEndTests.NginxFixture nginx) : IClassFixture<NginxEndToEndTests.NginxFixture>
{
    [Fact]
    public async Task ValidLogin_ReachesTheDispatchAsTheNormalizedUser()
    {
        var (status, body) = await GetAsync(nginx.NginxPort, "/alpha/login", basic: @"CORP\Alice:secret");

        Assert.Equal(200, status);
        Assert.Equal("user=alice;project=alpha;path=/login", body);
    }

    [Fact]
    public async Task ValidLoginWithAForgedHeader_IsStillTheAuthenticatedUser()
    {
        var (status, body) = await GetAsync(nginx.NginxPort, "/alpha/login", basic: @"CORP\Alice:secret", forgedUser: "admin");

        Assert.Equal(200, status);
        Assert.Equal("user=alice;project=alpha;path=/login", body);
    }

    [Fact]
    public async Task WrongPassword_IsRefusedByNginx()
    {
        var (status, _) = await GetAsync(nginx.NginxPort, "/alpha/login", basic: @"CORP\Alice:wrong");

        Assert.Equal(401, status);
    }

    [Fact]
    public async Task ForgedHeaderAndCredentialsOutsideTheLoginLocation_AreAnonymous()
    {
        // Outside auth_basic, $remote_user would be whatever the client's Authorization header says: never passed on.
        var (status, body) = await GetAsync(nginx.NginxPort, "/alpha/wiki", basic: "admin:anything", forgedUser: "admin");

        Assert.Equal(200, status);
        Assert.Equal("user=-;project=alpha;path=/wiki", body);
    }

    [Fact]
    public async Task ForgedHeaderStraightToKestrel_IsNotTrusted()
    {
        var (status, body) = await GetAsync(nginx.AppPort, "/alpha/wiki", forgedUser: "admin");

        Assert.Equal(200, status);
        Assert.Equal("user=-;project=alpha;path=/wiki", body);
    }

    /// <summary>The app and nginx, started once for the class.</summary>
    public sealed class NginxFixture : IAsyncLifetime, IDisposable
    {
        private const string ProxyAddress = "127.0.0.2";
        private readonly TracTestDirectory _projects = new();
        private readonly StringBuilder _output = new();
        private WebApplication? _app;
        private Process? _nginx;

        public int AppPort { get; private set; }

        public int NginxPort { get; private set; }

        public async Task InitializeAsync()
        {
            _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            builder.Services.AddSingleton<TracProcessEnvironment>(new TestProcessVariables());
            builder.Services.AddTrac(o => o.Environment.ParentDirectory = _projects.Path);
            _app = builder.Build();
            _app.UseTrac(t => t
                .ResolveEnvironment()
                .NormalizeRemoteUser(o =>
                {
                    o.Sources.Add(RemoteUserSource.Header);
                    o.KnownProxies.Add(ProxyAddress);
                    o.Case = RemoteUserCase.Lower;
                    // nginx authenticates the login path itself; the app must not challenge it again.
                    o.ChallengeLoginPaths = false;
                })
                .Dispatch(context => context.Response.WriteAsync(
                    $"user={context.GetRemoteUser() ?? "-"};project={context.GetTracEnvironment()!.Name};path={context.Request.Path.Value}")));
            await _app.StartAsync();
            AppPort = new Uri(_app.Urls.First()).Port;

            // A port picked free can be taken by someone else before nginx binds it: try a few.
            for (var attempt = 1; _nginx is null; attempt++)
            {
                _nginx = await TryStartNginxAsync(attempt == 5);
            }
        }

        public async Task DisposeAsync()
        {
            if (_nginx is { HasExited: false })
            {
                _nginx.Kill(entireProcessTree: true);
                await _nginx.WaitForExitAsync();
            }

            _nginx?.Dispose();
            if (_app is not null)
            {
                await _app.DisposeAsync();
            }
        }

        // xunit calls this after DisposeAsync, once nginx and the app have stopped.
        public void Dispose() => _projects.Dispose();

        private async Task<Process?> TryStartNginxAsync(bool lastAttempt)
        {
            var nginx = new[] { "/usr/sbin/nginx", "/usr/local/sbin/nginx" }.FirstOrDefault(File.Exists)
                ?? throw new InvalidOperationException("nginx is not installed: run .ci/run, which installs it, or 'apt-get install nginx'.");
            var dir = _projects.CreateDirectory(".nginx");
            NginxPort = FreePort();
            File.WriteAllText(Path.Combine(dir, "nginx.conf"), RenderSampleConfiguration(dir));
            var process = new Process
            {
                StartInfo = new ProcessStartInfo(nginx, ["-p", dir, "-e", Path.Combine(dir, "error.log"), "-c", Path.Combine(dir, "nginx.conf")])
                {
                    RedirectStandardError = true,
                    RedirectStandardOutput = true,
                },
            };
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            // Ready when it answers as nginx on its port; bounded, and failing with nginx's own words.
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                if (process.HasExited)
                {
                    await process.WaitForExitAsync();
                    var log = ReadLog(dir);
                    process.Dispose();
                    if (log.Contains("Address already in use", StringComparison.Ordinal) && !lastAttempt)
                    {
                        return null;
                    }

                    throw new InvalidOperationException($"nginx exited: {Output()} {log}");
                }

                if (await AnswersAsNginxAsync(NginxPort))
                {
                    return process;
                }

                await Task.Delay(50);
            }

            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"nginx did not answer on port {NginxPort} within 20 s: {Output()} {ReadLog(dir)}");
        }

        // The configuration samples/BehindNginx ships, rendered as its run.sh renders it, with its htpasswd (CORP\Alice, secret).
        private string RenderSampleConfiguration(string runtime)
        {
            var sample = Path.Combine(AppContext.BaseDirectory, "BehindNginx");
            return File.ReadAllText(Path.Combine(sample, "nginx.conf.template"))
                .Replace("@RUNTIME@", runtime, StringComparison.Ordinal)
                .Replace("@NGINX_PORT@", NginxPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("@APP_PORT@", AppPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("@PROXY_ADDRESS@", ProxyAddress, StringComparison.Ordinal)
                .Replace("@HTPASSWD@", Path.Combine(sample, "htpasswd"), StringComparison.Ordinal);
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.AppendLine(line);
                }
            }
        }

        private string Output()
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }

        private static async Task<bool> AnswersAsNginxAsync(int port)
        {
            try
            {
                using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                using var response = await client.GetAsync($"http://127.0.0.1:{port}/");
                return response.Headers.Server.ToString().Contains("nginx", StringComparison.OrdinalIgnoreCase);
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException)
            {
                return false;
            }
        }

        private static string ReadLog(string dir) =>
            File.Exists(Path.Combine(dir, "error.log")) ? File.ReadAllText(Path.Combine(dir, "error.log")) : string.Empty;
    }
}
