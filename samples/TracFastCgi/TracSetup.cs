using System.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace TracFastCgi;

/// <summary>What the sample does before and after the host starts: finds Trac, creates the demo projects, says where to browse.</summary>
internal static partial class TracSetup
{
    private static readonly (string Name, string Title)[] s_demoProjects = [("demo", "Demo Project"), ("sandbox", "Sandbox")];

    /// <summary>
    /// Puts a Trac source tree on the Trac processes' <c>PYTHONPATH</c> when Trac is not installed for the configured
    /// Python and no <c>Trac:Python:PythonPath</c> is set: <c>TRAC_SOURCE</c>, or a <c>shared/trac</c> checkout beside
    /// the repository this sample is built from.
    /// </summary>
    public static void FindTrac(ConfigurationManager configuration)
    {
        if (configuration.GetSection("Trac:Python:PythonPath").GetChildren().Any() || CanImportTrac(configuration, pythonPath: null))
        {
            return;
        }

        var source = Environment.GetEnvironmentVariable("TRAC_SOURCE") is { Length: > 0 } named ? named : SourceBesideRepository();
        if (source is not null && CanImportTrac(configuration, source))
        {
            configuration["Trac:Python:PythonPath:0"] = source;
        }
    }

    /// <summary>Creates the demo projects with <c>trac-admin initenv</c> when the parent directory has none; false when that is not possible.</summary>
    public static async Task<bool> EnsureProjectsAsync(ConfigurationManager configuration, TextWriter errors)
    {
        var parent = configuration["Trac:Environment:ParentDirectory"]!;
        if (Directory.Exists(parent) && Directory.EnumerateFiles(parent, "VERSION", SearchOption.AllDirectories).Any())
        {
            return true;
        }

        var pythonPath = configuration["Trac:Python:PythonPath:0"];
        if (!CanImportTrac(configuration, pythonPath))
        {
            await errors.WriteLineAsync(
                $"Trac is not importable by '{Python(configuration)}'. Install Python 3 with Trac's libraries " +
                "(Debian: apt-get install python3 python3-jinja2 python3-setuptools) and Trac itself (pip install Trac), or point " +
                "--Trac:Python:PythonPath:0=<folder with Trac's source> (or TRAC_SOURCE) at a Trac checkout; name another interpreter " +
                "with --Trac:Python:Python=<path>.");
            return false;
        }

        Directory.CreateDirectory(parent);
        foreach (var (name, title) in s_demoProjects)
        {
            var path = Path.Combine(parent, name);
            if (Directory.Exists(path))
            {
                continue;
            }

            var (code, output) = await RunPythonAsync(configuration, pythonPath, "-m", "trac.admin.console", path, "initenv", title, "sqlite:db/trac.db");
            if (code != 0)
            {
                await errors.WriteLineAsync($"trac-admin {path} initenv failed ({code}): {output}");
                return false;
            }
        }

        return true;
    }

    public static void WriteWhereToBrowse(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses?.FirstOrDefault() is not { } address)
        {
            return;
        }

        foreach (var anyHost in new[] { "://+:", "://*:", "://[::]:", "://0.0.0.0:" })
        {
            address = address.Replace(anyHost, "://localhost:", StringComparison.Ordinal);
        }

        BrowseProjects(app.Logger, address.TrimEnd('/') + "/", app.Configuration["Trac:Environment:ParentDirectory"]);
    }

    [LoggerMessage(1, LogLevel.Information,
        "Browse to {Url} for the project index of the real Trac projects in {ParentDirectory} (/demo/wiki is one). Log in at " +
        "{Url}demo/login as alice, password alice (the htpasswd file next to the app); a proxy on loopback may also name the user " +
        "with X-Remote-User: curl -H 'X-Remote-User: alice' {Url}demo/wiki", EventName = "BrowseProjects")]
    private static partial void BrowseProjects(ILogger logger, string url, string? parentDirectory);

    private static string Python(IConfiguration configuration) =>
        configuration["Trac:Python:Python"] is { Length: > 0 } python ? python : OperatingSystem.IsWindows() ? "python" : "python3";

    private static bool CanImportTrac(IConfiguration configuration, string? pythonPath)
    {
        try
        {
            return RunPythonAsync(configuration, pythonPath, "-c", "import trac.web._fcgi, jinja2").GetAwaiter().GetResult().Code == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static async Task<(int Code, string Output)> RunPythonAsync(IConfiguration configuration, string? pythonPath, params string[] arguments)
    {
        var start = new ProcessStartInfo(Python(configuration)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (pythonPath is not null)
        {
            var existing = Environment.GetEnvironmentVariable("PYTHONPATH");
            start.Environment["PYTHONPATH"] = string.IsNullOrEmpty(existing) ? pythonPath : pythonPath + Path.PathSeparator + existing;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        return (process.ExitCode, (await errors) + (await output));
    }

    private static string? SourceBesideRepository()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Trac.Hosting.sln")))
            {
                var source = Path.GetFullPath(Path.Combine(directory.FullName, "..", "shared", "trac"));
                return File.Exists(Path.Combine(source, "trac", "__init__.py")) ? source : null;
            }
        }

        return null;
    }
}
