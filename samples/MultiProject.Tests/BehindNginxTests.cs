using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using static Trac.Hosting.TestSupport.LoopbackHttp;

namespace MultiProject.Tests;

/// <summary>
/// <c>samples/BehindNginx/run.sh</c> (copied next to the tests with its nginx template and htpasswd) in front of this
/// sample, as a user runs it: nginx checks the password on the login path and passes the user, nothing else can
/// claim one, and stopping the script stops nginx and the app. Needs nginx, which <c>.ci/run</c> installs.
/// </summary>
public sealed class BehindNginxTests
{
    [Fact]
    public async Task RunScript_PutsNginxInFrontOfTheApp_AndStopsBothOnExit()
    {
        var nginxPort = FreePort();
        var appPort = FreePort();
        using var script = StartScript(nginxPort, appPort, out var output);
        try
        {
            await WaitUntilServedAsync(script, nginxPort, output);

            var login = await GetAsync(nginxPort, "/acme/login", basic: @"CORP\Alice:secret");
            var wrongPassword = await GetAsync(nginxPort, "/acme/login", basic: @"CORP\Alice:wrong");
            var forged = await GetAsync(nginxPort, "/acme/", forgedUser: "admin");
            var straightToTheApp = await GetAsync(appPort, "/acme/", forgedUser: "admin");

            Assert.Equal((200, "alice"), (login.Status, RemoteUser(login.Body)));
            Assert.Equal(401, wrongPassword.Status);
            Assert.Equal((200, "anonymous"), (forged.Status, RemoteUser(forged.Body)));
            Assert.Equal((200, "anonymous"), (straightToTheApp.Status, RemoteUser(straightToTheApp.Body)));

            await StopAsync(script);

            Assert.False(await AcceptsConnectionsAsync(nginxPort), "nginx still listens after the script ended");
            Assert.False(await AcceptsConnectionsAsync(appPort), "the app still listens after the script ended");
        }
        finally
        {
            if (!script.HasExited)
            {
                script.Kill(entireProcessTree: true);
            }
        }
    }

    private static Process StartScript(int nginxPort, int appPort, out StringBuilder output)
    {
        var directory = AppContext.BaseDirectory;
        var start = new ProcessStartInfo("bash", [Path.Combine(directory, "BehindNginx", "run.sh"), "dotnet", Path.Combine(directory, "MultiProject.dll")])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["NGINX_PORT"] = nginxPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["APP_PORT"] = appPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var lines = new StringBuilder();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(lines, e.Data);
        process.ErrorDataReceived += (_, e) => Append(lines, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        output = lines;
        return process;
    }

    // nginx and the app are other processes: ready when the index comes through nginx; bounded, failing with their output.
    private static async Task WaitUntilServedAsync(Process script, int nginxPort, StringBuilder output)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (script.HasExited)
            {
                await script.WaitForExitAsync();
                Assert.Fail($"run.sh ended with {script.ExitCode}:\n{Read(output)}");
            }

            try
            {
                var index = await GetAsync(nginxPort, "/");
                if (index.Status == 200 && index.Body.Contains("Available Projects", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet, or nginx is up and the app is not (502).
            }

            await Task.Delay(100);
        }

        Assert.Fail($"nginx did not serve the index within 60 s:\n{Read(output)}");
    }

    // What Ctrl+C or a service manager does: a signal to the script, whose trap stops nginx and the app.
    private static async Task StopAsync(Process script)
    {
        using (var kill = Process.Start("kill", ["-TERM", script.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await script.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(143, script.ExitCode);
    }

    private static string RemoteUser(string page) =>
        Regex.Match(page, "<dd id=\"remote-user\">([^<]*)</dd>", RegexOptions.None, TimeSpan.FromSeconds(1)).Groups[1].Value;

    private static async Task<bool> AcceptsConnectionsAsync(int port)
    {
        using var socket = new TcpClient();
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static void Append(StringBuilder lines, string? line)
    {
        if (line is not null)
        {
            lock (lines)
            {
                lines.AppendLine(line);
            }
        }
    }

    private static string Read(StringBuilder lines)
    {
        lock (lines)
        {
            return lines.ToString();
        }
    }
}
