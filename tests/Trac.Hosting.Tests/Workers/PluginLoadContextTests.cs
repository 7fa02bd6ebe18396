using Trac.Hosting.PluginCache;
using Trac.Hosting.Testing;
using Trac.Hosting.Workers;

namespace Trac.Hosting.Tests.Workers;

/// <summary>Which files of a plugin's folder a worker's load context loads, for the first worker and every later one.</summary>
public sealed class PluginLoadContextTests : IDisposable
{
    private static readonly string PluginAssembly = Path.Combine(AppContext.BaseDirectory, "Trac.Hosting.TestPlugin.dll");
    private readonly TracTestDirectory _folders = new();

    public void Dispose() => _folders.Dispose();

    [Fact]
    public void LoadsThePluginsOwnAssemblies_NotTheApplicationsNorNativeFiles()
    {
        var plugin = Plugin("Greeter",
            ("lib/Trac.Hosting.TestPlugin.dll", File.ReadAllBytes(PluginAssembly)),
            // The application has this one already: the worker shares it.
            ("lib/deps/Trac.Hosting.dll", File.ReadAllBytes(typeof(TracPlugin).Assembly.Location)),
            ("native/libgreeter.dll", "not an assembly"u8.ToArray()),
            ("content/readme.txt", "text"u8.ToArray()));

        var first = WorkerLoadContext.Create("first", [plugin]);
        var second = WorkerLoadContext.Create("second", [plugin]);
        try
        {
            Assert.Equal(["Trac.Hosting.TestPlugin"], first.Assemblies.Select(a => a.GetName().Name));
            Assert.Equal(["Trac.Hosting.TestPlugin"], second.Assemblies.Select(a => a.GetName().Name));
            Assert.NotSame(first.Assemblies[0], second.Assemblies[0]);
            Assert.Same(first.Value, System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(first.Assemblies[0]));
        }
        finally
        {
            first.Unload();
            second.Unload();
        }
    }

    [Fact]
    public void EachPluginIsLookedAtForItself()
    {
        var withAssembly = Plugin("Greeter", ("Trac.Hosting.TestPlugin.dll", File.ReadAllBytes(PluginAssembly)));
        var withoutAssembly = Plugin("Theme", ("templates/site.html", "<html></html>"u8.ToArray()));

        var both = WorkerLoadContext.Create("both", [withoutAssembly, withAssembly]);
        var theme = WorkerLoadContext.Create("theme", [withoutAssembly]);
        try
        {
            Assert.Equal(["Trac.Hosting.TestPlugin"], both.Assemblies.Select(a => a.GetName().Name));
            Assert.Empty(theme.Assemblies);
        }
        finally
        {
            Assert.NotNull(both.Unload());
            // Nothing to load: no context was made, so there is none to unload.
            Assert.Null(theme.Unload());
        }
    }

    [Fact]
    public void AnAssemblyTheApplicationLoadsLater_IsSharedFromThenOn()
    {
        // An assembly no one has loaded yet, with a name of its own.
        var name = $"Trac.Hosting.Tests.Late{Guid.NewGuid():N}";
        var plugin = Plugin("Late", ($"{name}.dll", SavedAssembly(name)));

        var before = WorkerLoadContext.Create("before", [plugin]);
        System.Runtime.Loader.AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.Combine(plugin.Directory, $"{name}.dll"));
        var after = WorkerLoadContext.Create("after", [plugin]);
        try
        {
            Assert.Equal([name], before.Assemblies.Select(a => a.GetName().Name));
            Assert.Empty(after.Assemblies);
        }
        finally
        {
            before.Unload();
            after.Unload();
        }
    }

    [Fact]
    public void AnAssemblyTheApplicationEmitsCollectibly_IsNotTakenForShared()
    {
        // A collectible dynamic assembly may go away again: a plugin's assembly of that name is loaded for the worker.
        var name = $"Trac.Hosting.Tests.Emitted{Guid.NewGuid():N}";
        var emitted = System.Reflection.Emit.AssemblyBuilder.DefineDynamicAssembly(
            new System.Reflection.AssemblyName(name), System.Reflection.Emit.AssemblyBuilderAccess.RunAndCollect);
        emitted.DefineDynamicModule(name).DefineType("Emitted", System.Reflection.TypeAttributes.Public).CreateType();
        var plugin = Plugin("Emitted", ($"{name}.dll", SavedAssembly(name)));

        var worker = WorkerLoadContext.Create("emitted", [plugin]);
        try
        {
            Assert.Equal([name], worker.Assemblies.Select(a => a.GetName().Name));
            GC.KeepAlive(emitted);
        }
        finally
        {
            worker.Unload();
        }
    }

    private static byte[] SavedAssembly(string name)
    {
        var builder = new System.Reflection.Emit.PersistedAssemblyBuilder(new System.Reflection.AssemblyName(name), typeof(object).Assembly);
        builder.DefineDynamicModule(name).DefineType("Late", System.Reflection.TypeAttributes.Public).CreateType();
        using var image = new MemoryStream();
        builder.Save(image);
        return image.ToArray();
    }

    private TracPlugin Plugin(string name, params (string Path, byte[] Content)[] files)
    {
        var directory = _folders.CreateDirectory($"{name}-{Guid.NewGuid():N}");
        foreach (var (path, content) in files)
        {
            var file = Path.Combine(directory, path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllBytes(file, content);
        }

        return new TracPlugin(name, Path.Combine(_folders.Path, name + ".zip"), directory, new string('0', 64));
    }
}
