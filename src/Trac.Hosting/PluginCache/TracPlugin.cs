namespace Trac.Hosting.PluginCache;

/// <summary>One extracted plugin: an archive of the environment's <c>plugins</c> directory and where it was extracted.</summary>
public sealed class TracPlugin
{
    internal TracPlugin(string name, string sourceArchive, string directory, string contentHash)
    {
        Name = name;
        SourceArchive = sourceArchive;
        Directory = directory;
        ContentHash = contentHash;
    }

    /// <summary>Gets the plugin's name: the archive's file name without <c>.zip</c>.</summary>
    public string Name { get; }

    /// <summary>Gets the full path of the archive in <c>&lt;env&gt;/plugins</c>.</summary>
    public string SourceArchive { get; }

    /// <summary>Gets the full path of the extracted folder, <c>&lt;cache&gt;/&lt;name&gt;-&lt;hash&gt;</c>.</summary>
    public string Directory { get; }

    /// <summary>Gets the SHA-256 of the archive, as 64 lower-case hexadecimal digits.</summary>
    public string ContentHash { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Directory})";
}
