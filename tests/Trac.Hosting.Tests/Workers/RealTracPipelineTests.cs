using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Trac.Hosting.FastCgi;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>
/// Real Trac behind every stage, on real Kestrel sockets: what a user of the FastCGI guide would check by hand after
/// moving a site (pages, logins, forms, attachments, static files, plugins), and what the host promises besides
/// (recycles under load, a killed process, hostile headers, a command that cannot start).
/// </summary>
[Collection(RealTracTests.Name)]
public sealed partial class RealTracPipelineTests(TracTemplate template) : IDisposable
{
    /// <summary>A Trac plugin of one file: <c>/echo-environ</c> answers with the request's and the process's variables, and its version.</summary>
    private const string EchoPlugin = """
        import os
        from trac.core import Component, implements
        from trac.web.api import IRequestHandler

        class EchoEnviron(Component):
            implements(IRequestHandler)

            def match_request(self, req):
                return req.path_info == '/echo-environ'

            def process_request(self, req):
                lines = ['%s=%s' % (k, v) for k, v in sorted(req.environ.items())
                         if k.startswith('HTTP_') or k in ('REMOTE_USER', 'AUTH_TYPE', 'SCRIPT_NAME', 'PATH_INFO', 'trac.env_path')]
                for name in ('PYTHON_EGG_CACHE', 'TRAC_ENV', 'LC_TIME'):
                    lines.append('process.%s=%s' % (name, os.environ.get(name, '')))
                lines.append('abs_href=%s' % self.env.abs_href())
                lines.append('plugin=VERSION')
                req.send(('\n'.join(lines) + '\n').encode('utf-8'), 'text/plain', 200)
        """;

    private readonly TracTestDirectory _projects = new();
    private readonly TracTestDirectory _run = new();

    public void Dispose()
    {
        _projects.Dispose();
        _run.Dispose();
    }

