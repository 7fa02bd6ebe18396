namespace Trac.Hosting.Workers;

/// <summary>
/// One replacement asked for: of which worker, why, from which plugin cache directory (<see langword="null"/>: the
/// old worker's), and whether the recycle policy decides what is replaced (in process mode, the process) or the
/// worker is replaced whatever the mode (its application ended or outgrew the memory limit, or a request needs
/// another plugin cache directory).
/// </summary>
internal sealed record PendingRecycle(Worker Worker, string Reason, string? PluginCacheDirectory = null, bool PolicyDecides = true);
