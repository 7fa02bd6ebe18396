namespace Trac.Hosting.Workers;

/// <summary>A recycle that arrived while another one of the same key ran; it runs when that one ends.</summary>
internal sealed record PendingRecycle(Worker Worker, string Reason, string? PluginCacheDirectory);
