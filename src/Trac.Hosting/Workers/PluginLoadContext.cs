using System.Reflection;
using System.Runtime.Loader;

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
    private readonly IReadOnlyList<string> _directories;

    public PluginLoadContext(string name, IReadOnlyList<string> directories)
        : base(name, isCollectible: true)
    {
        _directories = directories;
    }

    /// <summary>Loads every managed assembly of the plugin folders; files that are not managed assemblies are skipped.</summary>
    public IReadOnlyList<Assembly> LoadPluginAssemblies()
    {
        var assemblies = new List<Assembly>();
        foreach (var directory in _directories)
        {
            foreach (var file in Directory.EnumerateFiles(directory, "*.dll", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                AssemblyName name;
                try
                {
                    name = AssemblyName.GetAssemblyName(file);
                }
                catch (BadImageFormatException)
                {
                    // A native library or not an assembly at all: found through LoadUnmanagedDll when asked for.
                    continue;
                }

                if (IsShared(name))
                {
                    continue;
                }

                assemblies.Add(LoadFromAssemblyPath(file));
            }
        }

        return assemblies;
    }

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

    // Anything the default context already has stays shared, so that types such as ITracApplication are one type.
    private static bool IsShared(AssemblyName name) =>
        Default.Assemblies.Any(a => string.Equals(a.GetName().Name, name.Name, StringComparison.OrdinalIgnoreCase));
}
