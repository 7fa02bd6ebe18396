namespace Trac.Hosting.PluginCache;

/// <summary>A plugin archive that was not extracted, and why. The environment is served without it.</summary>
public sealed class TracPluginError
{
    internal TracPluginError(string sourceArchive, string message)
    {
        SourceArchive = sourceArchive;
        Message = message;
    }

    /// <summary>Gets the full path of the archive.</summary>
    public string SourceArchive { get; }

    /// <summary>Gets what was wrong, naming the archive and, for an unsafe archive, the entry.</summary>
    public string Message { get; }

    /// <inheritdoc />
    public override string ToString() => Message;
}
