using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Trac.Hosting.PluginCache;

namespace Trac.Hosting.Workers;

/// <summary>
/// A worker's collectible load context: the managed assemblies and native libraries of its environment's extracted
/// plugins. Assemblies the application already has (the framework, Trac.Hosting, the host's own) come from the
/// default context, so plugins and host share their types. Plugins need an untrimmed host (see the documentation).
/// </summary>
[System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026",
    Justification = "Plugins are loaded by path at run time by design; the documentation says a trimmed host cannot load plugins.")]
internal sealed class PluginLoadContext : AssemblyLoadContext
{
    // The managed assemblies among each plugin's files, found once per plugin: its extracted folder never changes.
    private static readonly ConditionalWeakTable<TracPlugin, ManagedAssembly[]> s_managedAssemblies = new();

    private readonly string[] _directories;

    public PluginLoadContext(string name, IReadOnlyList<TracPlugin> plugins)
        : base(name, isCollectible: true)
    {
        _directories = plugins.Select(p => p.Directory).ToArray();
    }

    /// <summary>Returns the plugins' managed assemblies that the application does not already have, in plugin order.</summary>
    public static IReadOnlyList<string> FindAssembliesToLoad(IReadOnlyList<TracPlugin> plugins)
    {
        List<string>? files = null;
        foreach (var plugin in plugins)
        {
            foreach (var assembly in s_managedAssemblies.GetValue(plugin, FindManagedAssemblies))
            {
                if (!IsShared(assembly.Name))
                {
                    (files ??= []).Add(assembly.File);
                }
            }
        }

        return files ?? (IReadOnlyList<string>)[];
    }

    /// <summary>Loads the given files, found by <see cref="FindAssembliesToLoad"/>, into this context.</summary>
    public IReadOnlyList<Assembly> LoadPluginAssemblies(IReadOnlyList<string> files) => files.Select(LoadFromAssemblyPath).ToArray();

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (IsShared(assemblyName))
        {
            return null;
        }

        foreach (var directory in _directories)
        {
            var file = Directory.EnumerateFiles(directory, assemblyName.Name + ".dll", SearchOption.AllDirectories).FirstOrDefault();
            if (file is not null)
            {
                return LoadFromAssemblyPath(file);
            }
        }

        return null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        string[] candidates = [unmanagedDllName, unmanagedDllName + ".so", "lib" + unmanagedDllName + ".so", unmanagedDllName + ".dll", "lib" + unmanagedDllName + ".dylib"];
        foreach (var directory in _directories)
        {
            foreach (var candidate in candidates)
            {
                var file = Directory.EnumerateFiles(directory, candidate, SearchOption.AllDirectories).FirstOrDefault();
                if (file is not null)
                {
                    return LoadUnmanagedDllFromPath(file);
                }
            }
        }

        return IntPtr.Zero;
    }

    // Anything the default context already has stays shared, so that types such as ITracApplication are one type. Asked
    // at every load, since the default context keeps loading assemblies: its names are kept up to date as it does.
    private static bool IsShared(AssemblyName name) => name.Name is { } simple && DefaultContextNames.Contains(simple);

    private static ManagedAssembly[] FindManagedAssemblies(TracPlugin plugin)
    {
        var found = new List<ManagedAssembly>();
        foreach (var file in Directory.EnumerateFiles(plugin.Directory, "*.dll", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            try
            {
                found.Add(new ManagedAssembly(file, AssemblyName.GetAssemblyName(file)));
            }
            catch (BadImageFormatException)
            {
                // A native library or not an assembly at all: found through LoadUnmanagedDll when asked for.
            }
        }

        return [.. found];
    }

    private sealed record ManagedAssembly(string File, AssemblyName Name);

    /// <summary>
    /// The simple names of the default context's assemblies, followed as it loads more: a recycle asks about each plugin
    /// assembly, and going through every assembly of the application each time cost more than loading the plugin.
    /// </summary>
    private static class DefaultContextNames
    {
        private static readonly ConcurrentDictionary<string, byte> s_names = Collect();

        public static bool Contains(string name) => s_names.ContainsKey(name);

        private static ConcurrentDictionary<string, byte> Collect()
        {
            var names = new ConcurrentDictionary<string, byte>(StringComparer.OrdinalIgnoreCase);
            // Followed before the list is read, so that no assembly loaded meanwhile is missed; for the process's life.
            AppDomain.CurrentDomain.AssemblyLoad += (_, e) => Add(names, e.LoadedAssembly);
            foreach (var assembly in Default.Assemblies)
            {
                Add(names, assembly);
            }

            return names;
        }

        // Collectible assemblies (emitted with RunAndCollect) may go away again: the default context does not keep them,
        // and a process emitting many would grow the set for ever.
        private static void Add(ConcurrentDictionary<string, byte> names, Assembly assembly)
        {
            if (!assembly.IsCollectible && GetLoadContext(assembly) == Default && assembly.GetName().Name is { } name)
            {
                names.TryAdd(name, 0);
            }
        }
    }
}
