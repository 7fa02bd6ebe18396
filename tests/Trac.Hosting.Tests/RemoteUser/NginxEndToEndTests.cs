using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.RemoteUser;

/// <summary>
/// A real nginx doing <c>auth_basic</c> with an htpasswd file in front of a Kestrel host, passing
/// <c>$remote_user</c> in the trusted header only where it authenticates. nginx connects to the app from
/// 127.0.0.2, the only trusted proxy, so a client that goes straight to Kestrel (from 127.0.0.1) is not trusted.
/// <c>.ci/run</c> installs nginx when it is missing.
/// </summary>
public sealed class NginxEndToEndTests : IAsyncLifetime, IDisposable
{
    private const string ProxyAddress = "127.0.0.2";
    private readonly TracTestDirectory _projects = new();
    private WebApplication? _app;
    private Process? _nginx;
    private int _appPort;
    private int _nginxPort;

    public async Task InitializeAsync()
    {
        _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<TracProcessEnvironment>(new TestHosts.FakeProcessEnvironment());
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
        _appPort = new Uri(_app.Urls.First()).Port;
        _nginx = await StartNginxAsync();
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

    [Fact]
    public async Task ValidLogin_ReachesTheDispatchAsTheNormalizedUser()
    {
        var (status, body) = await GetAsync(_nginxPort, "/alpha/login", basic: @"CORP\Alice:secret");

        Assert.Equal(200, status);
        Assert.Equal("user=alice;project=alpha;path=/login", body);
    }

    [Fact]
    public async Task WrongPassword_IsRefusedByNginx()
    {
        var (status, _) = await GetAsync(_nginxPort, "/alpha/login", basic: @"CORP\Alice:wrong");

        Assert.Equal(401, status);
    }

    [Fact]
    public async Task ForgedHeaderAndCredentialsOutsideTheLoginLocation_AreAnonymous()
    {
        // Outside auth_basic, $remote_user would be whatever the client's Authorization header says: never passed on.
        var (status, body) = await GetAsync(_nginxPort, "/alpha/wiki", basic: "admin:anything", forgedUser: "admin");

        Assert.Equal(200, status);
        Assert.Equal("user=-;project=alpha;path=/wiki", body);
    }

    [Fact]
    public async Task ForgedHeaderStraightToKestrel_IsNotTrusted()
    {
        var (status, body) = await GetAsync(_appPort, "/alpha/wiki", forgedUser: "admin");

        Assert.Equal(200, status);
        Assert.Equal("user=-;project=alpha;path=/wiki", body);
    }

    private async Task<Process> StartNginxAsync()
    {
        var nginx = new[] { "/usr/sbin/nginx", "/usr/local/sbin/nginx" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nginx is not installed: run .ci/run, which installs it, or 'apt-get install nginx'.");
        var dir = _projects.CreateDirectory(".nginx");
        // An htpasswd file in the {SHA} format htpasswd -s writes, which nginx reads; a throwaway test credential.
#pragma warning disable CA5350
        var hash = Convert.ToBase64String(SHA1.HashData(Encoding.UTF8.GetBytes("secret")));
#pragma warning restore CA5350
        File.WriteAllText(Path.Combine(dir, "htpasswd"), $"CORP\\Alice:{{SHA}}{hash}\n");
        _nginxPort = FreePort();
        File.WriteAllText(Path.Combine(dir, "nginx.conf"), $$"""
            daemon off;
            master_process off;
            error_log {{dir}}/error.log warn;
            pid {{dir}}/nginx.pid;
            events { worker_connections 64; }
            http {
                access_log off;
                client_body_temp_path {{dir}}/body;
                proxy_temp_path {{dir}}/proxy;
                fastcgi_temp_path {{dir}}/fastcgi;
                uwsgi_temp_path {{dir}}/uwsgi;
                scgi_temp_path {{dir}}/scgi;
                upstream app { server 127.0.0.1:{{_appPort}}; }
                server {
                    listen 127.0.0.1:{{_nginxPort}};
                    proxy_bind {{ProxyAddress}};
                    location ~ ^/[^/]+/login {
                        auth_basic "Trac";
                        auth_basic_user_file {{dir}}/htpasswd;
                        proxy_set_header X-Remote-User $remote_user;
                        proxy_pass http://app;
                    }
                    location / {
                        proxy_set_header X-Remote-User "";
                        proxy_pass http://app;
                    }
                }
            }
            """);
        var process = Process.Start(new ProcessStartInfo(nginx, ["-p", dir, "-e", Path.Combine(dir, "error.log"), "-c", Path.Combine(dir, "nginx.conf")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;

        // Ready when it accepts connections; bounded, and failing with nginx's own words.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"nginx exited: {await process.StandardError.ReadToEndAsync()} {ReadLog(dir)}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, _nginxPort);
                return process;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(50);
            }
        }
    }

    private static string ReadLog(string dir) =>
        File.Exists(Path.Combine(dir, "error.log")) ? File.ReadAllText(Path.Combine(dir, "error.log")) : string.Empty;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<(int Status, string Body)> GetAsync(int port, string path, string? basic = null, string? forgedUser = null)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}{path}");
        if (basic is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)));
        }

        if (forgedUser is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Remote-User", forgedUser);
        }

        using var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
