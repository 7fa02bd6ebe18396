using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Login;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Benchmarks;

/// <summary>
/// What a request to <c>/alpha/login</c> with credentials costs, through the environment and remote-user stages on a
/// test server: a bcrypt htpasswd file (cost 10, as <c>htpasswd -B -C 10</c> writes) checked every time, the same with
/// verified logins remembered (the default), an <c>$apr1$</c> file, a <c>$6$</c> file (<c>htpasswd -5</c>'s 5,000 rounds), and a Digest answer against an htdigest file. The
/// baseline is the same request to a page that asks for no login.
/// </summary>
[MemoryDiagnoser]
public class LoginBenchmarks
{
    private readonly List<TracTestHost> _hosts = [];
    private TracTestDirectory _projects = null!;
    private TracTestDirectory _files = null!;
    private TracTestHost _bcrypt = null!;
    private TracTestHost _bcryptRemembered = null!;
    private TracTestHost _md5 = null!;
    private TracTestHost _sha512 = null!;
    private TracTestHost _digest = null!;
    private string _nonce = null!;
    private int _count;

    [GlobalSetup]
    public void Setup()
    {
        _projects = new TracTestDirectory("trac-bench-");
        _projects.CreateEnvironment("alpha");
        _files = new TracTestDirectory("trac-bench-");
        var bcrypt = Write("bcrypt", "alice:" + BCrypt.Net.BCrypt.HashPassword("pw", 10).Replace("$2a$", "$2y$", StringComparison.Ordinal));
        var md5 = Write("md5", "alice:" + Md5Crypt.Compute("pw", "$apr1$", "q5Lx2b0e"));
        var sha512 = Write("sha512", "alice:" + ShaCrypt.Compute("pw", "$6$q5Lx2b0eAbCdEfGh$"));
        var digest = Write("digest", "alice:Trac:" + Digest.Md5Hex("alice:Trac:pw"));
        _bcrypt = Start(bcrypt, PasswordFileFormat.Htpasswd, TimeSpan.Zero);
        _bcryptRemembered = Start(bcrypt, PasswordFileFormat.Htpasswd, TimeSpan.FromMinutes(2));
        _md5 = Start(md5, PasswordFileFormat.Htpasswd, TimeSpan.Zero);
        _sha512 = Start(sha512, PasswordFileFormat.Htpasswd, TimeSpan.Zero);
        _digest = Start(digest, PasswordFileFormat.Htdigest, TimeSpan.Zero);
        var challenge = _digest.Request("alpha", "/login").SendAsync().GetAwaiter().GetResult().Headers["WWW-Authenticate"];
        var start = challenge.IndexOf("nonce=\"", StringComparison.Ordinal) + 7;
        _nonce = challenge[start..challenge.IndexOf('"', start)];
        foreach (var check in new[] { BcryptEveryTime(), BcryptRemembered(), Md5EveryTime(), Sha512EveryTime(), DigestAnswer() })
        {
            var response = check.GetAwaiter().GetResult();
            if (response.StatusCode != 200)
            {
                throw new InvalidOperationException($"The warm-up login failed: {response.StatusCode} {response.Body}");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var host in _hosts)
        {
            host.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _projects.Dispose();
        _files.Dispose();
    }

    [Benchmark(Baseline = true, Description = "No login (/alpha/wiki)")]
    public Task<TracTestResponse> NoLogin() => _md5.Request("alpha", "/wiki").SendAsync();

    [Benchmark(Description = "Basic, bcrypt cost 10, checked every time")]
    public Task<TracTestResponse> BcryptEveryTime() => Basic(_bcrypt);

    [Benchmark(Description = "Basic, bcrypt cost 10, verified logins remembered")]
    public Task<TracTestResponse> BcryptRemembered() => Basic(_bcryptRemembered);

    [Benchmark(Description = "Basic, $apr1$, checked every time")]
    public Task<TracTestResponse> Md5EveryTime() => Basic(_md5);

    [Benchmark(Description = "Basic, SHA-512 crypt (5,000 rounds), checked every time")]
    public Task<TracTestResponse> Sha512EveryTime() => Basic(_sha512);

    [Benchmark(Description = "Digest, a new nonce count each time")]
    public Task<TracTestResponse> DigestAnswer()
    {
        var nc = (++_count).ToString("x8", CultureInfo.InvariantCulture);
        var response = Digest.Md5Hex($"{Digest.Md5Hex("alice:Trac:pw")}:{_nonce}:{nc}:c0ffee:auth:{Digest.Md5Hex("GET:/alpha/login")}");
        return _digest.Request("alpha", "/login")
            .WithHeader("Authorization", $"Digest username=\"alice\", realm=\"Trac\", nonce=\"{_nonce}\", uri=\"/alpha/login\", qop=auth, nc={nc}, cnonce=\"c0ffee\", response=\"{response}\"")
            .SendAsync();
    }

    private static Task<TracTestResponse> Basic(TracTestHost host) =>
        host.Request("alpha", "/login").WithHeader("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:pw"))).SendAsync();

    private string Write(string name, string line)
    {
        var path = Path.Combine(_files.Path, name);
        File.WriteAllText(path, line + "\n");
        return path;
    }

    private TracTestHost Start(string file, PasswordFileFormat format, TimeSpan remembered)
    {
        var host = TracTestHost.CreateBuilder(_projects)
            .UseTime(TimeProvider.System)
            .ConfigureTrac(o =>
            {
                o.Login.Files["*"] = new() { Path = file, Format = format };
                o.Login.VerifiedLoginLifetime = remembered;
                // One nonce serves the whole run.
                o.Login.NonceLifetime = TimeSpan.FromHours(1);
            })
            .ConfigureServices(s => s.AddAuthentication().AddTracLogin())
            .UseTrac(trac => trac.ResolveEnvironment().NormalizeRemoteUser().Dispatch(static _ => Task.CompletedTask))
            .StartAsync().GetAwaiter().GetResult();
        _hosts.Add(host);
        return host;
    }
}
