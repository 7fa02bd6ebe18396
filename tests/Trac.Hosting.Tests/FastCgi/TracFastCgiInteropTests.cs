using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Trac.Hosting.FastCgi;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.FastCgi;

/// <summary>The FastCGI client against Trac's own FastCGI server, a real Python process with a real environment.</summary>
public sealed class TracFastCgiInteropTests : IDisposable
{
    private readonly TracTestDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task WikiPage_ThroughTheClient_IsTracsPage_WithLinksUnderTheProject()
    {
        var environment = Path.Combine(_directory.Path, "alpha");
        await RealTrac.CreateEnvironmentAsync(environment, "Alpha Project");
        var socketDirectory = Directory.CreateDirectory(Path.Combine(_directory.Path, "sockets"));
        var socketPath = Path.Combine(socketDirectory.FullName, "trac.sock");
        using var trac = Process.Start(RealTrac.StartInfo("-c", RealTrac.FastCgiServerScript, socketPath))!;
        var errors = new StringBuilder();
        trac.ErrorDataReceived += (_, e) => { lock (errors) { errors.AppendLine(e.Data); } };
        trac.BeginErrorReadLine();
        try
        {
            var ready = await trac.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(ready == "ready", $"Trac's FastCGI server did not start: {errors}");

            var output = new MemoryStream();
            var stderr = new FastCgiErrorOutput(64 * 1024);
            await using var connection = await FastCgiConnection.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), CancellationToken.None);
            var parameters = new Dictionary<string, string>
            {
                ["REQUEST_METHOD"] = "GET",
                ["SCRIPT_NAME"] = "/alpha",
                ["PATH_INFO"] = "/wiki/WikiStart",
                ["QUERY_STRING"] = "",
                ["SERVER_NAME"] = "localhost",
                ["SERVER_PORT"] = "80",
                ["SERVER_PROTOCOL"] = "HTTP/1.1",
                ["REMOTE_ADDR"] = "127.0.0.1",
                ["HTTP_HOST"] = "localhost",
                ["trac.env_path"] = environment,
                ["REMOTE_USER"] = "alice",
            };

            var (status, protocol) = await connection.ExecuteAsync(
                parameters, body: null, piece =>
                {
                    foreach (var segment in piece)
                    {
                        output.Write(segment.Span);
                    }

                    return ValueTask.CompletedTask;
                },
                stderr, keepConnection: true, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

            var response = Encoding.UTF8.GetString(output.ToArray());
            Assert.True((status, protocol) == (0, FastCgiProtocolStatus.RequestComplete), $"{status} {protocol}: {stderr}");
            Assert.StartsWith("Status: 200 Ok", response, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("Content-Type: text/html", response, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("Alpha Project", response, StringComparison.Ordinal);
            Assert.Contains("logged in as", response, StringComparison.Ordinal);
            Assert.Contains("alice", response, StringComparison.Ordinal);
            Assert.Contains("href=\"/alpha/wiki", response, StringComparison.Ordinal);
        }
        finally
        {
            trac.Kill(entireProcessTree: true);
            await trac.WaitForExitAsync();
        }

        Assert.True(trac.HasExited);
    }
}
