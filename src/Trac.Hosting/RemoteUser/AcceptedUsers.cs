using System.Collections.Concurrent;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// The values one remote-user stage has accepted, by source: normalization is pure and the features are immutable, so
/// a value seen before skips normalization and allocates nothing. Bounded: past <see cref="Limit"/> values, new ones
/// are normalized on every request, as they would be without it.
/// </summary>
internal sealed class AcceptedUsers
{
    /// <summary>The most values remembered, over all sources.</summary>
    internal const int Limit = 1024;

    private readonly ConcurrentDictionary<string, TracRemoteUserFeature>[] _bySource =
        [new(StringComparer.Ordinal), new(StringComparer.Ordinal), new(StringComparer.Ordinal)];

    private int _count;

    public bool TryGet(RemoteUserSource source, string raw, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TracRemoteUserFeature? feature)
    {
        feature = null;
        return (uint)source < (uint)_bySource.Length && _bySource[(int)source].TryGetValue(raw, out feature);
    }

    /// <summary>Returns the feature of an accepted value, remembered while there is room.</summary>
    public TracRemoteUserFeature Add(RemoteUserSource source, string raw, string name)
    {
        var feature = new TracRemoteUserFeature(name, raw, source);
        if ((uint)source < (uint)_bySource.Length && Volatile.Read(ref _count) < Limit && _bySource[(int)source].TryAdd(raw, feature))
        {
            Interlocked.Increment(ref _count);
        }

        return feature;
    }
}
