using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Trac.Hosting.Environments;
using Trac.Hosting.FastCgi;

namespace Trac.Hosting.Workers;

/// <summary>
/// Serves Trac's static resources without Python, as the guides' <c>alias /chrome/common</c> does:
/// <c>/&lt;project&gt;/chrome/common/...</c> from Trac's <c>htdocs</c>, <c>/&lt;project&gt;/chrome/site/...</c> from
/// <c>&lt;env&gt;/htdocs</c>, with ASP.NET Core's static files (<c>ETag</c>, <c>Last-Modified</c>, ranges). A path
/// with a <c>..</c> segment or a backslash gets 404; a file that is not there goes on to Trac (a plugin's resource,
/// or Trac's own 404).
/// </summary>
internal sealed class TracStaticResources
{
    private static readonly PathString s_common = "/chrome/common";
    private static readonly PathString s_site = "/chrome/site";

    private readonly RequestDelegate _next;
    private readonly IWebHostEnvironment _hosting;
    private readonly ILoggerFactory _loggers;
    private readonly Lazy<Task<StaticFileMiddleware?>> _common;
    private readonly ConcurrentDictionary<string, StaticFileMiddleware> _sites = new(StringComparer.Ordinal);

    public TracStaticResources(RequestDelegate next, IWebHostEnvironment hosting, ILoggerFactory loggers, TracProcessOptions options)
    {
        _next = next;
        _hosting = hosting;
        _loggers = loggers;
        var logger = loggers.CreateLogger("Trac.Hosting.Workers");
        _common = new Lazy<Task<StaticFileMiddleware?>>(async () =>
            (options.HtdocsDirectory ?? await AskPythonAsync(options, logger)) is { } htdocs && Directory.Exists(htdocs) ? Serve(htdocs, s_common) : null);
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        var isCommon = path.StartsWithSegments(s_common, StringComparison.Ordinal, out var rest);
        if (!isCommon && !path.StartsWithSegments(s_site, StringComparison.Ordinal, out rest))
        {
            await _next(context);
            return;
        }

        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            await _next(context);
            return;
        }

        if (IsTraversal(rest.Value))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var files = isCommon ? await _common.Value : context.GetTracEnvironment() is { } environment ? Site(environment.Path) : null;
        await (files is null ? _next(context) : files.Invoke(context));
    }

    /// <summary>Returns the files of an environment's <c>htdocs</c>, or <see langword="null"/> while it has none (looked for again next time).</summary>
    private StaticFileMiddleware? Site(string environmentPath)
    {
        if (_sites.TryGetValue(environmentPath, out var site))
        {
            return site;
        }

        var htdocs = Path.Combine(environmentPath, "htdocs");
        return Directory.Exists(htdocs) ? _sites.GetOrAdd(environmentPath, _ => Serve(htdocs, s_site)) : null;
    }

    /// <summary>Returns whether the rest of a <c>chrome</c> path could climb out of its folder: a <c>..</c> or <c>.</c> segment, an encoded slash or backslash, a backslash, a NUL.</summary>
    internal static bool IsTraversal(string? rest) =>
        rest is not null && (rest.Contains('\\', StringComparison.Ordinal) || rest.Contains('\0', StringComparison.Ordinal) ||
            rest.Contains("%2F", StringComparison.OrdinalIgnoreCase) || rest.Contains("%5C", StringComparison.OrdinalIgnoreCase) ||
            rest.Split('/').Any(segment => segment is ".." or "."));

    private StaticFileMiddleware Serve(string directory, PathString requestPath)
    {
        var options = new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(directory),
            RequestPath = requestPath,
            OnPrepareResponse = static response => response.Context.Response.Headers.CacheControl = "public, max-age=3600",
        };
        return new StaticFileMiddleware(_next, _hosting, Options.Create(options), _loggers);
    }

    /// <summary>Asks the Python that runs Trac where the <c>trac</c> package it imports keeps its <c>htdocs</c>.</summary>
    private static async Task<string?> AskPythonAsync(TracProcessOptions options, ILogger logger)
    {
        var start = new ProcessStartInfo(options.Python)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import os, trac; print(os.path.join(os.path.dirname(os.path.abspath(trac.__file__)), 'htdocs'))");
        foreach (var (name, value) in TracApplicationFactory.ProcessVariables(options))
        {
            start.Environment[name] = value;
        }

        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            var htdocs = (await output).Trim();
            if (process.ExitCode == 0 && Directory.Exists(htdocs))
            {
                return htdocs;
            }

            WorkerLog.ProcessOutput(logger, "htdocs", "stderr", $"Trac's htdocs could not be found ({options.Python}): {(await errors).Trim()}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            WorkerLog.ProcessOutput(logger, "htdocs", "stderr", $"Trac's htdocs could not be found: '{options.Python}' could not be started: {e.Message}");
        }

        // Trac serves chrome/common itself then.
        return null;
    }
}
