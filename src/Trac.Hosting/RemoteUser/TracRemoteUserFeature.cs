namespace Trac.Hosting.RemoteUser;

internal sealed class TracRemoteUserFeature(string? remoteUser, string? originalValue, RemoteUserSource? source) : ITracRemoteUserFeature
{
    public string? RemoteUser { get; } = remoteUser;

    public string? OriginalValue { get; } = originalValue;

    public RemoteUserSource? Source { get; } = source;
}
