using Microsoft.Extensions.Primitives;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// What a slot (<see cref="EnvironmentPlugins"/>) needs from the provider that made it: a watch on the environment's
/// archives, builds of its set, and a say on what happens to the cache once a set is replaced.
/// </summary>
internal interface IPluginSetSource
{
    /// <summary>Returns a token that fires when an archive of the environment is added, replaced or removed.</summary>
    IChangeToken Watch(string environmentPath);

    /// <summary>
    /// Builds the environment's set in a cache directory. The folders it uses come back pinned (spared by the
    /// clean-up), to be passed to <see cref="Unpin"/> once the set is current; <c>Transient</c> says some archive
    /// failed in a way worth trying again.
    /// </summary>
    Task<(TracPluginSet Set, List<string> Pins, bool Transient)> BuildAsync(
        string environmentPath, string cacheDirectory, CancellationToken cancellationToken);

    /// <summary>Releases the pins of a build.</summary>
    void Unpin(IEnumerable<string> folders);

    /// <summary>Called once a set of <paramref name="cacheDirectory"/> was replaced (its pins still held).</summary>
    void Replaced(string cacheDirectory);
}
