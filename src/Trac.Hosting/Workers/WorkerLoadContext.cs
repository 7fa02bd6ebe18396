using System.Reflection;
using System.Runtime.CompilerServices;
using Trac.Hosting.PluginCache;

namespace Trac.Hosting.Workers;

/// <summary>
/// A worker's plugin load context, made only when something needs it: at once when a plugin holds a managed assembly
/// the application does not already have (it is loaded into it), otherwise when
/// <see cref="TracWorkerContext.LoadContext"/> is first read. A collectible
/// context costs its creation, its unloading and a full collection to confirm it went, on every recycle: plugins of
/// templates and static files alone need none of that unless the application asks for the context.
/// </summary>
internal sealed class WorkerLoadContext
{
    private readonly object _gate = new();
    private readonly string _name;
    private readonly IReadOnlyList<TracPlugin> _plugins;
    private PluginLoadContext? _context;
    private bool _unloaded;

    private WorkerLoadContext(string name, IReadOnlyList<TracPlugin> plugins)
    {
        _name = name;
        _plugins = plugins;
    }

    /// <summary>
    /// Gets the managed assemblies loaded from the plugins' folders when the worker was built; none once it is unloaded
    /// (an assembly keeps its context alive).
    /// </summary>
    public IReadOnlyList<Assembly> Assemblies { get; private set; } = [];

    /// <summary>
    /// Prepares the load context of a worker's plugins, loading their managed assemblies if they hold any; the context
    /// itself is made then, or on first use.
    /// </summary>
    public static WorkerLoadContext Create(string name, IReadOnlyList<TracPlugin> plugins)
    {
        var files = PluginLoadContext.FindAssembliesToLoad(plugins);
        if (files.Count == 0)
        {
            return new WorkerLoadContext(name, plugins);
        }

        var context = new PluginLoadContext(name, plugins);
        try
        {
            return new WorkerLoadContext(name, plugins) { _context = context, Assemblies = context.LoadPluginAssemblies(files) };
        }
        catch
        {
            context.Unload();
            throw;
        }
    }

    /// <summary>Gets the context, making it on first use; refused once the worker has stopped.</summary>
    public PluginLoadContext Value
    {
        get
        {
            lock (_gate)
            {
                if (_unloaded)
                {
                    throw new ObjectDisposedException(
                        nameof(TracWorkerContext.LoadContext),
                        $"The plugin load context {_name} was unloaded when its worker stopped: a stopped worker's plugins cannot be used. Read TracWorkerContext.LoadContext while the worker runs.");
                }

                return _context ??= new PluginLoadContext(_name, _plugins);
            }
        }
    }

    /// <summary>
    /// Unloads the context if it was made, and returns a weak reference to it for the caller to verify it is
    /// collected (<see langword="null"/> when it was never made: nothing to unload).
    /// </summary>
    // No local outlives the call to keep the context alive.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public WeakReference? Unload()
    {
        PluginLoadContext? context;
        lock (_gate)
        {
            _unloaded = true;
            context = _context;
            _context = null;
            Assemblies = [];
        }

        if (context is null)
        {
            return null;
        }

        context.Unload();
        return new WeakReference(context);
    }
}
