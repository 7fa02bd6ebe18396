using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Trac.Hosting.Common;
using Trac.Hosting.Environments;
using Trac.Hosting.FastCgi;
using Trac.Hosting.PluginCache;

namespace Trac.Hosting.Workers;

/// <summary>
/// Makes a Trac process per worker (<c>DispatchToTrac()</c>): Python running Trac's own FastCGI server, with the
/// variables the guides set (<c>PYTHONPATH</c>, <c>LC_TIME</c>, <c>TRAC_ENV</c> or <c>TRAC_ENV_PARENT_DIR</c>,
/// <c>PYTHON_EGG_CACHE</c> = the plugin cache stage's directory), its plugins watched, and Trac's static resources
/// served by the host.
/// </summary>
internal sealed class TracApplicationFactory(TracProcessOptions options) : IWorkerApplicationFactory
{
    private static readonly string[] s_pluginPatterns = ["plugins/*.py", "plugins/*.egg"];

    private FastCgiProcessSettings? _settings;
    private ILogger? _logger;
    private EnvironmentCatalog? _catalog;

    /// <summary>Checks the options (the builder does, before it adds the stage; the static resources are wired by the builder too).</summary>
    public static List<string> Check(TracProcessOptions options)
    {
        var errors = FastCgiProcessSettings.Check(options, "Trac:Python");
        if (string.IsNullOrWhiteSpace(options.Python))
        {
            errors.Add("Trac:Python:Python is empty: name the Python interpreter that has Trac (python3, or a full path).");
        }

        if (options.HtdocsDirectory is { } htdocs && !Directory.Exists(htdocs))
        {
            errors.Add($"Trac:Python:HtdocsDirectory '{htdocs}' does not exist: name Trac's installed htdocs folder, or leave it unset to ask Python.");
        }

        return errors;
    }

    /// <summary>Returns the process variables of every Trac process: the options' own, <c>PYTHONPATH</c> and <c>LC_TIME</c>.</summary>
    public static Dictionary<string, string> ProcessVariables(TracProcessOptions options)
    {
        var variables = new Dictionary<string, string>(options.Environment, StringComparer.Ordinal);
        if (options.PythonPath.Count > 0)
        {
            var existing = variables.GetValueOrDefault("PYTHONPATH") ?? Environment.GetEnvironmentVariable("PYTHONPATH");
            variables["PYTHONPATH"] = string.Join(Path.PathSeparator, string.IsNullOrEmpty(existing) ? options.PythonPath : [.. options.PythonPath, existing]);
        }

        if (options.LcTime is { Length: > 0 } lcTime)
        {
            variables["LC_TIME"] = lcTime;
        }

        return variables;
    }

    public void Prepare(TracPipelineContext context)
    {
        _catalog = context.Require<EnvironmentCatalog>();
        _logger = context.CreateLogger("Trac.Hosting.Workers");
        var plugins = context.Find<PluginSetProvider>();
        var parent = _catalog.Settings.ParentDirectory;
        _settings = new FastCgiProcessSettings(
            options.Python, ["-c", TracLauncher.Script, FastCgiOptions.AddressPlaceholder], ProcessVariables(options), options.Transport,
            FastCgiProcessSettings.SocketRootOf(options), options.StopTimeout, options.MaxErrorOutputPerRequest)
        {
            AnnouncesAddress = true,
            StartHint =
                "Trac's processes need Python 3 with Trac importable (Trac:Python:Python names the interpreter; Trac:Python:PythonPath " +
                "adds Trac's source folder to its path) and Trac's libraries (Debian: apt-get install python3-jinja2 python3-setuptools).",
            WorkerVariables = worker => WorkerVariables(worker, plugins, parent),
        };
    }

    public bool RunsOutOfProcess => true;

    public IWorkerApplication Create(IServiceProvider services, TracWorkerContext context) =>
        new FastCgiProcessApplication(_settings!, context, _logger!, WatchPlugins);

    private static IEnumerable<KeyValuePair<string, string>> WorkerVariables(TracWorkerContext worker, PluginSetProvider? plugins, string? parent)
    {
        if (worker.Environment is { } environment)
        {
            // The guides' TRAC_ENV: a process of one project (trac.env_path, per request, says the same).
            yield return new("TRAC_ENV", environment.Path);
        }
        else if (parent is not null)
        {
            yield return new("TRAC_ENV_PARENT_DIR", parent);
        }

        // The egg cache the plugin cache stage created (0700) and checked for this environment, or for all of them.
        var eggCache = worker.Plugins?.CacheDirectory ??
            (plugins is null ? null : worker.Environment is { } served ? plugins.DefaultFor(served.Path) : plugins.Settings.KnownAtStartUp().FirstOrDefault());
        if (eggCache is not null)
        {
            yield return new("PYTHON_EGG_CACHE", eggCache);
        }
    }

    /// <summary>Watches Trac's plugins of an environment: a new or changed <c>.egg</c> or <c>.py</c> fires <paramref name="changed"/> once.</summary>
    private IDisposable WatchPlugins(string environmentPath, Action changed)
    {
        var tokens = s_pluginPatterns.Select(pattern => _catalog!.Watchers.WatchEnvironment(_catalog.Settings, environmentPath, pattern)).ToArray();
        return new CompositeChangeToken(tokens).RegisterChangeCallback(static state => ((Action)state!)(), changed);
    }
}
