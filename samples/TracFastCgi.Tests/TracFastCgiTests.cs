using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TracFastCgi.Tests;

/// <summary>
/// The sample as a user runs it: on an empty parent directory it creates the demo projects with real
/// <c>trac-admin initenv</c>, serves them through real Trac processes, logs in the demo htpasswd file's user, says
/// where to browse, and when the host is killed (no chance to stop anything) its Trac processes go with it.
/// </summary>
public sealed class TracFastCgiTests : IDisposable
{
    private readonly string _parent = Path.Combine(Path.GetTempPath(), "trac-sample-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        if (Directory.Exists(_parent))
        {
            Directory.Delete(_parent, recursive: true);
        }
    }

    [Fact]
    public async Task FirstRun_CreatesTheProjects_ServesRealTrac_AndItsTracProcessesDieWithTheHost()
    {
        var port = FreePort();
        var browse = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var preloaded = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = Start(port, browse, preloaded);
        var tracProcesses = new List<int>();
        try
        {
            var line = await browse.Task.WaitAsync(TimeSpan.FromMinutes(3));
            // Trac:Workers:Preload starts both projects' Trac processes before any request for them.
            var preload = await preloaded.Task.WaitAsync(TimeSpan.FromMinutes(2));
            var warmProcesses = TracProcesses();
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromMinutes(1) };
            var health = await client.GetStringAsync("/healthz");
            using var ready = await client.GetAsync("/healthz/ready");
            var index = await client.GetStringAsync("/");
            using var request = new HttpRequestMessage(HttpMethod.Get, "/demo/wiki/WikiStart");
            request.Headers.TryAddWithoutValidation("X-Remote-User", @"CORP\Alice");
            using var page = await client.SendAsync(request);
            var body = await page.Content.ReadAsStringAsync();
            // The demo htpasswd file's user logs in at /demo/login; Trac keeps the login in its cookie.
            using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() })
            {
                BaseAddress = client.BaseAddress,
                Timeout = TimeSpan.FromMinutes(1),
            };
            using var challenge = await browser.GetAsync("/demo/login");
            using var login = new HttpRequestMessage(HttpMethod.Get, "/demo/login");
            login.Headers.Authorization = new("Basic", Convert.ToBase64String("alice:alice"u8.ToArray()));
            using var loggedIn = await browser.SendAsync(login);
            var afterLogin = await browser.GetStringAsync("/demo/wiki/WikiStart");
            tracProcesses.AddRange(TracProcesses());

            Assert.Contains($"http://127.0.0.1:{port}/", line, StringComparison.Ordinal);
            Assert.Contains("Started the workers of 2 project(s)", preload, StringComparison.Ordinal);
            Assert.Contains("0 could not start", preload, StringComparison.Ordinal);
            Assert.Equal(2, warmProcesses.Count);
            Assert.Equal("Healthy", health);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Contains("Demo Project", index, StringComparison.Ordinal);
            Assert.Contains("Sandbox", index, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(_parent, "demo", "VERSION")), "the demo project was not created with trac-admin initenv");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("logged in as <span class=\"trac-author-user\">alice</span>", body, StringComparison.Ordinal);
            Assert.Contains("href=\"/demo/wiki/", body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
            Assert.Equal("Basic realm=\"Trac demo\", charset=\"UTF-8\"", challenge.Headers.WwwAuthenticate.ToString());
            Assert.True(loggedIn.StatusCode is HttpStatusCode.SeeOther or HttpStatusCode.Found, $"the login answered {loggedIn.StatusCode}");
            Assert.Contains("logged in as <span class=\"trac-author-user\">alice</span>", afterLogin, StringComparison.Ordinal);
            Assert.NotEmpty(tracProcesses);

            host.Kill();
            await host.WaitForExitAsync();
            foreach (var pid in tracProcesses)
            {
                await WaitForExitAsync(pid);
            }

            Assert.Empty(TracProcesses());
        }
        finally
        {
            if (!host.HasExited)
            {
                host.Kill(entireProcessTree: true);
                await host.WaitForExitAsync();
            }

            foreach (var pid in TracProcesses())
            {
                try
                {
                    using var left = Process.GetProcessById(pid);
                    left.Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    // Gone meanwhile.
                }
            }
        }
    }

    private Process Start(int port, TaskCompletionSource<string> browse, TaskCompletionSource<string> preloaded)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "TracFastCgi.dll"), "--urls", $"http://127.0.0.1:{port}",
            $"--Trac:Environment:ParentDirectory={_parent}", "--Logging:Console:FormatterName=simple",
        })
        {
            start.ArgumentList.Add(argument);
        }

        if (Environment.GetEnvironmentVariable("TRAC_PYTHON") is { Length: > 0 } python)
        {
            start.ArgumentList.Add($"--Trac:Python:Python={python}");
        }

        var process = new Process { StartInfo = start };
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data?.Contains("Browse to", StringComparison.Ordinal) == true)
            {
                browse.TrySetResult(e.Data);
            }

            if (e.Data?.Contains("Started the workers of", StringComparison.Ordinal) == true)
            {
                preloaded.TrySetResult(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.Exited += (_, _) =>
        {
            lock (output)
            {
                browse.TrySetException(new InvalidOperationException("The sample exited before it said where to browse:\n" + output));
                preloaded.TrySetException(new InvalidOperationException("The sample exited before its workers were preloaded:\n" + output));
            }
        };
        process.EnableRaisingEvents = true;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The Trac processes serving this test's projects (their environment names the parent directory).</summary>
    private List<int> TracProcesses() =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => (Pid: int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0, Directory: d))
            .Where(p => p.Pid > 0 && Mentions(p.Directory))
            .Select(p => p.Pid)
            .ToList();

    private bool Mentions(string directory)
    {
        try
        {
            return File.ReadAllText(Path.Combine(directory, "cmdline")).Contains("trac-fastcgi-listening", StringComparison.Ordinal) &&
                File.ReadAllText(Path.Combine(directory, "environ")).Contains(_parent, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task WaitForExitAsync(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (ArgumentException)
        {
            // Gone already.
        }
    }

    private static int FreePort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}