    [Fact]
    public async Task WikiPage_ThroughEveryStage_IsForTheTrustedUser_WithLinksUnderTheProject_AndTheGuidesVariables()
    {
        CreateProjects("alpha");
        WriteEchoPlugin("alpha", "one");
        await using var host = await StartAsync();
        using var client = Client(host);

        var page = await GetAsync(client, "/alpha/wiki/WikiStart", user: @"CORP\Alice");
        var echo = await GetAsync(client, "/alpha/echo-environ", user: @"CORP\Alice");

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Matches(@"<title>\s*Alpha Project\s*</title>", page.Body);
        Assert.Contains("logged in as <span class=\"trac-author-user\">alice</span>", page.Body, StringComparison.Ordinal);
        Assert.Contains("href=\"/alpha/wiki/", page.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"/wiki/", page.Body, StringComparison.Ordinal);
        var variables = Variables(echo.Body);
        Assert.Equal("alice", variables["REMOTE_USER"]);
        Assert.Equal("/alpha", variables["SCRIPT_NAME"]);
        Assert.Equal("/echo-environ", variables["PATH_INFO"]);
        Assert.Equal(Path.Combine(_projects.Path, "alpha"), variables["trac.env_path"]);
        Assert.Equal(Path.Combine(_projects.Path, "alpha"), variables["process.TRAC_ENV"]);
        Assert.Equal(Path.Combine(_projects.Path, ".egg-cache"), variables["process.PYTHON_EGG_CACHE"]);
        Assert.Equal("C.UTF-8", variables["process.LC_TIME"]);
        // Trac's absolute links (its notifications') come from the first real request, not from the host's warm-up.
        Assert.Equal(new Uri(host.BaseAddress!, "/alpha").ToString(), variables["abs_href"]);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
                File.GetUnixFileMode(Path.Combine(_projects.Path, ".egg-cache")));
        }
    }

    [Fact]
    public async Task HostileHeaderNames_AreNotForwarded_AndAClientCannotNameTheUser()
    {
        CreateProjects("alpha");
        WriteEchoPlugin("alpha", "one");
        await using var host = await StartAsync();
        using var client = Client(host);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/alpha/echo-environ");
        request.Headers.TryAddWithoutValidation("Proxy", "http://attacker.example:8080");
        request.Headers.TryAddWithoutValidation("X-Forwarded-User", "mallory");
        request.Headers.TryAddWithoutValidation("X-Remote_User", "mallory");
        request.Headers.TryAddWithoutValidation("Remote-User", "mallory");
        request.Headers.TryAddWithoutValidation("X-Custom", "kept");

        using var response = await client.SendAsync(request);
        var variables = Variables(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(variables.ContainsKey("HTTP_PROXY"), "a Proxy header must not become HTTP_PROXY (httpoxy)");
        Assert.False(variables.ContainsKey("HTTP_X_REMOTE_USER"));
        Assert.False(variables.ContainsKey("REMOTE_USER"), "an anonymous request has no REMOTE_USER, whatever its headers say");
        Assert.Equal("mallory", variables["HTTP_REMOTE_USER"]);
        Assert.Equal("kept", variables["HTTP_X_CUSTOM"]);
    }

    [Fact]
    public async Task WikiEdit_ByFormPostWithTracsFormToken_IsReadBack()
    {
        CreateProjects("alpha");
        await using var host = await StartAsync();
        using var client = Client(host);

        var editor = await GetAsync(client, "/alpha/wiki/HostedPage?action=edit", user: "alice");
        var token = FormToken(editor.Body);
        var saved = await PostAsync(client, "/alpha/wiki/HostedPage", "alice", new MultipartFormDataContent
        {
            { new StringContent(token), "__FORM_TOKEN" },
            { new StringContent("edit"), "action" },
            { new StringContent("0"), "version" },
            { new StringContent("= Hosted =\nWritten through the '''FastCGI''' hop: äöü."), "text" },
            { new StringContent("first edit"), "comment" },
            { new StringContent("Submit changes"), "save" },
        });
        var read = await GetAsync(client, "/alpha/wiki/HostedPage", user: "alice");
        var withoutToken = await PostAsync(client, "/alpha/wiki/HostedPage", "alice", new FormUrlEncodedContent(
            [new("action", "edit"), new("version", "1"), new("text", "overwritten"), new("save", "Submit changes")]));

        Assert.Equal(HttpStatusCode.SeeOther, saved.Status);
        Assert.EndsWith("/alpha/wiki/HostedPage", saved.Location, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Contains("<strong>FastCGI</strong> hop: äöü.", read.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, withoutToken.Status);
        Assert.DoesNotContain("overwritten", (await GetAsync(client, "/alpha/wiki/HostedPage", user: "alice")).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FiveMegabyteAttachment_IsUploaded_AndDownloadedByteIdentical()
    {
        CreateProjects("alpha");
        await using var host = await StartAsync();
        using var client = Client(host);
        var bytes = new byte[5 * 1024 * 1024];
        new Random(15).NextBytes(bytes);

        var form = await GetAsync(client, "/alpha/attachment/wiki/WikiStart/?action=new", user: "alice");
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var uploaded = await PostAsync(client, "/alpha/attachment/wiki/WikiStart/?action=new", "alice", new MultipartFormDataContent
        {
            { new StringContent(FormToken(form.Body)), "__FORM_TOKEN" },
            { new StringContent("new"), "action" },
            { file, "attachment", "blob.bin" },
            { new StringContent("five megabytes"), "description" },
        });
        using var download = new HttpRequestMessage(HttpMethod.Get, "/alpha/raw-attachment/wiki/WikiStart/blob.bin");
        download.Headers.Add("X-Remote-User", "alice");
        using var downloaded = await client.SendAsync(download);

        Assert.Equal(HttpStatusCode.SeeOther, uploaded.Status);
        Assert.Equal(HttpStatusCode.OK, downloaded.StatusCode);
        Assert.Equal(bytes, await downloaded.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task StaticResources_AreServedByTheHost_WithValidators_AndRanges_AndTraversalIsRefused()
    {
        CreateProjects("alpha");
        Directory.CreateDirectory(Path.Combine(_projects.Path, "alpha", "htdocs"));
        await File.WriteAllTextAsync(Path.Combine(_projects.Path, "alpha", "htdocs", "logo.txt"), "the site's own logo");
        await using var host = await StartAsync();
        using var client = Client(host);

        using var css = await client.GetAsync("/alpha/chrome/common/css/trac.css");
        var etag = css.Headers.ETag;
        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/alpha/chrome/common/css/trac.css");
        conditional.Headers.IfNoneMatch.Add(etag!);
        using var notModified = await client.SendAsync(conditional);
        using var ranged = new HttpRequestMessage(HttpMethod.Get, "/alpha/chrome/common/css/trac.css");
        ranged.Headers.Range = new RangeHeaderValue(0, 9);
        using var partial = await client.SendAsync(ranged);
        var site = await client.GetStringAsync("/alpha/chrome/site/logo.txt");
        var started = host.Workers.Serving("alpha");
        using var traversal = await client.GetAsync("/alpha/chrome/site/..%2F..%2Fconf%2Ftrac.ini");
        using var dotted = await client.GetAsync("/alpha/chrome/common/%2E%2E/%2E%2E/VERSION");

        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.Equal("text/css", css.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(etag);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(10, (await partial.Content.ReadAsByteArrayAsync()).Length);
        Assert.Equal("the site's own logo", site);
        Assert.Equal(HttpStatusCode.NotFound, traversal.StatusCode);
        Assert.DoesNotContain("[trac]", await traversal.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, dotted.StatusCode);
        Assert.Null(started);
    }

    [Fact]
    public async Task PluginPyDroppedIntoThePluginsFolder_TakesEffect_WithoutARestart()
    {
        CreateProjects("alpha");
        await using var host = await StartAsync();
        using var client = Client(host);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(client, "/alpha/echo-environ")).Status);

        var added = host.Workers.WaitForRecycleAsync("alpha", TimeSpan.FromSeconds(60));
        WriteEchoPlugin("alpha", "one");
        await added;
        var first = await GetAsync(client, "/alpha/echo-environ");
        var changed = host.Workers.WaitForRecycleAsync("alpha", TimeSpan.FromSeconds(60));
        WriteEchoPlugin("alpha", "second");
        await changed;
        var second = await GetAsync(client, "/alpha/echo-environ");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal("one", Variables(first.Body)["plugin"]);
        Assert.Equal("second", Variables(second.Body)["plugin"]);
        Assert.True(host.Workers.Serving("alpha")?.Generation >= 3);
        Assert.True(host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.PluginsChanged)) >= 2);
    }

    [Fact]
    public async Task RecycleUnderConcurrentLoad_FailsNoRequest_AndTheGenerationsAdvance()
    {
        CreateProjects("alpha", "beta");
        await using var host = await StartAsync(workers => workers.MaxRequests = 30);
        using var client = Client(host);
        var statuses = new List<HttpStatusCode>();

        await Parallel.ForEachAsync(Enumerable.Range(0, 160), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, cancellationToken) =>
        {
            using var response = await client.GetAsync(i % 2 == 0 ? "/alpha/wiki/WikiStart" : "/beta/wiki/WikiStart", cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            lock (statuses)
            {
                statuses.Add(response.IsSuccessStatusCode && body.Contains("</html>", StringComparison.Ordinal) ? response.StatusCode : 0);
            }
        });

        Assert.Equal(160, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.True(host.Workers.Serving("alpha")?.Generation >= 2, $"alpha is at generation {host.Workers.Serving("alpha")?.Generation}");
        Assert.True(host.Workers.Serving("beta")?.Generation >= 2, $"beta is at generation {host.Workers.Serving("beta")?.Generation}");
        Assert.True(host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.MaximumRequests)) >= 2);
    }

    [Fact]
    public async Task KilledTracProcess_FailsOnlyItsInFlightRequest_WithA502_OthersWaitForTheReplacement()
    {
        CreateProjects("alpha", "beta");
        var dispatched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(dispatching: context =>
        {
            if (Microsoft.AspNetCore.Http.HttpMethods.IsPost(context.Request.Method))
            {
                dispatched.TrySetResult();
            }
        });
        using var client = Client(host);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/alpha/wiki/WikiStart")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/beta/wiki/WikiStart")).Status);
        var alpha = Assert.Single(RealTrac.Processes(Path.Combine(_projects.Path, "alpha")));

        // A request in flight in the alpha process: its body is held back until the process is gone.
        var body = new HeldBackContent();
        var inFlight = client.PostAsync("/alpha/wiki/WikiStart", body);
        await body.Started.WaitAsync(TimeSpan.FromSeconds(30));
        await dispatched.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var crashed = host.Workers.WaitForRecycleAsync("alpha", TimeSpan.FromSeconds(60));
        using (var process = System.Diagnostics.Process.GetProcessById(alpha))
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        await crashed;
        var afterCrash = GetAsync(client, "/alpha/wiki/WikiStart");
        var beta = await GetAsync(client, "/beta/wiki/WikiStart");
        body.Release();
        using var failed = await inFlight;

        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        Assert.StartsWith("Bad Gateway", await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, beta.Status);
        Assert.Equal(HttpStatusCode.OK, (await afterCrash).Status);
        Assert.Equal(2, host.Workers.Serving("alpha")?.Generation);
        Assert.Equal(1, host.Workers.Serving("beta")?.Generation);
        Assert.Equal(1, host.Metrics.Sum("trac.worker.recycles", ("trac.worker.recycle.reason", WorkerRecycleReasons.Crashed)));
        Assert.DoesNotContain(alpha, RealTrac.Processes(Path.Combine(_projects.Path, "alpha")));
    }

    [Fact]
    public async Task CommandThatCannotStart_Gets503WithRetryAfter_AndALogNamingTheCommand()
    {
        CreateProjects("alpha");
        var missing = Path.Combine(_run.Path, "no-such-python");
        // On the real clock: each attempt's timeout and the retries' back-off pass while the processes really run.
        await using (var host = await StartAsync(python: o => o.Python = missing, time: TimeProvider.System))
        {
            using var client = Client(host);
            using var response = await client.GetAsync("/alpha/wiki/WikiStart");

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            var log = Assert.Single(host.Logs.Entries, e => e.Id.Name == "WorkerStartFailed");
            Assert.Contains(missing, log.Message, StringComparison.Ordinal);
            Assert.Contains("Trac:Python:Python", log.Message, StringComparison.Ordinal);
        }

        // A command that starts but is not Trac's server: it exits, and what it wrote to stderr is in the log.
        await using (var host = await StartAsync(python: o => o.Python = "sh", time: TimeProvider.System))
        {
            using var client = Client(host);
            using var response = await client.GetAsync("/alpha/wiki/WikiStart");

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var log = host.Logs.Entries.First(e => e.Id.Name == "WorkerStartFailed");
            Assert.Contains("exited with status", log.Message, StringComparison.Ordinal);
            Assert.Contains("error output ends:", log.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task SharedScope_OneTracProcessServesEveryProject_ChoosingTheEnvironmentPerRequest()
    {
        CreateProjects("alpha", "beta");
        await using var host = await StartAsync(workers => workers.Scope = WorkerScope.Shared);
        using var client = Client(host);

        var alpha = await GetAsync(client, "/alpha/wiki/WikiStart");
        var beta = await GetAsync(client, "/beta/wiki/WikiStart");

        Assert.Contains("Alpha Project", alpha.Body, StringComparison.Ordinal);
        Assert.Contains("href=\"/alpha/wiki/", alpha.Body, StringComparison.Ordinal);
        Assert.Contains("Beta Project", beta.Body, StringComparison.Ordinal);
        Assert.Contains("href=\"/beta/wiki/", beta.Body, StringComparison.Ordinal);
        Assert.Single(RealTrac.Processes(_run.Path));
    }

    private void CreateProjects(params string[] names)
    {
        foreach (var name in names)
        {
            // Attachments up to 10 MB (Trac's default limit is 256 KiB).
            template.CopyTo(Path.Combine(_projects.Path, name), char.ToUpperInvariant(name[0]) + name[1..] + " Project",
                ini => ini.Replace("max_size = 262144", "max_size = 10485760", StringComparison.Ordinal));
        }
    }

    private void WriteEchoPlugin(string project, string version)
    {
        var plugins = Directory.CreateDirectory(Path.Combine(_projects.Path, project, "plugins")).FullName;
        var temporary = Path.Combine(_run.Path, "echo_environ.py");
        File.WriteAllText(temporary, EchoPlugin.Replace("VERSION", version, StringComparison.Ordinal));
        File.Move(temporary, Path.Combine(plugins, "echo_environ.py"), overwrite: true);
    }

    private Task<TracTestHost> StartAsync(
        Action<WorkerOptions>? workers = null, Action<TracProcessOptions>? python = null, Action<Microsoft.AspNetCore.Http.HttpContext>? dispatching = null,
        TimeProvider? time = null) =>
        TracTestHost.CreateBuilder(_projects)
            .UseKestrel()
            .UseTime(time ?? TracTestTime.StartingNow())
            .UseTrac(t => t
                .ResolveEnvironment()
                .NormalizeRemoteUser(o =>
                {
                    o.KnownProxies.Add("127.0.0.1");
                    o.Case = Trac.Hosting.RemoteUser.RemoteUserCase.Lower;
                })
                .UsePluginCache()
                .RecycleWorkers(o =>
                {
                    o.StartTimeout = TimeSpan.FromSeconds(60);
                    workers?.Invoke(o);
                })
                .Use(next => context =>
                {
                    dispatching?.Invoke(context);
                    return next(context);
                })
                .DispatchToTrac(RealTrac.Configure(_run.Path, o =>
                {
                    o.LcTime = "C.UTF-8";
                    python?.Invoke(o);
                })))
            .StartAsync();

    private static HttpClient Client(TracTestHost host) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() })
        {
            BaseAddress = host.BaseAddress,
            Timeout = TimeSpan.FromSeconds(120),
        };

    private static async Task<Page> GetAsync(HttpClient client, string path, string? user = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (user is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Remote-User", user);
        }

        using var response = await client.SendAsync(request);
        return new Page(response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Location?.ToString());
    }

    private static async Task<Page> PostAsync(HttpClient client, string path, string user, HttpContent content)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.Add("X-Remote-User", user);
        using var response = await client.SendAsync(request);
        return new Page(response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Location?.ToString());
    }

    private static string FormToken(string html) =>
        FormTokenField().Match(html) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException("No __FORM_TOKEN in the page: " + html[..Math.Min(html.Length, 2000)]);

    private static Dictionary<string, string> Variables(string body) =>
        body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");

    [GeneratedRegex("name=\"__FORM_TOKEN\" value=\"([^\"]+)\"")]
    private static partial Regex FormTokenField();

    private sealed record Page(HttpStatusCode Status, string Body, string? Location);

    /// <summary>A request body that sends its first bytes, then waits to be released before it ends.</summary>
    private sealed class HeldBackContent : HttpContent
    {
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HeldBackContent() => Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");

        public Task Started => _started.Task;

        public void Release() => _released.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync("text="u8.ToArray());
            await stream.FlushAsync();
            _started.TrySetResult();
            await _released.Task;
            await stream.WriteAsync("held"u8.ToArray());
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 9;
            return true;
        }
    }
}
