using System.Diagnostics;

namespace Trac.Hosting.Tests.Support;

/// <summary>
/// Real Trac for the tests: Python 3 with Trac importable, either installed or from the Trac source next to the
/// repository (<c>../shared/trac</c>), put on <c>PYTHONPATH</c> for the child processes the tests start.
/// </summary>
internal static class RealTrac
{
    private static readonly Lazy<string?> s_pythonPath = new(FindPythonPath);

    /// <summary>The Python command: <c>TRAC_PYTHON</c> if set (<c>.ci/run</c> sets it when only the system Python has Trac's libraries), else <c>python3</c>.</summary>
    public static string Python { get; } = Environment.GetEnvironmentVariable("TRAC_PYTHON") is { Length: > 0 } python ? python : "python3";

    /// <summary>
    /// Runs Trac's own FastCGI server on a Unix socket and prints <c>ready</c> once it listens, so the test waits for a
    /// signal instead of a guess.
    /// </summary>
    public const string FastCgiServerScript =
        "import sys\n" +
        "from trac.web._fcgi import WSGIServer\n" +
        "from trac.web.main import dispatch_request\n" +
        "class Server(WSGIServer):\n" +
        "    def _setupSocket(self):\n" +
        "        sock = super()._setupSocket()\n" +
        "        print('ready', flush=True)\n" +
        "        return sock\n" +
        "Server(dispatch_request, bindAddress=sys.argv[1], umask=0o077).run()\n";

    /// <summary>Returns the options of Trac processes for the tests: this Python, Trac on its path, sockets under <paramref name="socketDirectory"/>.</summary>
    public static Action<Trac.Hosting.FastCgi.TracProcessOptions> Configure(string socketDirectory, Action<Trac.Hosting.FastCgi.TracProcessOptions>? more = null) =>
        options =>
        {
            options.Python = Python;
            options.SocketDirectory = socketDirectory;
            foreach (var (name, value) in ProcessVariables())
            {
                options.Environment[name] = value;
            }

            more?.Invoke(options);
        };

    /// <summary>Returns a start info for Python with Trac on its path.</summary>
    public static ProcessStartInfo StartInfo(params string[] arguments)
    {
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in ProcessVariables())
        {
            info.Environment[name] = value;
        }

        return info;
    }

    /// <summary>Returns the process variables a Trac process needs: Trac on <c>PYTHONPATH</c> (unless installed), a UTF-8 locale.</summary>
    public static Dictionary<string, string> ProcessVariables()
    {
        var variables = new Dictionary<string, string> { ["LC_ALL"] = "C.UTF-8" };
        if (s_pythonPath.Value is { } path)
        {
            variables["PYTHONPATH"] = path;
        }

        return variables;
    }

    /// <summary>Creates a real Trac environment with <c>trac-admin initenv</c>.</summary>
    public static async Task CreateEnvironmentAsync(string path, string project)
    {
        using var process = Process.Start(StartInfo("-m", "trac.admin.console", path, "initenv", project, "sqlite:db/trac.db"))!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        }
        finally
        {
            // Stopped by the test whatever happens, also when it hangs.
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"trac-admin initenv failed ({process.ExitCode}): {await errors}{await output}\n" +
                "Trac needs Python 3 with Jinja2 and setuptools (Debian: apt-get install python3-jinja2 python3-setuptools), and Trac " +
                "importable (pip install Trac, or its source on PYTHONPATH).");
        }
    }

    /// <summary>The processes whose command line or variables name <paramref name="marker"/>: the Trac processes (run by the host's launcher) a test started.</summary>
    public static List<int> Processes(string marker) =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => (Pid: int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0, Directory: d))
            .Where(p => p.Pid > 0 && p.Pid != Environment.ProcessId && Mentions(p.Directory, marker))
            .Select(p => p.Pid)
            .ToList();

    private static bool Mentions(string directory, string marker)
    {
        try
        {
            var commandLine = File.ReadAllText(Path.Combine(directory, "cmdline"));
            return commandLine.Contains("trac-fastcgi-listening", StringComparison.Ordinal) &&
                (commandLine + File.ReadAllText(Path.Combine(directory, "environ"))).Contains(marker, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string? FindPythonPath()
    {
        // The Trac source next to the repository, if it is there; otherwise an installed Trac.
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Trac.Hosting.sln")))
            {
                var source = Path.GetFullPath(Path.Combine(directory.FullName, "..", "shared", "trac"));
                if (File.Exists(Path.Combine(source, "trac", "__init__.py")))
                {
                    var existing = Environment.GetEnvironmentVariable("PYTHONPATH");
                    return string.IsNullOrEmpty(existing) ? source : source + Path.PathSeparator + existing;
                }

                break;
            }
        }

        return null;
    }
}
