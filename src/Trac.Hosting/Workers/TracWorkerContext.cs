using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;
using Trac.Hosting.Environments;
using Trac.Hosting.PluginCache;

namespace Trac.Hosting.Workers;

/// <summary>What a worker is being built for: passed to <see cref="WorkerOptions.ConfigureServices"/>.</summary>
public sealed class TracWorkerContext
{
    private readonly WorkerLoadContext? _loadContext;

    internal TracWorkerContext(
        string key, TracEnvironment? environment, long generation, TracPluginSet? plugins, WorkerLoadContext? loadContext,
        IServiceProvider hostServices)
    {
        Key = key;
        Environment = environment;
        Generation = generation;
        Plugins = plugins;
        _loadContext = loadContext;
        HostServices = hostServices;
    }

    /// <summary>Gets the pool key: the environment's path, or <c>shared</c> with <see cref="WorkerScope.Shared"/>.</summary>
    public string Key { get; }

    /// <summary>Gets the environment the worker serves, or <see langword="null"/> for a shared worker.</summary>
    public TracEnvironment? Environment { get; }

    /// <summary>Gets the worker's generation: 1 for the first worker of a key, one more for each replacement.</summary>
    public long Generation { get; }

    /// <summary>Gets the environment's plugins the worker loads, or <see langword="null"/> without the plugin cache stage.</summary>
    public TracPluginSet? Plugins { get; }

    /// <summary>
    /// Gets the worker's collectible load context for its plugins, or <see langword="null"/> when the worker has no
    /// plugins. It is unloaded when the worker stops. When no plugin holds a managed assembly the application does not
    /// already have, it is made the first time this property is read (a worker whose plugins are only templates and
    /// static files, and whose application never asks for it, has no context to create, unload and collect on every
    /// recycle).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The worker has stopped, and its plugins were unloaded.</exception>
    [DebuggerBrowsable(DebuggerBrowsableState.Never)]
    public AssemblyLoadContext? LoadContext => _loadContext?.Value;

    /// <summary>
    /// Gets the managed assemblies loaded from the plugins' folders (assemblies the application already has are shared
    /// with it, not loaded again, and not listed); empty once the worker has stopped, so that a context kept by the
    /// application does not keep the stopped worker's plugins loaded.
    /// </summary>
    public IReadOnlyList<Assembly> PluginAssemblies => _loadContext?.Assemblies ?? [];

    /// <summary>Gets the host application's services, for anything a worker registration needs from it.</summary>
    public IServiceProvider HostServices { get; }
}
